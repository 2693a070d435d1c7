"""The precise path: fentry/fexit (kprobe fallback) chosen at run time.

What each phase should be measured with is derived from `ipcprof probe
--format json`, which decides by really trying on the running kernel; the
tests check that traces use what the probe promised, and that exact timings
agree with the sampler. Inside `make vmtest` (Debian's stock 6.1 kernel,
IPCPROF_IN_VM=1) fentry and kprobes are known to work, so there the probe's
own verdict is checked too.
"""
import os
import re
import subprocess

from helpers import BPFTestCase, IPCPROF, expected_methods, fixture, probe_plan, run_traced

IN_VM = os.environ.get("IPCPROF_IN_VM") == "1"
SOCKET_BYTES = 8_000_000
PRECISE_GROUPS = ("copy", "fault", "fork", "mmap", "ipc_kernel")


def probe_text(*args):
    r = subprocess.run([IPCPROF, "probe", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def socket_run(*extra):
    return run_traced([fixture("ipc_bytes"), "socketpair", str(SOCKET_BYTES), "65536"],
                      extra=["--sample-hz", "20000", *extra])


class PrecisePath(BPFTestCase):
    def test_probe_tells_the_truth(self):
        plan = probe_plan()
        # independent truth: the kernel's kprobe PMU
        self.assertEqual(plan["kprobe"]["available"],
                         os.path.exists("/sys/bus/event_source/devices/kprobe"))
        for mech in ("fentry", "kprobe"):
            if not plan[mech]["available"]:
                self.assertTrue(plan[mech]["why"])
        attached = [f for fs in plan["functions"].values() for f in fs if f["attached"]]
        self.assertEqual(plan["fentry"]["available"],
                         any(f["method"] == "fentry" for f in attached))
        for fs in plan["functions"].values():
            for f in fs:
                if not f["attached"]:
                    self.assertTrue(f["why_not_fentry"] and f["why_not_kprobe"], f)
        # the text form says the same
        text = probe_text()
        for group, key in (("copy", "copy"), ("fault", "fault"), ("fork", "fork"),
                           ("mmap", "mmap")):
            self.assertRegex(text, rf"\n{group}: {re.escape(plan['methods'][key])}\b")
        for f in attached:
            self.assertRegex(text, rf"\n  {re.escape(f['function'])} +{f['method']}\n")
        if IN_VM:  # Debian 6.1 under qemu: both mechanisms are known to work
            self.assertTrue(plan["fentry"]["available"])
            self.assertTrue(plan["kprobe"]["available"])
            self.assertEqual(plan["methods"]["fault"], "fentry")

    def test_methods_follow_the_kernel(self):
        t = socket_run()
        want = expected_methods(probe_plan(), "unix")
        for k in PRECISE_GROUPS:
            self.assertEqual(t.report["methods"][k], want[k], k)
        # the same exact bytes whatever the method
        (c,) = t.channels("unix-stream")
        self.assertEqual(c["bytes_written"], SOCKET_BYTES)
        self.assertEqual(c["bytes_read"], SOCKET_BYTES)

    def test_forced_fallback(self):
        t = socket_run("--probe-mode", "fallback")
        m = t.report["methods"]
        self.assertEqual(m["copy"], "sampled")
        self.assertEqual(m["fault"], "sampled")
        self.assertEqual(m["fork"], "tracepoint")
        plan = probe_plan("--probe-mode", "fallback")
        self.assertFalse(plan["fentry"]["available"])
        self.assertIn("fentry: not tried (--probe-mode)", probe_text("--probe-mode", "fallback"))

    def test_exact_copy_agrees_with_the_sampler(self):
        t = socket_run()
        if t.report["methods"]["copy"] == "sampled":
            # without a precise copy probe both figures are the sampler's:
            # comparing them would compare it with itself
            self.skipTest("no precise copy probe on this kernel (ipcprof probe: copy sampled)")
        tot = t.report["totals"]
        self.assertGreater(tot["copy_ns"], 0)
        self.assertLessEqual(tot["copy_ns"], tot["ipc_oncpu_ns"])
        self.assertGreater(tot["samples_ipc"], 100)
        # The same run's samples estimate the same copies. Under qemu TCG
        # (Debian 6.1) sampled/exact was 0.77..0.94 (mean 0.87) over 10 runs
        # of this fixture alone, and 0.70 once inside the full suite: the
        # sampler misses the fentry trampolines' own time, which the exact
        # probe includes, and ~500 IPC samples carry +-10% at 95%. The
        # bound 0.40 is the widest seen (0.30) with a third more room.
        self.assertAlmostEqual(tot["copy_sampled_ns"], tot["copy_ns"],
                               delta=0.40 * tot["copy_ns"])
        for p in t.procs:
            self.assertLessEqual(p["copy_ns"], p["ipc_oncpu_ns"])
            self.assertLessEqual(p["ipc_kernel_ns"], p["ipc_oncpu_ns"] + p["blocked_ns"])

    def test_thread_sampler_agrees_with_exact_copy(self):
        """The per-thread sampler's copy estimate (its samples inside IPC
        calls, the per-CPU sampler at its default 99 Hz) against the socket
        copies timed by fentry in the same run."""
        t = run_traced([fixture("ipc_bytes"), "socketpair", str(SOCKET_BYTES), "65536"],
                       extra=["--thread-sample-hz", "2000"])
        if t.report["methods"]["copy"] == "sampled":
            self.skipTest("no precise copy probe on this kernel (ipcprof probe: copy sampled)")
        tot = t.report["totals"]
        self.assertGreater(tot["copy_ns"], 0)
        # at 99 Hz alone the IPC calls would get a handful of samples
        self.assertGreater(tot["samples_ipc"], 100)
        # the same bound as the dense per-CPU sampler's above, for the
        # same reasons (the trampolines' time is in the exact figure only)
        self.assertAlmostEqual(tot["copy_sampled_ns"], tot["copy_ns"],
                               delta=0.40 * tot["copy_ns"])
        # the report's copy split is the exact figure (its pipe part, the
        # fixture's stdout, sampled)
        self.assertEqual(tot["breakdown"]["ipc_oncpu"]["splits"]["copy"]["ns"], tot["copy_ns"])

    def test_kprobe_mode(self):
        plan = probe_plan("--probe-mode", "kprobe")
        if not plan["kprobe"]["available"]:
            self.skipTest(f"no kprobes on this kernel ({plan['kprobe']['why']})")
        t = socket_run("--probe-mode", "kprobe")
        want = expected_methods(plan, "unix")
        for k in PRECISE_GROUPS:
            self.assertEqual(t.report["methods"][k], want[k], k)
            self.assertIn(want[k], ("kprobe", "sampled", "tracepoint", "unavailable"), k)
        if want["copy"] == "kprobe":
            self.assertGreater(t.report["totals"]["copy_ns"], 0)

    def test_pipe_copies_degrade_alone(self):
        plan = probe_plan()
        t = run_traced([fixture("ipc_bytes"), "pipe", "1000000", "65536"])
        m = t.report["methods"]
        (c,) = t.channels("pipe")
        self.assertEqual(c["bytes_written"], 1000000)
        want = expected_methods(plan, "pipe")
        self.assertEqual(m["copy"], want["copy"])
        self.assertEqual(m["fault"], want["fault"])
        if plan["methods"]["copy"] != "sampled" and not plan["copy_exact"]["pipe"]:
            # the copy probes attached, but not to the routines pipes copy
            # with (Debian 6.1 builds lib/iov_iter.c notrace): the report says
            # so while the other precise phases keep working
            self.assertTrue(any("copy time for pipes and FIFOs is sampled" in n
                                for n in t.report["notes"]), t.report["notes"])
