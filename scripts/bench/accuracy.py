#!/usr/bin/env python3
"""How right are ipcprof's numbers? Each against an independent measure.

- serialize / deserialize: the pickle experiment times its own pickle.dumps
  and pickle.loads with perf_counter_ns; ipcprof's uprobe time must match.
- bytes: fixtures move a known number of bytes; ipcprof must count them all.
- phase sums: each single-threaded process's phases must add up to its wall.
- on-CPU: exact (sched_switch) on-CPU time against the sampler's estimate.

usage: scripts/bench/accuracy.py [--runs N]   (root, after make)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IPCPROF = os.path.join(ROOT, "ipcprof")
SEED = os.path.join(ROOT, "scripts/bench/seed_transfer.py")
FIX = os.path.join(ROOT, ".output/fixtures")
PHASES = ("serialize_ns", "deserialize_ns", "syscall_ns", "blocked_ns", "copy_ns", "fault_ns",
          "fork_ns", "mmap_ns", "wait_ns", "compute_ns", "other_ns")


def traced(cmd):
    with tempfile.TemporaryDirectory() as d:
        out, rep = os.path.join(d, "out"), os.path.join(d, "r.json")
        with open(out, "w") as f:
            subprocess.run([IPCPROF, "run", "--format", "json", "-o", rep, "--", *cmd],
                           stdout=f, check=True)
        return json.load(open(rep)), open(out).read()


def pct(a, b):
    return 100.0 * (a - b) / b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rows = []
    ser, deser = [], []
    for _ in range(args.runs):
        rep, out = traced([sys.executable, SEED, "pickle"])
        own = json.loads(out)
        act = rep["totals"]["faults_by_activity"]
        ser.append(pct(act["serialize"]["activity_ns"], own["serialize_ns"]))
        deser.append(pct(act["deserialize"]["activity_ns"], own["deserialize_ns"]))
    rows.append(("serialize time vs perf_counter_ns (pickle.dumps)",
                 f"median {statistics.median(ser):+.2f}%, worst {max(ser, key=abs):+.2f}%"))
    rows.append(("deserialize time vs perf_counter_ns (pickle.loads)",
                 f"median {statistics.median(deser):+.2f}%, worst {max(deser, key=abs):+.2f}%"))
    for kind, total in (("pipe", 10_000_000), ("socketpair", 10_000_000), ("dgram", 1_000_000)):
        rep, _ = traced([os.path.join(FIX, "ipc_bytes"), kind, str(total), "4000"])
        big = max(rep["channels"], key=lambda c: c["bytes_written"])
        rows.append((f"bytes through a {kind} ({total:,} sent)",
                     f"written {big['bytes_written']:,}, read {big['bytes_read']:,} "
                     f"(error {big['bytes_read'] - total})"))
    worst = 0.0
    for kind in ("pipe", "socketpair"):
        rep, _ = traced([os.path.join(FIX, "ipc_bytes"), kind, "20000000", "65536", "50"])
        for p in rep["processes"]:
            worst = max(worst, abs(pct(sum(p[k] for k in PHASES), p["wall_ns"])))
    rows.append(("phases summed vs process wall time (fixtures)", f"worst {worst:.3f}%"))
    errs, inside, n = [], 0, 0
    for _ in range(args.runs):
        # at the default 99 Hz: ~10 s of transfers for enough samples
        rep, _ = traced([sys.executable, SEED, "queue", "--repeats", "25"])
        hz = rep["sample_hz"]
        for p in rep["processes"]:
            oncpu = p["thread_ns"] - p["blocked_ns"] - p["wait_ns"] - p["first_run_ns"]
            if oncpu < 1e9:
                continue  # short helpers: a handful of samples
            k = p["samples_total"]
            errs.append(pct(k * 1e9 / hz, oncpu))
            # the 95% interval ipcprof would print for k samples (Poisson)
            half = 1.96 * k ** 0.5 * 1e9 / hz
            inside += abs(k * 1e9 / hz - oncpu) <= half
            n += 1
    rows.append((f"sampled on-CPU vs exact on-CPU (queue x25, processes on CPU > 1 s, "
                 f"{hz} Hz)",
                 f"median {statistics.median(errs):+.2f}%, worst {max(errs, key=abs):+.2f}%; "
                 f"within the 95% interval in {inside} of {n}"))
    print("| quantity | error |")
    print("|---|---|")
    for name, err in rows:
        print(f"| {name} | {err} |")
    print(f"\n{args.runs} runs where a median is given.")


if __name__ == "__main__":
    main()
