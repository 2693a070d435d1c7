"""Shared helpers for the integration tests: run ipcprof, read its JSON."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IPCPROF = os.path.join(ROOT, "ipcprof")
FIXTURES = os.path.join(ROOT, ".output", "fixtures")
SEED = os.path.join(ROOT, "scripts", "bench", "seed_transfer.py")
# The real interpreter, not a launcher script in front of it.
PYTHON = sys.executable

PHASES = ("serialize_ns", "deserialize_ns", "syscall_ns", "blocked_ns",
          "copy_ns", "fault_ns", "fork_ns", "mmap_ns", "wait_ns", "compute_ns", "other_ns")


def fixture(name):
    return os.path.join(FIXTURES, name)


class Traced:
    """Result of one `ipcprof run --format json`."""

    def __init__(self, report, rc, stdout, stderr):
        self.report = report
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    @property
    def procs(self):
        return self.report["processes"]

    def proc(self, pid):
        for p in self.procs:
            if p["pid"] == pid:
                return p
        raise AssertionError(f"pid {pid} not in report")

    def root(self):
        """The launched command: the process whose parent is not traced."""
        pids = {p["pid"] for p in self.procs}
        roots = [p for p in self.procs if p["ppid"] not in pids]
        assert len(roots) == 1, roots
        return roots[0]

    def children(self, pid):
        return [p for p in self.procs if p["ppid"] == pid]

    def channels(self, kind=None):
        return [c for c in self.report["channels"]
                if kind is None or c["kind"] == kind]


# Tests of what the sampler estimates (fault time, compute, on-CPU) sample
# densely: the default rate (99 Hz) trades precision for cost, and its
# uncertainty is reported, but a test needs enough samples to be decisive.
DENSE_SAMPLING = ("--sample-hz", "4999")


def run_traced(args, extra=(), timeout=120, check=True):
    """Trace `args`; the command's stdout goes to a file, not a pipe, so it
    adds no channel of its own."""
    with tempfile.TemporaryDirectory() as d:
        out_json = os.path.join(d, "report.json")
        out_cmd = os.path.join(d, "stdout")
        with open(out_cmd, "w") as so:
            proc = subprocess.run(
                [IPCPROF, "run", "--format", "json", "-o", out_json, *extra, "--", *args],
                stdout=so, stderr=subprocess.PIPE, text=True, timeout=timeout)
        with open(out_cmd) as f:
            stdout = f.read()
        report = None
        if os.path.exists(out_json) and os.path.getsize(out_json):
            with open(out_json) as f:
                report = json.load(f)
    if check and (proc.returncode != 0 or report is None):
        raise AssertionError(f"ipcprof failed rc={proc.returncode}: {proc.stderr}")
    return Traced(report, proc.returncode, stdout, proc.stderr)


def bpf_program_names():
    out = subprocess.run(["bpftool", "prog", "list"], capture_output=True, text=True,
                         check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if "name" in parts:
            names.add(parts[parts.index("name") + 1])
    return names


OUR_PROGRAMS = {"handle_switch", "handle_fork", "handle_exec", "handle_exit",
                "sample_cpu", "serialize_enter", "deserialize_enter"}


def require_bpf(test):
    """BPF tests fail loudly, never skip, when BPF cannot be used."""
    if os.geteuid() != 0:
        test.fail("integration tests need root for BPF (run as root)")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        test.fail("kernel has no BTF (/sys/kernel/btf/vmlinux): CO-RE cannot work")
    if not os.access(IPCPROF, os.X_OK):
        test.fail("ipcprof is not built: run make")


class BPFTestCase(unittest.TestCase):
    def setUp(self):
        require_bpf(self)
