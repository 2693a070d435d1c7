"""Serializer time: --uprobe on a fixture, and CPython's pickle in the seeds."""
import json

from helpers import BPFTestCase, PYTHON, SEED, fixture, run_traced, stripped_python


class UserProbes(BPFTestCase):
    def test_uprobe_counts_calls_and_time(self):
        calls, spin_us = 25, 3000
        exe = fixture("serializer")
        t = run_traced([exe, str(calls), str(spin_us)],
                       extra=["--uprobe", f"{exe}:encode_record=serialize",
                              "--uprobe", f"{exe}:decode_record=deserialize"])
        own = dict(line.split() for line in t.stdout.splitlines())
        p = t.root()
        self.assertEqual(p["serialize_calls"], calls)
        self.assertEqual(p["deserialize_calls"], calls)
        self.assertEqual(t.report["methods"]["serialize"], "uprobe")
        # the fixture's own clock around each call includes the write()
        # inside it, which ipcprof books as syscall: agree within 5%
        by_act = p["faults_by_activity"]
        self.assertAlmostEqual(by_act["serialize"]["activity_ns"], int(own["encode_ns"]),
                               delta=0.05 * int(own["encode_ns"]))
        self.assertAlmostEqual(by_act["deserialize"]["activity_ns"], int(own["decode_ns"]),
                               delta=0.05 * int(own["decode_ns"]))
        self.assertGreaterEqual(by_act["serialize"]["activity_ns"], calls * spin_us * 1000)
        self.assertEqual(p["ipc_calls"], 2 * calls)

    def test_bad_uprobe_is_a_clear_error(self):
        t = run_traced(["true"], extra=["--uprobe", f"{fixture('serializer')}:nope=serialize"],
                       check=False)
        self.assertEqual(t.rc, 2)
        self.assertIn("no such function", t.stderr)
        self.assertEqual(len(t.stderr.strip().splitlines()), 1)


class Pickle(BPFTestCase):
    def test_explicit_pickle_agrees_with_perf_counter(self):
        t = run_traced([PYTHON, SEED, "pickle"])
        own = json.loads(t.stdout)
        tot = t.report["totals"]
        self.assertEqual(t.report["methods"]["serialize"], "uprobe")
        # page faults inside the serializer are booked as fault time;
        # the serializer's whole time is serialize + those faults
        by_act = tot["faults_by_activity"]
        for kind in ("serialize", "deserialize"):
            whole = by_act[kind]["activity_ns"]
            self.assertEqual(whole, tot[f"{kind}_ns"] + by_act[kind]["fault_ns"])
            self.assertAlmostEqual(whole, own[f"{kind}_ns"], delta=0.15 * own[f"{kind}_ns"])
        (sock,) = [c for c in t.channels("unix-stream") if c["bytes_written"] > 1_000_000]
        # send_bytes adds a 4-byte length header to the pickle
        self.assertEqual(sock["bytes_written"], own["payload_bytes"] + 4)
        self.assertEqual(sock["bytes_read"], own["payload_bytes"] + 4)

    def test_stripped_interpreter_is_reported(self):
        stripped = stripped_python()
        if not stripped:
            self.skipTest("no stripped CPython 3 in /usr/bin")
        t = run_traced([stripped, "-c", "import pickle; pickle.loads(pickle.dumps(1))"])
        self.assertEqual(t.report["methods"]["serialize"], "unavailable")
        self.assertEqual(t.report["methods"]["deserialize"], "unavailable")
        notes = " ".join(t.report["notes"])
        self.assertIn("serializer time not measured", notes)
        self.assertIn(f"{stripped} (stripped)", notes)
