"""The precise path: fentry/fexit (kprobe fallback) chosen at run time.

On the host kernel (6.18 here) fentry loads fail with EPERM and kprobes are
not built in, so every phase must fall back. Inside `make vmtest` (Debian's
stock 6.1 kernel, IPCPROF_IN_VM=1) fentry works and must be used.
"""
import os
import subprocess

from helpers import BPFTestCase, IPCPROF, fixture, run_traced

IN_VM = os.environ.get("IPCPROF_IN_VM") == "1"
SOCKET_BYTES = 8_000_000


def probe(*args):
    r = subprocess.run([IPCPROF, "probe", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def socket_run(*extra):
    return run_traced([fixture("ipc_bytes"), "socketpair", str(SOCKET_BYTES), "65536"],
                      extra=["--sample-hz", "20000", *extra])


class PrecisePath(BPFTestCase):
    def test_probe_tells_the_truth(self):
        out = probe()
        if IN_VM:
            self.assertIn("fentry/fexit: available", out)
            self.assertIn("kprobe:       available", out)
            self.assertRegex(out, r"\n  skb_copy_datagram_iter +fentry\n")
            self.assertRegex(out, r"\n  handle_mm_fault +fentry\n")
            self.assertRegex(out, r"\nfault: fentry\n")
        else:
            self.assertIn("fentry/fexit: unavailable (fentry: load: Operation not permitted)", out)
            self.assertIn("kprobe:       unavailable (kprobe: not built into this kernel", out)
            self.assertIn("copy: sampled", out)
            self.assertIn("fault: sampled", out)
            self.assertIn("fork: tracepoint", out)

    def test_methods_follow_the_kernel(self):
        t = socket_run()
        m = t.report["methods"]
        if IN_VM:
            self.assertEqual(m["copy"], "fentry")
            self.assertEqual(m["fault"], "fentry")
            self.assertEqual(m["fork"], "fentry")
            self.assertEqual(m["ipc_kernel"], "fentry")
        else:
            self.assertEqual(m["copy"], "sampled")
            self.assertEqual(m["fault"], "sampled")
            self.assertEqual(m["fork"], "tracepoint")
            self.assertEqual(m["ipc_kernel"], "unavailable")
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
        out = probe("--probe-mode", "fallback")
        self.assertIn("fentry: not tried (--probe-mode)", out)

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

    def test_kprobe_mode(self):
        t = socket_run("--probe-mode", "kprobe")
        m = t.report["methods"]
        if IN_VM:
            self.assertEqual(m["fault"], "kprobe")
            self.assertEqual(m["fork"], "kprobe")
            self.assertEqual(m["copy"], "kprobe")
            self.assertGreater(t.report["totals"]["copy_ns"], 0)
        else:
            self.assertEqual(m["fault"], "sampled")
            self.assertEqual(m["copy"], "sampled")

    def test_pipe_copies_degrade_alone(self):
        t = run_traced([fixture("ipc_bytes"), "pipe", "1000000", "65536"])
        m = t.report["methods"]
        (c,) = t.channels("pipe")
        self.assertEqual(c["bytes_written"], 1000000)
        if IN_VM:
            # Debian 6.1 builds lib/iov_iter.c notrace: copy_page_{to,from}_iter
            # take neither fentry nor kprobes, so pipe copies stay sampled
            # while the other precise phases keep working
            self.assertEqual(m["copy"], "sampled")
            self.assertEqual(m["fault"], "fentry")
            self.assertTrue(any("copy time for pipes and FIFOs is sampled" in n
                                for n in t.report["notes"]), t.report["notes"])
        else:
            self.assertEqual(m["copy"], "sampled")
