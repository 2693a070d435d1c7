"""Errors, exit codes, signals, attach, and cleanup of BPF objects."""
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from helpers import (BPFTestCase, IPCPROF, OUR_PROGRAMS, ROOT, bpf_program_names, fixture,
                     run_traced)


def child_running(pid):
    """Has `pid` a child that already exec'ed `sleep` (the traced command)?"""
    r = subprocess.run(["pgrep", "-P", str(pid), "-x", "sleep"], capture_output=True)
    return r.returncode == 0


def ipcprof(*args, timeout=60):
    return subprocess.run([IPCPROF, *args], capture_output=True, text=True, timeout=timeout)


class Usage(unittest.TestCase):
    def one_line_error(self, r, rc, text):
        self.assertEqual(r.returncode, rc, r.stderr)
        self.assertIn(text, r.stderr)

    def test_bad_arguments(self):
        self.one_line_error(ipcprof("run", "--format", "xml", "--", "true"), 64,
                            "unknown format 'xml'")
        self.one_line_error(ipcprof("run"), 64, "missing command")
        self.one_line_error(ipcprof("attach"), 64, "missing -p PID")
        self.one_line_error(ipcprof("attach", "-p", "12x"), 64, "invalid PID '12x'")
        self.one_line_error(ipcprof("attach", "-p", "1", "-d", "-3"), 64, "-d '-3'")
        self.one_line_error(ipcprof("frobnicate"), 2, "unknown subcommand 'frobnicate'")
        self.one_line_error(ipcprof("run", "--sample-hz", "0", "--", "true"), 64,
                            "--sample-hz '0'")

    def test_help_and_version(self):
        r = ipcprof("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^ipcprof \d+\.\d+\.\d+")
        r = ipcprof("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("ipcprof run [OPTIONS] -- CMD", r.stdout)
        r = ipcprof("run", "--help")
        self.assertIn("--no-follow", r.stdout)


class Errors(BPFTestCase):
    def test_command_not_found(self):
        r = ipcprof("run", "--", "no-such-command-ipcprof")
        self.assertEqual(r.returncode, 127)
        self.assertEqual(r.stderr.strip(),
                         "ipcprof: no-such-command-ipcprof: command not found")

    def test_unknown_pid(self):
        r = ipcprof("attach", "-p", "999999999")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), "ipcprof: no such process: 999999999")

    def test_exit_status_passes_through(self):
        t = run_traced(["sh", "-c", "exit 7"], check=False)
        self.assertEqual(t.rc, 7)
        self.assertEqual(t.report["exit_status"], 7)
        t = run_traced(["sh", "-c", "kill -TERM $$"], check=False)
        self.assertEqual(t.rc, 128 + signal.SIGTERM)

    def test_no_follow_traces_only_the_command(self):
        t = run_traced([fixture("ipc_bytes"), "pipe", "100000", "1000"], extra=["--no-follow"])
        self.assertEqual(len(t.procs), 1)
        self.assertEqual(t.root()["bytes_written"], 100000)
        self.assertEqual(t.root()["fork_calls"], 1)


