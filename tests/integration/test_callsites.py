"""Python call sites: the lines that caused the traffic, found by walking
CPython's frames in the kernel, against the program's own source."""
import json
import os
import tempfile

from helpers import BPFTestCase, PYTHON, run_traced, stripped_python

# A parent sends a list through a multiprocessing Pipe and reads a reply;
# the lines are marked, the test reads their numbers from the source.
PROGRAM = """\
import multiprocessing as mp


def child(conn):
    data = conn.recv()  # CHILD-RECV
    conn.send(len(data))  # CHILD-SEND


def main():
    a, b = mp.Pipe()
    p = mp.Process(target=child, args=(b,))
    p.start()
    a.send(list(range(100000)))  # PARENT-SEND
    n = a.recv()  # PARENT-RECV
    p.join()
    assert n == 100000


if __name__ == "__main__":
    main()
"""


def marked_lines(source):
    return {line.split("# ")[1]: i + 1 for i, line in enumerate(source.splitlines())
            if "# " in line and line.split("# ")[1].isupper()}


def write_app(d, source):
    """The program as d/app.py (its path is what call sites report)."""
    path = os.path.join(d, "app.py")
    with open(path, "w") as f:
        f.write(source)
    return path


def trace_app(source, python=PYTHON, extra=()):
    """Trace `source` as a script; returns the trace and the script's path."""
    with tempfile.TemporaryDirectory() as d:
        path = write_app(d, source)
        return run_traced([python, path], extra=extra), path


class CallSites(BPFTestCase):
    def check_pipe_program(self, python):
        t, path = trace_app(PROGRAM, python)
        lines = marked_lines(PROGRAM)
        sites = {(s["line"], s["function"]): s for s in t.report["call_sites"]
                 if s["file"] == path}
        self.assertEqual(set(sites), {(lines["CHILD-RECV"], "child"),
                                      (lines["CHILD-SEND"], "child"),
                                      (lines["PARENT-SEND"], "main"),
                                      (lines["PARENT-RECV"], "main")}, t.report["call_sites"])
        (pipe,) = [c for c in t.report["channels"]
                   if c["kind"] == "unix-stream" and c["bytes_written"] > 100000]
        send = sites[(lines["PARENT-SEND"], "main")]
        recv = sites[(lines["CHILD-RECV"], "child")]
        # every byte of the big message, on the lines that moved it
        self.assertEqual(send["bytes_written"], pipe["bytes_written"])
        self.assertEqual(recv["bytes_read"], pipe["bytes_read"])
        self.assertEqual(send["pid"], t.root()["pid"])
        self.assertEqual(t.proc(recv["pid"])["ppid"], t.root()["pid"])
        self.assertEqual((send["serialize_calls"], send["deserialize_calls"]), (1, 0))
        self.assertEqual((recv["serialize_calls"], recv["deserialize_calls"]), (0, 1))
        self.assertTrue(send["user_frame"] and recv["user_frame"])
        # the sites' serializer time is the processes' (its faults included)
        for s, kind in ((send, "serialize"), (recv, "deserialize")):
            p = t.proc(s["pid"])
            self.assertEqual(s[f"{kind}_ns"],
                             p["faults_by_activity"][kind]["activity_ns"])
        # and the sites of each process hold all of its IPC calls, and every
        # fault its serializer and IPC calls took (exact counts, both sides)
        for pid in (send["pid"], recv["pid"]):
            mine = [s for s in t.report["call_sites"] if s["pid"] == pid]
            self.assertEqual(sum(s["calls"] for s in mine), t.proc(pid)["ipc_calls"])
            acts = t.proc(pid)["faults_by_activity"]
            for kind in ("cow", "first_touch"):
                self.assertEqual(sum(s[f"faults_{kind}"] for s in mine),
                                 sum(acts[a][kind] for a in ("serialize", "deserialize", "ipc")),
                                 (pid, kind))
        # unpickling the big message first-touches pages, on its line
        self.assertGreater(recv["faults_first_touch"], 0)
        return t

    def test_pipe_program_on_this_interpreter(self):
        self.check_pipe_program(PYTHON)

    def test_pipe_program_on_a_stripped_interpreter(self):
        stripped = stripped_python()
        if not stripped:
            self.skipTest("no stripped CPython 3 in /usr/bin")
        self.check_pipe_program(stripped)

    def test_no_call_sites_walks_nothing(self):
        t, _ = trace_app(PROGRAM, extra=["--no-call-sites"])
        self.assertEqual(t.report["call_sites"], [])
        self.assertGreater(t.report["totals"]["ipc_calls"], 4)


