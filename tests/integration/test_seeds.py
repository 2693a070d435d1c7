"""The seed experiments: what moves through which channel."""
import json

from helpers import BPFTestCase, DENSE_SAMPLING, PYTHON, SEED, row_summary, run_traced

PAYLOAD = 4_871_352  # pickle of list(range(10**6)), protocol 5
HEADER = 4           # multiprocessing.Connection length prefix


class SeedTransfers(BPFTestCase):
    def test_queue_moves_the_pickle_through_a_pipe(self):
        t = run_traced([PYTHON, SEED, "queue"])
        big = [c for c in t.report["channels"] if c["bytes_written"] > 1_000_000]
        self.assertEqual(len(big), 1, t.report["channels"])
        self.assertEqual(big[0]["kind"], "pipe")
        self.assertEqual(big[0]["bytes_written"], PAYLOAD + HEADER)
        self.assertEqual(big[0]["bytes_read"], PAYLOAD + HEADER)
        root = t.root()
        self.assertEqual(big[0]["writers"], [root["pid"]])
        (reader,) = big[0]["readers"]
        self.assertEqual(t.proc(reader)["ppid"], root["pid"])
        self.assertGreaterEqual(t.report["totals"]["serialize_calls"], 1)
        self.assertGreaterEqual(t.report["totals"]["deserialize_calls"], 1)
        # the queue's lock is a POSIX semaphore: a shared mapping
        self.assertGreaterEqual(root["mmap_calls"], 1)

    def test_pipe_moves_the_pickle_through_a_socketpair(self):
        t = run_traced([PYTHON, SEED, "pipe"])
        big = [c for c in t.report["channels"] if c["bytes_written"] > 1_000_000]
        self.assertEqual(len(big), 1, t.report["channels"])
        self.assertEqual(big[0]["kind"], "unix-stream")
        self.assertEqual(big[0]["bytes_written"], PAYLOAD + HEADER)
        self.assertEqual(big[0]["bytes_read"], PAYLOAD + HEADER)

    def test_inherit_and_argument_move_no_payload(self):
        for kind in ("inherit", "argument"):
            with self.subTest(kind=kind):
                t = run_traced([PYTHON, SEED, kind])
                moved = sum(c["bytes_written"] + c["bytes_read"]
                            for c in t.report["channels"])
                self.assertLess(moved, 1000, t.report["channels"])
                self.assertEqual(t.report["totals"]["serialize_calls"], 0)
                self.assertEqual(len(t.procs), 2)
                self.assertEqual(t.root()["fork_calls"], 1)
                self.assertEqual(json.loads(t.stdout)["experiment"], kind)


class SeedBreakdown(BPFTestCase):
    def oncpu(self, p):
        # exact: lifetime minus time off CPU (blocked in IPC, waiting, not yet run)
        return p["thread_ns"] - p["blocked_ns"] - p["wait_ns"] - p["first_run_ns"]

    def test_little_is_left_unexplained(self):
        for kind in ("queue", "pipe"):
            t = run_traced([PYTHON, SEED, kind], extra=DENSE_SAMPLING)
            hz = t.report["sample_hz"]
            for p in t.procs:
                with self.subTest(kind=kind, pid=p["pid"]):
                    oncpu = self.oncpu(p)
                    self.assertGreater(oncpu, 20e6)  # both processes are busy
                    why = row_summary(p)
                    # the sampler, an independent clock, sees the same CPU time;
                    # in this VM it loses periods (80 processes here: 0.825 to
                    # 1.022 of the on-CPU time, median 0.995)
                    sampled = p["samples_total"] * 1e9 / hz
                    self.assertAlmostEqual(sampled, oncpu, delta=0.25 * oncpu, msg=why)
                    # "other" is what no hook timed and no sample explained:
                    # CPU time the sampler missed (its periods lost in this
                    # VM, up to 17% of a run here) lands there too. Beyond
                    # that shortfall, 80 processes here left 3.7-9.4% of
                    # their CPU time (medians 4-6%) unexplained
                    shortfall = max(0.0, oncpu - sampled)
                    self.assertLess(p["other_ns"], 0.15 * oncpu + shortfall, why)

    def test_unpickled_objects_are_first_touched(self):
        t = run_traced([PYTHON, SEED, "pipe"], extra=DENSE_SAMPLING)
        (child,) = t.children(t.root()["pid"])
        deser = child["faults_by_activity"]["deserialize"]
        # 1M new int objects of 32 bytes: ~7800 fresh pages
        self.assertGreater(deser["first_touch"], 7000)
        self.assertGreater(deser["fault_ns"], 0)
        self.assertLessEqual(deser["fault_ns"], deser["activity_ns"])


class InheritedData(BPFTestCase):
    def child_cow(self, kind):
        t = run_traced([PYTHON, SEED, kind])
        self.assertEqual(json.loads(t.stdout)["experiment"], kind)
        (child,) = t.children(t.root()["pid"])
        return child["faults_cow"]

    def test_touching_inherited_data_unshares_it(self):
        plain = self.child_cow("inherit")
        iterate = self.child_cow("inherit-iterate")
        # 1M int objects of 32 bytes sit on ~7800 pages; iterating writes
        # each refcount
        self.assertGreaterEqual(iterate - plain, 6000, (plain, iterate))
        self.assertLess(plain, 3000)