class Lifecycle(BPFTestCase):
    def assert_no_programs_left(self):
        left = OUR_PROGRAMS & bpf_program_names()
        self.assertEqual(left, set(), "BPF programs left behind")

    def test_sigint_prints_what_was_collected(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.json")
            p = subprocess.Popen([IPCPROF, "run", "--format", "json", "-o", out, "--",
                                  "sleep", "30"], stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 120  # loading is slow under TCG
            while not child_running(p.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertTrue(child_running(p.pid), "command not started")
            self.assertTrue(OUR_PROGRAMS & bpf_program_names(), "programs not loaded")
            p.send_signal(signal.SIGINT)
            rc = p.wait(20)
            with open(out) as f:
                rep = json.load(f)
        subprocess.run(["pkill", "-f", "^sleep 30$"])
        self.assertEqual(rc, 130)
        self.assertTrue(rep["interrupted"])
        (sleeper,) = rep["processes"]
        self.assertFalse(sleeper["exited"])
        self.assertGreater(sleeper["wall_ns"], 1e9)
        self.assert_no_programs_left()

    def test_attach_for_a_duration(self):
        target = subprocess.Popen(["sleep", "30"])
        try:
            t0 = time.monotonic()
            r = ipcprof("attach", "-p", str(target.pid), "-d", "1", "--format", "csv")
            took = time.monotonic() - t0
        finally:
            target.kill()
            target.wait()
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.strip().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[1].startswith(f"{target.pid},{os.getpid()},sleep,0,"))
        self.assertGreaterEqual(took, 1.0)
        self.assert_no_programs_left()

    def test_target_exiting_mid_trace_ends_attach(self):
        with tempfile.TemporaryDirectory() as d:
            go = os.path.join(d, "go")
            target = subprocess.Popen(["sh", "-c", f"while [ ! -e {go} ]; do sleep 0.05; done"])
            prof = subprocess.Popen([IPCPROF, "attach", "-p", str(target.pid), "--format",
                                     "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            self.assertIn("tracing", prof.stderr.readline())
            open(go, "w").close()
            out, err = prof.communicate(timeout=120)
        target.wait()
        self.assertEqual(prof.returncode, 0, err)
        rep = json.loads(out)
        self.assertTrue(rep["processes"][0]["exited"])
        self.assertFalse(rep["interrupted"])
        self.assert_no_programs_left()

    def test_target_dead_before_attach_completes(self):
        # a zombie: /proc still has it, but it will never run again
        target = subprocess.Popen(["true"])
        time.sleep(0.5)
        r = ipcprof("attach", "-p", str(target.pid), "--format", "json", timeout=120)
        target.wait()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(json.loads(r.stdout)["interrupted"])
        self.assert_no_programs_left()


class Privileges(BPFTestCase):
    def test_command_runs_as_the_sudo_caller(self):
        env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534")
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o777)
            out = os.path.join(d, "ids")
            r = subprocess.run([IPCPROF, "run", "-o", os.path.join(d, "r.txt"), "--", "sh", "-c",
                                f"id -u > {out}; id -g >> {out}"], env=env,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out) as f:
                self.assertEqual(f.read().split(), ["65534", "65534"])

    def test_sudo_caller_gets_only_their_groups_and_environment(self):
        env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534", HOME="/root")
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o777)
            out = os.path.join(d, "ids")
            r = subprocess.run([IPCPROF, "run", "-o", os.path.join(d, "r.txt"), "--", "sh", "-c",
                                f"id -G > {out}; echo $HOME $USER $LOGNAME >> {out}"],
                               env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            groups, environ = open(out).read().splitlines()
        import grp
        import pwd
        nobody = pwd.getpwuid(65534)
        want = {nobody.pw_gid} | {g.gr_gid for g in grp.getgrall() if nobody.pw_name in g.gr_mem}
        self.assertEqual({int(g) for g in groups.split()}, want)
        self.assertEqual(environ.split(), [nobody.pw_dir, nobody.pw_name, nobody.pw_name])

    def test_inconsistent_sudo_variables_fail_closed(self):
        # each would once have run the command as root
        for bad in ({"SUDO_UID": "65534", "SUDO_GID": "bogus"},
                    {"SUDO_UID": "x65534", "SUDO_GID": "65534"},
                    {"SUDO_UID": "65534"},
                    {"SUDO_UID": "54321", "SUDO_GID": "54321"},  # no passwd entry
                    {"SUDO_UID": "65534", "SUDO_GID": "0"}):      # not nobody's group
            with tempfile.TemporaryDirectory() as d:
                marker = os.path.join(d, "ran")
                env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
                env.update(bad)
                r = subprocess.run([IPCPROF, "run", "--", "touch", marker], env=env,
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 2, (bad, r.stderr))
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertIn("--user NAME", r.stderr)
                self.assertFalse(os.path.exists(marker), bad)

    def test_user_option_overrides(self):
        env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534")
        r = subprocess.run([IPCPROF, "run", "--user", "root", "-o", "/dev/null", "--",
                            "sh", "-c", "exit $(id -u)"], env=env, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([IPCPROF, "run", "--user", "no-such-user-x", "--", "true"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), "ipcprof: --user no-such-user-x: no such user")


class Terminal(BPFTestCase):
    """Progress line and live view appear only on a terminal (a pty here)."""

    def in_pty(self, cmd):
        r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def test_progress_line_on_a_terminal_only(self):
        out = self.in_pty(f"{IPCPROF} run -o /dev/null -- sleep 2.4")
        # (text mode turns the carriage return into a newline)
        self.assertRegex(out, r"\n\x1b\[Kipcprof: [12]\.\d+ s, 1 processes, 0 B moved")
        plain = subprocess.run([IPCPROF, "run", "-o", "/dev/null", "--", "sleep", "1.5"],
                               capture_output=True, text=True, timeout=120)
        self.assertNotIn("moved through", plain.stderr)

    def test_live_view_refreshes_every_second(self):
        target = subprocess.Popen(["sleep", "30"])
        try:
            out = self.in_pty(f"{IPCPROF} attach -p {target.pid} -d 3.5 --live -o /dev/null")
        finally:
            target.kill()
            target.wait()
        frames = out.count("\x1b[H\x1b[2Jipcprof live: attach -p")
        self.assertGreaterEqual(frames, 2)
        self.assertLessEqual(frames, 4)
        self.assertIn(f"{target.pid} sleep", out)


class Churn(BPFTestCase):
    def test_attach_while_children_come_and_go(self):
        # short-lived children appear and vanish while ipcprof registers them
        target = subprocess.Popen(["sh", "-c", "while :; do /bin/true; done"])
        try:
            for _ in range(3):
                r = ipcprof("attach", "-p", str(target.pid), "-d", "0.5", "--format", "json",
                            timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr)
                rep = json.loads(r.stdout)
                self.assertIn(target.pid, [p["pid"] for p in rep["processes"]])
                self.assertGreater(len(rep["processes"]), 1)  # followed new children
                # no child was left held at exec (stopped) after ipcprof left
                time.sleep(0.2)
                stopped = subprocess.run(["ps", "-o", "stat=", "--ppid", str(target.pid)],
                                         capture_output=True, text=True).stdout.split()
                self.assertNotIn("T", [s[0] for s in stopped])
        finally:
            target.kill()
            target.wait()


def long_options():
    """Every long option `ipcprof --help` lists (the argp table)."""
    out = subprocess.run([IPCPROF, "--help"], capture_output=True, text=True).stdout
    import re
    return sorted(set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]*)", out, re.M)))


COMPLETION = os.path.join(ROOT, "scripts", "ipcprof.bash-completion")


def complete(words):
    """What the bash completion offers for the command line `words` (the
    last one being completed), through bash-completion's own machinery."""
    script = f"""
source /usr/share/bash-completion/bash_completion
source {COMPLETION}
COMP_WORDS=({" ".join(repr(w) for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE="{" ".join(words)}"
COMP_POINT=${{#COMP_LINE}}
_ipcprof ipcprof "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    return set(r.stdout.split())


class Packaging(unittest.TestCase):
    def setUp(self):
        if os.environ.get("IPCPROF_IN_VM") == "1":
            # the VM mounts the tree read-only; packaging does not depend
            # on the kernel, and the host run checks it
            self.skipTest("source tree is read-only inside the VM")

    def test_install_puts_binary_man_page_and_completion(self):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run(["make", "-s", "-C", ROOT, "install", f"DESTDIR={d}",
                                "PREFIX=/usr"], capture_output=True, text=True, timeout=600)
            self.assertEqual(r.returncode, 0, r.stderr)
            binary = os.path.join(d, "usr/bin/ipcprof")
            man = os.path.join(d, "usr/share/man/man1/ipcprof.1")
            comp = os.path.join(d, "usr/share/bash-completion/completions/ipcprof")
            self.assertTrue(os.access(binary, os.X_OK))
            self.assertTrue(os.path.exists(comp))
            v = subprocess.run([binary, "--version"], capture_output=True, text=True)
            self.assertIn("ipcprof", v.stdout)
            page = subprocess.run(["man", "-l", man], capture_output=True, text=True,
                                  env={**os.environ, "MANWIDTH": "200", "PAGER": "cat"})
            self.assertEqual(page.returncode, 0, page.stderr)
            # the man page comes from the same option table as --help
            for opt in long_options():
                self.assertIn(opt, page.stdout, opt)
            for sub in ("run", "attach", "record", "report", "compare", "probe"):
                self.assertRegex(page.stdout, rf"\n\s+{sub} ")

    def test_completion_offers_every_option(self):
        with open(COMPLETION) as f:
            text = f.read()
        for opt in long_options():
            if opt not in ("--version",):  # top level only, offered there
                self.assertIn(opt, text, opt)
        if not os.path.exists("/usr/share/bash-completion/bash_completion"):
            self.skipTest("bash-completion is not installed")
        self.assertEqual(complete(["ipcprof", "at"]), {"attach"})
        self.assertIn("--pid", complete(["ipcprof", "attach", "--p"]))
        self.assertNotIn("--pid", complete(["ipcprof", "run", "--"]))
        self.assertEqual(complete(["ipcprof", "run", "--format", "j"]), {"json"})
        self.assertEqual(complete(["ipcprof", "probe", "--probe-mode", "f"]),
                         {"fentry", "fallback"})
