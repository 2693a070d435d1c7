"""FINDINGS on the seed experiments: each finding's figure recomputed from
the report's own numbers, and a transfer by inheritance that must give
none of the transfer findings."""
from helpers import BPFTestCase, PYTHON, SEED, run_traced


def findings(report):
    return {f["rule"]: f for f in report["findings"]}


class Findings(BPFTestCase):
    def test_queue_seed(self):
        t = run_traced([PYTHON, SEED, "queue", "--repeats", "1"])
        r, tot = t.report, t.report["totals"]
        got = findings(r)
        acts = tot["faults_by_activity"]
        # pickling against the IPC syscalls' CPU, as the rule computes it
        pick = acts["serialize"]["activity_ns"] + acts["deserialize"]["activity_ns"]
        self.assertIn("serialization-dominates", got, r["findings"])
        self.assertAlmostEqual(got["serialization-dominates"]["value"],
                               pick / (pick + tot["ipc_oncpu_ns"]), places=9)
        # the list was built before the fork: pickling copies its pages
        ser = acts["serialize"]
        self.assertIn("cow-while-pickling", got, r["findings"])
        self.assertAlmostEqual(got["cow-while-pickling"]["value"],
                               ser["cow"] / (ser["cow"] + ser["first_touch"] + ser["other"]),
                               places=9)
        self.assertIn(f"{ser['cow']} copy-on-write", got["cow-while-pickling"]["text"])
        # the busiest channel against one pipe's rate: 0.11..0.25 of it on
        # one machine, ~0.08 on another, so the rule's threshold (0.10) is
        # checked against the report's own numbers, both ways
        busiest = max(r["channels"], key=lambda c: c["bytes_written"])
        if r["pipe_bytes_per_s"]:
            ratio = busiest["bytes_per_s"] / r["pipe_bytes_per_s"]
            if ratio >= 0.105:
                self.assertNotIn("channel-below-pipe", got, r["findings"])
            elif ratio < 0.095:
                self.assertIn("channel-below-pipe", got, r["findings"])
            if "channel-below-pipe" in got:
                self.assertIn(busiest["name"], got["channel-below-pipe"]["text"])
                self.assertAlmostEqual(got["channel-below-pipe"]["value"], ratio, places=2)
        self.assertNotIn("small-messages", got)

    def test_inherit_seed_has_no_transfer_findings(self):
        t = run_traced([PYTHON, SEED, "inherit", "--repeats", "1"])
        got = findings(t.report)
        for rule in ("serialization-dominates", "cow-while-pickling", "channel-below-pipe",
                     "small-messages"):
            self.assertNotIn(rule, got, t.report["findings"])
