#!/usr/bin/env python3
"""Move a list of 1M ints from a parent process to a child, four ways.

The question behind ipcprof: why is handing data to a child process through
multiprocessing.Queue or Pipe ~30x slower than letting the child inherit it?

Experiments (fork start method, one transfer each unless --repeats):
  inherit   child reads a global created before the fork
  inherit-iterate
            child iterates over that global: refcount writes un-share
            (copy-on-write) the pages holding the int objects
  argument  the list is the Process target's argument (fork: no pickling)
  queue     multiprocessing.Queue (an os.pipe underneath, feeder thread)
  pipe      multiprocessing.Pipe() (duplex: a unix socketpair)
  pool      a 100 MB bytes object to a Pool worker and back (apply_async)
  pickle    explicit pickle.dumps + Connection.send_bytes, recv_bytes +
            pickle.loads; times its own pickling with perf_counter_ns

Each run prints one JSON line: experiment, seconds per transfer, and for
'pickle' the in-process serialize/deserialize times and payload size.
"""
import argparse
import json
import multiprocessing as mp
import pickle
import sys
import time

data = None  # the inherited global


def touch_inherited():
    # only look at the inherited object: no copy, no write
    return len(data)


def iterate_inherited():
    # iterating increments and decrements every item's refcount
    n = 0
    for _ in data:
        n += 1
    return n


def touch_argument(lst):
    return len(lst)


def receive_queue(q):
    q.get()


def receive_pipe(conn):
    conn.recv()


def identity(x):
    return x


def receive_pickled(conn, report):
    payload = conn.recv_bytes()
    t0 = time.perf_counter_ns()
    obj = pickle.loads(payload)
    t1 = time.perf_counter_ns()
    report.send((t1 - t0, len(obj)))


def run_once(kind, payload):
    """One transfer; returns extra figures for the JSON line."""
    extra = {}
    if kind == "inherit":
        p = mp.Process(target=touch_inherited)
        p.start()
    elif kind == "inherit-iterate":
        p = mp.Process(target=iterate_inherited)
        p.start()
    elif kind == "argument":
        p = mp.Process(target=touch_argument, args=(payload,))
        p.start()
    elif kind == "queue":
        q = mp.Queue()
        p = mp.Process(target=receive_queue, args=(q,))
        p.start()
        q.put(payload)
    elif kind == "pipe":
        parent, child = mp.Pipe()
        p = mp.Process(target=receive_pipe, args=(child,))
        p.start()
        parent.send(payload)
    elif kind == "pool":
        blob = b"0" * 100_000_000
        with mp.Pool(1) as pool:
            t0 = time.perf_counter_ns()
            back = pool.apply_async(identity, (blob,)).get()
            extra = {"roundtrip_ns": time.perf_counter_ns() - t0, "payload_bytes": len(back)}
        return extra
    elif kind == "pickle":
        parent, child = mp.Pipe()
        rep_r, rep_w = mp.Pipe(duplex=False)
        p = mp.Process(target=receive_pickled, args=(child, rep_w))
        p.start()
        t0 = time.perf_counter_ns()
        blob = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        t1 = time.perf_counter_ns()
        parent.send_bytes(blob)
        deser_ns, n = rep_r.recv()
        extra = {"serialize_ns": t1 - t0, "deserialize_ns": deser_ns,
                 "payload_bytes": len(blob), "items": n}
    else:
        raise ValueError(kind)
    p.join()
    if p.exitcode != 0:
        raise SystemExit(f"{kind}: child exited with {p.exitcode}")
    return extra


EXPERIMENTS = ("inherit", "inherit-iterate", "argument", "queue", "pipe", "pool", "pickle")


def main():
    global data
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment", nargs="*",
                    help="any of: " + ", ".join(EXPERIMENTS) + " (default: all)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--size", type=int, default=1_000_000)
    args = ap.parse_args()
    unknown = set(args.experiment) - set(EXPERIMENTS)
    if unknown:
        ap.error("unknown experiment: " + ", ".join(sorted(unknown)))
    mp.set_start_method("fork")
    data = list(range(args.size))
    for kind in args.experiment or EXPERIMENTS:
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            extra = run_once(kind, data)
            dt = time.perf_counter() - t0
            print(json.dumps({"experiment": kind, "seconds": round(dt, 6), **extra}),
                  flush=True)


if __name__ == "__main__":
    sys.exit(main())