# Two senders in one process: a Queue (whose feeder thread pickles and
# writes) and a Pipe (pickled and written by the caller), different
# functions, lines and sizes; one reader child.
TWO_SENDERS = """\
import multiprocessing as mp


def reader(q, conn):
    for _ in range(3):
        q.get()  # QUEUE-GET
    for _ in range(2):
        conn.recv()  # PIPE-RECV


def send_by_queue(q):
    for i in range(3):
        q.put(list(range(100000 + i)))  # QUEUE-PUT


def send_by_pipe(conn):
    for i in range(2):
        conn.send(list(range(20000 + i)))  # PIPE-SEND


def main():
    q = mp.Queue()
    a, b = mp.Pipe()
    p = mp.Process(target=reader, args=(q, b))
    p.start()
    send_by_queue(q)
    send_by_pipe(a)
    p.join()


if __name__ == "__main__":
    main()
"""


class QueueHandOff(BPFTestCase):
    def check_two_senders(self, python):
        t, path = trace_app(TWO_SENDERS, python)
        lines = marked_lines(TWO_SENDERS)
        sites = {(s["line"], s["function"]): s for s in t.report["call_sites"]
                 if s["file"] == path}
        put = sites.get((lines["QUEUE-PUT"], "send_by_queue"))
        send = sites.get((lines["PIPE-SEND"], "send_by_pipe"))
        get = sites.get((lines["QUEUE-GET"], "reader"))
        recv = sites.get((lines["PIPE-RECV"], "reader"))
        self.assertTrue(put and send and get and recv, t.report["call_sites"])
        (queue,) = [c for c in t.report["channels"] if c["kind"] == "pipe"
                    and c["bytes_written"] > 3 * 100000]
        (pipe,) = [c for c in t.report["channels"] if c["kind"] == "unix-stream"
                   and c["bytes_written"] > 2 * 20000]
        # the feeder thread's pickling and writes, on the caller of put()
        self.assertEqual(put["bytes_written"], queue["bytes_written"])
        self.assertEqual(put["serialize_calls"], 3)
        self.assertEqual(send["bytes_written"], pipe["bytes_written"])
        self.assertEqual(send["serialize_calls"], 2)
        self.assertEqual(get["bytes_read"], queue["bytes_read"])
        self.assertEqual(recv["bytes_read"], pipe["bytes_read"])
        self.assertEqual(put["pid"], t.root()["pid"])
        # nothing the parent wrote is left on a stack without a user frame
        for s in t.report["call_sites"]:
            if s["pid"] == put["pid"] and not s["user_frame"]:
                self.assertEqual((s["bytes_written"], s["serialize_calls"]), (0, 0), s)
        self.assertTrue(any("queue hand-off" in p for p in t.report["serializer_probes"]),
                        t.report["serializer_probes"])

    def test_queue_put_on_this_interpreter(self):
        self.check_two_senders(PYTHON)

    def test_queue_put_on_a_stripped_interpreter(self):
        stripped = stripped_python()
        if not stripped:
            self.skipTest("no stripped CPython 3 in /usr/bin")
        self.check_two_senders(stripped)

    def test_timeline_slices_name_their_call_site(self):
        with tempfile.TemporaryDirectory() as d:
            path = write_app(d, TWO_SENDERS)
            tl = os.path.join(d, "tl.json")
            t = run_traced([PYTHON, path], extra=["--timeline", tl])
            with open(tl) as f:
                events = json.load(f)["traceEvents"]
        lines = marked_lines(TWO_SENDERS)
        (queue,) = [c for c in t.report["channels"] if c["kind"] == "pipe"
                    and c["bytes_written"] > 3 * 100000]
        put = f"{path}:{lines['QUEUE-PUT']} in send_by_queue"
        writes = [e for e in events if e.get("ph") == "X" and e["cat"] == "ipc"
                  and e["args"].get("channel") == queue["name"]
                  and e["name"].startswith("write")]
        # every write of the queue's pipe (made by the feeder thread) and
        # its bytes, named after the put() line
        self.assertTrue(writes)
        self.assertEqual({e["args"].get("call_site") for e in writes}, {put})
        self.assertEqual(sum(e["args"]["bytes"] for e in writes), queue["bytes_written"])
        self.assertTrue(all(e["tid"] != e["pid"] for e in writes))
        pickles = [e for e in events if e.get("ph") == "X" and e["cat"] == "serialize"
                   and e["args"].get("call_site") == put]
        self.assertEqual(len(pickles), 3)
        self.assertTrue(all(e["name"].endswith(f"app.py:{lines['QUEUE-PUT']}") for e in pickles))
