"""Shared helpers for the integration tests: run ipcprof, read its JSON."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# the binary under test: `make check SANITIZE=1` passes its sanitized build
IPCPROF = os.environ.get("IPCPROF_BIN") or os.path.join(ROOT, "ipcprof")
FIXTURES = os.path.join(ROOT, ".output", "fixtures")
SEED = os.path.join(ROOT, "scripts", "bench", "seed_transfer.py")
# The real interpreter, not a launcher script in front of it.
PYTHON = sys.executable

PHASES = ("serialize_ns", "deserialize_ns", "syscall_ns", "blocked_ns",
          "copy_ns", "fault_ns", "fork_ns", "mmap_ns", "wait_ns", "compute_ns", "other_ns")


def row_summary(row):
    """What a failed partition check needs to be understood from CI's log."""
    keys = ("pid", "thread_ns", "wall_ns", "first_run_ns", "blocked_ns", "wait_ns",
            "samples_total", "ipc_oncpu_ns", "fork_ns", "mmap_ns")
    return json.dumps({"row": {k: row.get(k) for k in keys},
                       "breakdown": {k: e["ns"] for k, e in row["breakdown"].items()}})


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


_PLANS = {}


def probe_plan(*args):
    """What `ipcprof probe --format json` says this kernel offers (cached per
    argument list): tests derive the methods they expect from it, never from
    the machine they were written on."""
    if args not in _PLANS:
        r = subprocess.run([IPCPROF, "probe", "--format", "json", *args],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        _PLANS[args] = json.loads(r.stdout)
    return _PLANS[args]


def expected_methods(plan, family):
    """The report's methods for a trace whose IPC is one channel family
    ("pipe" or "unix"): copy is exact only where the plan covers it."""
    m = dict(plan["methods"])
    if not plan["copy_exact"][family]:
        m["copy"] = "sampled"
    return m


def has_symtab(path):
    """Does the ELF file keep its .symtab (i.e. is it not stripped)? Read from
    the section headers directly, independently of ipcprof's libelf code."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only
        return False
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for i in range(shnum):
        sh_type, = struct.unpack_from("<I", data, shoff + i * shentsize + 4)
        if sh_type == 2:  # SHT_SYMTAB
            return True
    return False


def has_pickle_symbols(python):
    """Does `python` reach pickle through a file with symbols (its _pickle
    extension module, or itself when _pickle is built in)?"""
    out = subprocess.run([python, "-c", "import _pickle; print(getattr(_pickle, '__file__', ''))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return has_symtab(out or os.path.realpath(python))


def stripped_python():
    """An installed CPython 3 without a symbol table, or None."""
    import glob
    import re
    for path in sorted(glob.glob("/usr/bin/python3*")):
        if re.fullmatch(r"/usr/bin/python3(\.\d+)?", path) and not os.path.islink(path) \
                and not has_symtab(path):
            return path
    return None


def run_traced(args, extra=(), timeout=120, check=True, cwd=None, env=None):
    """Trace `args`; the command's stdout goes to a file, not a pipe, so it
    adds no channel of its own."""
    with tempfile.TemporaryDirectory() as d:
        out_json = os.path.join(d, "report.json")
        out_cmd = os.path.join(d, "stdout")
        with open(out_cmd, "w") as so:
            proc = subprocess.run(
                [IPCPROF, "run", "--format", "json", "-o", out_json, *extra, "--", *args],
                stdout=so, stderr=subprocess.PIPE, text=True, timeout=timeout, cwd=cwd,
                env=env)
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
