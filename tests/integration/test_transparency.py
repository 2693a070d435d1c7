"""What tracing must not change: untraced processes, and traced ones whose
serializer is called too often for exact probes."""
import json
import os
import subprocess
import tempfile
import time

from helpers import BPFTestCase, IPCPROF, PYTHON, fixture, run_traced

SLEEPER = ("import os, pickle, sys, time; pickle.dumps(1); "
           "print(os.getpid(), flush=True); time.sleep(60)")

# many tiny round trips: ~1 us each untraced, ~16 us each with a uprobe pair
ROUND_TRIPS = ("import pickle, sys, time\n"
               "o = {'a': 1, 'b': [1, 2, 3]}\n"
               "for _ in range(int(sys.argv[1])):\n"
               "    pickle.loads(pickle.dumps(o))\n"
               "    time.sleep(float(sys.argv[2]))\n")


def pickle_text_patched(pid):
    """Does the process's _pickle code in memory differ from the file on
    disk? A uprobe is an int3 written into the process's copy of the page."""
    with open(f"/proc/{pid}/maps") as f:
        maps = [line.split() for line in f]
    text = [m for m in maps if len(m) == 6 and "x" in m[1] and "_pickle" in m[5]]
    assert text, f"pid {pid} maps no _pickle code"
    differs = False
    with open(f"/proc/{pid}/mem", "rb") as mem:
        for start_end, _, offset, _, _, path in text:
            start, end = (int(x, 16) for x in start_end.split("-"))
            mem.seek(start)
            live = mem.read(end - start)
            with open(path, "rb") as f:
                f.seek(int(offset, 16))
                disk = f.read(end - start)
            differs = differs or live[:len(disk)] != disk
    return differs


class Bystanders(BPFTestCase):
    def test_uprobes_only_in_traced_processes(self):
        bystander = subprocess.Popen([PYTHON, "-c", SLEEPER], stdout=subprocess.PIPE, text=True)
        prof = subprocess.Popen([IPCPROF, "run", "-o", "/dev/null", "--", PYTHON, "-c", SLEEPER],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            quiet = int(bystander.stdout.readline())
            # printed after pickle was imported and used: held at exec until
            # its probes existed, so they are in place by now
            traced = int(prof.stdout.readline())
            self.assertTrue(pickle_text_patched(traced), "the traced process has no uprobes")
            self.assertFalse(pickle_text_patched(quiet), "an untraced process got uprobes")
        finally:
            bystander.kill()
            subprocess.run(["pkill", "-f", "^" + PYTHON + " -c import os, pickle"])
            prof.wait(60)
            bystander.wait()


class HotSerializer(BPFTestCase):
    def test_frequent_calls_switch_to_sampling(self):
        n = 300000
        t = run_traced([PYTHON, "-c", ROUND_TRIPS, str(n), "0"])
        m = t.report["methods"]
        self.assertEqual(m["serialize"], "uprobe+sampled", json.dumps(t.report["notes"]))
        root = t.root()
        # the probes went early: far fewer calls timed exactly than made
        self.assertLess(root["serialize_calls"], n / 10)
        self.assertGreater(root["serialize_calls"], 0)
        self.assertTrue(any("too often for exact probes" in x for x in t.report["notes"]))
        # the time after that is sampled, and carries its uncertainty
        self.assertGreater(root["serializer_sampled_ns"], 0)
        self.assertGreater(root["ci95_ns"]["serialize"], 0)

    def test_rare_calls_stay_exact(self):
        # 2 calls every 10 ms: 200 a second, a tenth of the switching rate
        t = run_traced([PYTHON, "-c", ROUND_TRIPS, "50", "0.01"])
        self.assertEqual(t.report["methods"]["serialize"], "uprobe")
        self.assertEqual(t.root()["serialize_calls"], 50)
        self.assertEqual(t.root()["serializer_sampled_ns"], 0)


class LongRuns(BPFTestCase):
    def test_more_processes_than_the_maps_hold(self):
        # the kernel's process table holds 8192: exited processes must be
        # folded out of it as the run goes, losing nothing
        n, size = 9000, 100
        t = run_traced([fixture("churn"), str(n), str(size)], timeout=300)
        self.assertEqual(t.stdout.strip(), f"read {n * size}")
        self.assertEqual(t.report["lost_events"], 0)
        self.assertEqual(len(t.procs), n + 1)
        (pipe,) = [c for c in t.channels("pipe") if c["bytes_written"] == n * size]
        self.assertEqual(pipe["bytes_read"], n * size)
        self.assertEqual(pipe["write_calls"], n)
        self.assertEqual(len(pipe["writers"]), n)
        self.assertEqual(sum(p["fork_calls"] for p in t.procs), n)
