"""attach: threads already asleep when tracing starts are accounted from its
start (wait, or blocked inside the IPC call they sleep in), not as other."""
import json
import os
import signal
import subprocess
import tempfile
import time

from helpers import BPFTestCase, IPCPROF, PYTHON

# A parent that waits for SIGUSR1 (not an IPC call: wait), then writes
# TOTAL bytes into a pipe whose reader, its child, has been asleep in read()
# since before ipcprof attached (blocked, and its first read in flight).
TARGET = r"""
import os, signal, sys
total = int(sys.argv[1])
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    while os.read(r, 1 << 16):
        pass
    os._exit(0)
os.close(r)
print(pid, flush=True)
signal.sigwait([signal.SIGUSR1])
os.write(w, b"x" * total)
os.close(w)
os.waitpid(pid, 0)
"""


def syscall_of(pid):
    """The syscall number a task sleeps in (/proc/PID/syscall), or None."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            first = f.read().split()[0]
    except (OSError, IndexError):
        return None
    return int(first) if first.lstrip("-").isdigit() else None


class AttachToSleepers(BPFTestCase):
    def test_sleeping_threads_are_wait_and_blocked_not_other(self):
        total, asleep_s = 300_000, 1.0
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "report.json")
            target = subprocess.Popen([PYTHON, "-c", TARGET, str(total)],
                                      stdout=subprocess.PIPE, text=True)
            try:
                child = int(target.stdout.readline())
                # both asleep in their syscalls before ipcprof starts
                deadline = time.monotonic() + 10
                while syscall_of(child) != 0 or syscall_of(target.pid) in (None, -1):
                    self.assertLess(time.monotonic(), deadline, "target never slept")
                    time.sleep(0.01)
                prof = subprocess.Popen([IPCPROF, "attach", "-p", str(target.pid), "-d", "60",
                                         "--format", "json", "-o", out],
                                        stderr=subprocess.PIPE, text=True)
                self.assertIn("tracing 2 processes", prof.stderr.readline())
                time.sleep(asleep_s)
                os.kill(target.pid, signal.SIGUSR1)
                self.assertEqual(target.wait(30), 0)
                self.assertEqual(prof.wait(30), 0, prof.stderr.read())
            finally:
                target.kill()
                target.wait()
            with open(out) as f:
                rep = json.load(f)
        procs = {p["pid"]: p for p in rep["processes"]}
        parent, reader = procs[target.pid], procs[child]
        # every byte, the read that was in flight at attach included
        (pipe,) = [c for c in rep["channels"] if c["kind"] == "pipe"]
        self.assertEqual(pipe["bytes_written"], total)
        self.assertEqual(pipe["bytes_read"], total)
        self.assertEqual(reader["bytes_read"], total)
        # asleep for asleep_s after attaching: the parent waited, the reader
        # was blocked in its read (the test's own clock bounds both below)
        self.assertGreaterEqual(parent["wait_ns"], 0.9 * asleep_s * 1e9)
        self.assertGreaterEqual(reader["blocked_ns"], 0.9 * asleep_s * 1e9)
        for p in (parent, reader):
            with self.subTest(pid=p["pid"]):
                self.assertLess(p["other_ns"], 0.05 * p["thread_ns"], p)
