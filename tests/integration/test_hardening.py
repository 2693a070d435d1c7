"""A root tool its targets cannot subvert: outputs, signals, stopped processes.

Each test is a hostile or unlucky situation that once went wrong: a symlink
planted by the traced command, an output that cannot be written, ipcprof
killed while processes are held, a closed output pipe.
"""
import os
import signal
import subprocess
import tempfile
import time

from helpers import BPFTestCase, IPCPROF, OUR_PROGRAMS, bpf_program_names


def stopped(pid):
    """Is the process in state T (stopped), from /proc/PID/stat?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except FileNotFoundError:
        return False


def wait_programs_gone(test, timeout=30):
    deadline = time.monotonic() + timeout
    while OUR_PROGRAMS & bpf_program_names() and time.monotonic() < deadline:
        time.sleep(0.2)
    test.assertEqual(OUR_PROGRAMS & bpf_program_names(), set())


class Outputs(BPFTestCase):
    def test_symlink_planted_by_the_command_is_replaced_not_followed(self):
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o1777)  # like /tmp: the caller may create files here
            victim = os.path.join(d, "victim")
            with open(victim, "w") as f:
                f.write("precious\n")
            out = os.path.join(d, "out.json")
            # the command (run as nobody) plants out.json -> victim
            env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534")
            r = subprocess.run([IPCPROF, "run", "--format", "json", "-o", out, "--",
                                "ln", "-s", victim, out], env=env, capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(victim) as f:
                self.assertEqual(f.read(), "precious\n")
            self.assertFalse(os.path.islink(out))
            st = os.stat(out)
            self.assertEqual((st.st_uid, st.st_gid), (65534, 65534))  # the caller's
            self.assertEqual(sorted(os.listdir(d)), ["out.json", "victim"])

    def test_unwritable_output_fails_before_tracing(self):
        t0 = time.monotonic()
        r = subprocess.run([IPCPROF, "run", "-o", "/nonexistent/dir/x.json", "--", "sleep", "5"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertLess(time.monotonic() - t0, 4)  # the command never ran
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("/nonexistent/dir/x.json", r.stderr)

    def test_failed_write_keeps_the_old_file_and_fails(self):
        # /dev/full: every write fails with ENOSPC
        r = subprocess.run([IPCPROF, "run", "-o", "/dev/full", "--", "true"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("No space left on device", r.stderr)
        with tempfile.TemporaryDirectory() as d:
            rec = os.path.join(d, "r.ipcp")
            self.assertEqual(subprocess.run([IPCPROF, "record", "-o", rec, "--", "true"],
                                            capture_output=True).returncode, 0)
            with open("/dev/full", "w") as full:
                r = subprocess.run([IPCPROF, "report", rec], stdout=full,
                                   stderr=subprocess.PIPE, text=True)
            self.assertEqual(r.returncode, 1)

    def test_closed_output_pipe_is_an_error_not_a_signal(self):
        r = subprocess.run(f"{IPCPROF} run -- true | head -c 10 >/dev/null; "
                           "echo ${PIPESTATUS[0]}", shell=True, executable="/bin/bash",
                           capture_output=True, text=True, timeout=60)
        # 1 (write error reported), not 141 (killed by SIGPIPE)
        self.assertIn(r.stdout.strip(), ("0", "1"))  # 0 if all fit before head closed
        # the command itself still dies of SIGPIPE as usual (ignoring it,
        # `yes` would complain of a broken pipe)
        r = subprocess.run([IPCPROF, "run", "-o", "/dev/null", "--", "sh", "-c",
                            "yes | head -c 1 >/dev/null"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("Broken pipe", r.stderr)


class NothingLeftStopped(BPFTestCase):
    def test_sigkill_while_attached_to_an_exec_loop(self):
        # a shell that keeps exec'ing: every exec is held until its uprobes
        # exist; SIGKILL ipcprof in the middle of it
        with tempfile.TemporaryDirectory() as d:
            done = os.path.join(d, "done")
            target = subprocess.Popen(["sh", "-c", f"for i in $(seq 400); do /bin/true; done; "
                                      f"touch {done}"])
            prof = subprocess.Popen([IPCPROF, "attach", "-p", str(target.pid), "-o",
                                     "/dev/null"], stderr=subprocess.PIPE, text=True)
            self.assertIn("tracing", prof.stderr.readline())
            time.sleep(0.3)
            prof.kill()
            prof.wait()
            try:
                target.wait(60)
            except subprocess.TimeoutExpired:
                state = [p for p in os.listdir("/proc") if p.isdigit() and stopped(int(p))]
                target.kill()
                for p in state:  # do not leave them behind ourselves
                    os.kill(int(p), signal.SIGCONT)
                self.fail(f"the traced loop never finished; stopped: {state}")
            self.assertTrue(os.path.exists(done))
        wait_programs_gone(self)


class HostileBinaries(BPFTestCase):
    def test_fifo_in_runpath_does_not_hang_the_planner(self):
        # A program named python3 whose libpython (found through its RUNPATH)
        # is a FIFO: planning its uprobes once opened it, blocking, while the
        # program was held stopped.
        with tempfile.TemporaryDirectory() as d:
            lib = os.path.join(d, "lib")
            os.mkdir(lib)
            so = os.path.join(lib, "libpython3.99.so.1.0")
            src = os.path.join(d, "m.c")
            with open(src, "w") as f:
                f.write("int main(void) { return 0; }\n")
            subprocess.run(["cc", "-shared", "-fPIC", "-o", so, "-Wl,-soname,libpython3.99.so.1.0",
                            src], check=True)
            exe = os.path.join(d, "python3")
            # --no-as-needed: the library must stay NEEDED though nothing uses it
            subprocess.run(["cc", "-o", exe, src, "-Wl,--no-as-needed", so,
                            "-Wl,--enable-new-dtags,-rpath," + lib],
                           check=True)
            os.unlink(so)
            os.mkfifo(so)
            prof = subprocess.Popen([IPCPROF, "run", "-o", "/dev/null", "--", exe],
                                    stderr=subprocess.PIPE, text=True)
            # the dynamic loader itself now blocks opening the FIFO: that is
            # the program's business; ipcprof must have let it run
            deadline = time.monotonic() + 30
            child = None
            while time.monotonic() < deadline and child is None:
                kids = subprocess.run(["pgrep", "-P", str(prof.pid)], capture_output=True,
                                      text=True).stdout.split()
                for k in kids:
                    try:
                        if os.readlink(f"/proc/{k}/exe") == exe and not stopped(int(k)):
                            child = int(k)
                    except OSError:
                        pass
                time.sleep(0.1)
            self.assertIsNotNone(child, "the program stayed held (planner blocked?)")
            # unblock the loader: it reads EOF and fails
            fd = os.open(so, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
            prof.wait(60)
            self.assertNotEqual(prof.returncode, None)


class Namespaces(BPFTestCase):
    def test_inside_a_pid_namespace_is_a_clear_error(self):
        r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", IPCPROF, "run", "--",
                            "true"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("PID namespace", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class CraftedRecordings(BPFTestCase):
    """Recordings travel: report and compare must survive whatever they hold."""

    def test_names_chosen_by_the_program_are_escaped(self):
        # the traced program names itself with a terminal escape and markup
        name = "\x1b]2;x\x07<s>"
        code = ("import ctypes; ctypes.CDLL(None).prctl(15, %r.encode(), 0, 0, 0)" % name)
        with tempfile.TemporaryDirectory() as d:
            rec, svg = os.path.join(d, "r.ipcp"), os.path.join(d, "r.svg")
            r = subprocess.run([IPCPROF, "record", "-o", rec, "--", "python3", "-c", code],
                               capture_output=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = subprocess.run([IPCPROF, "report", "--svg", svg, rec], capture_output=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"\\x1b]2;x\\x07<s>", r.stdout)
            self.assertNotIn(b"\x1b", r.stdout)
            self.assertNotIn(b"\x07", r.stdout)
            import xml.etree.ElementTree as ET
            texts = [t.text or "" for t in ET.parse(svg).iter("{http://www.w3.org/2000/svg}text")]
            self.assertTrue(any("<s>" in t for t in texts), texts)  # as text, not markup

    def test_a_file_cannot_size_our_memory(self):
        # 64 KiB of gzip that inflates to 64 MiB without a newline, and one
        # that claims more processes than any trace has: both refused with
        # one line, in bounded memory and time
        import gzip
        with tempfile.TemporaryDirectory() as d:
            bomb, many = os.path.join(d, "bomb.ipcp"), os.path.join(d, "many.ipcp")
            with gzip.open(bomb, "wb") as f:
                for _ in range(64):
                    f.write(b"a" * (1 << 20))
            header = (b'{"recording":{"format":"ipcprof-recording","version":3}}\n')
            with gzip.open(many, "wb") as f:
                f.write(header + b'{"proc":{}}\n' * 40000)
            # a fresh parent per run, so its children's peak RSS is ipcprof's
            peak = ("import resource, subprocess, sys; "
                    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                    "sys.stderr.write(r.stderr); "
                    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
                    "sys.exit(r.returncode)")
            for path, why in ((bomb, "longer than"), (many, "more than 32768 processes")):
                t0 = time.monotonic()
                r = subprocess.run(["python3", "-c", peak, IPCPROF, "report", path],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(why, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertLess(time.monotonic() - t0, 10)
                # KiB: the line buffer and at most 32768 rows (~25 MB), not
                # what the file inflates to; room for a sanitized build
                self.assertLess(int(r.stdout), 300 * 1024)
