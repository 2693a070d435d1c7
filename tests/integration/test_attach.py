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


# A reader asleep in read() on a pipe, and one asleep in recv() on a TCP
# connection over loopback, for the whole window: nothing is ever written.
IDLE = r"""
import os, socket, sys, time
r, w = os.pipe()
srv = socket.create_server(("127.0.0.1", 0))
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
for target in ("pipe", "tcp"):
    if os.fork() == 0:
        if target == "pipe":
            os.read(r, 1)
        else:
            conn.recv(1)
        os._exit(0)
print(os.getpid(), flush=True)
time.sleep(3600)
"""


class CallsStillOpen(BPFTestCase):
    def test_a_read_asleep_for_the_whole_window_is_blocked(self):
        """A call in flight when tracing ends is closed there and booked:
        readers asleep for the whole window are blocked, not other."""
        window_s = 1.0
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "report.json")
            target = subprocess.Popen([PYTHON, "-c", IDLE], stdout=subprocess.PIPE, text=True,
                                      start_new_session=True)
            try:
                self.assertEqual(int(target.stdout.readline()), target.pid)
                readers = []
                deadline = time.monotonic() + 10
                while len(readers) < 2 or any(syscall_of(p) in (None, -1) for p in readers):
                    self.assertLess(time.monotonic(), deadline, "readers never slept")
                    with open(f"/proc/{target.pid}/task/{target.pid}/children") as f:
                        readers = [int(p) for p in f.read().split()]
                    time.sleep(0.01)
                r = subprocess.run([IPCPROF, "attach", "-p", str(target.pid), "-d",
                                    str(window_s), "--format", "json", "-o", out],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
            finally:
                os.killpg(target.pid, signal.SIGKILL)
                target.wait()
            with open(out) as f:
                rep = json.load(f)
        procs = {p["pid"]: p for p in rep["processes"]}
        for kind in ("pipe", "tcp"):
            with self.subTest(kind=kind):
                (chan,) = [c for c in rep["channels"] if c["kind"] == kind]
                # the one read, still open: booked on its channel end
                self.assertEqual(chan["read_calls"], 1, chan)
                self.assertEqual(chan["bytes_read"], 0)
                (reader,) = chan["readers"]
                self.assertIn(reader, readers)
                p = procs[reader]
                self.assertGreaterEqual(p["blocked_ns"], 0.95 * p["thread_ns"], p)
                self.assertGreaterEqual(p["thread_ns"], 0.9 * window_s * 1e9, p)
                self.assertEqual(chan["blocked_ns"], p["blocked_ns"])
