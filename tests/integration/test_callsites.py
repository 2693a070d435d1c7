"""Python call sites: the lines that caused the traffic, found by walking
CPython's frames in the kernel, against the program's own source."""
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


class CallSites(BPFTestCase):
    def check_pipe_program(self, python):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "app.py")
            with open(path, "w") as f:
                f.write(PROGRAM)
            t = run_traced([python, path])
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
        # and the sites of each process hold all of its IPC calls
        for pid in (send["pid"], recv["pid"]):
            calls = sum(s["calls"] for s in t.report["call_sites"] if s["pid"] == pid)
            self.assertEqual(calls, t.proc(pid)["ipc_calls"])
        return t

    def test_pipe_program_on_this_interpreter(self):
        self.check_pipe_program(PYTHON)

    def test_pipe_program_on_a_stripped_interpreter(self):
        stripped = stripped_python()
        if not stripped:
            self.skipTest("no stripped CPython 3 in /usr/bin")
        self.check_pipe_program(stripped)

    def test_no_call_sites_walks_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "app.py")
            with open(path, "w") as f:
                f.write(PROGRAM)
            t = run_traced([PYTHON, path], extra=["--no-call-sites"])
        self.assertEqual(t.report["call_sites"], [])
        self.assertGreater(t.report["totals"]["ipc_calls"], 4)
