"""Forked children of a probed process get their own uprobes before they run
(the fork gate, bpf/lifecycle.bpf.h): on the host and in the VM's kernel."""
import re

from helpers import BPFTestCase, fixture, run_traced


class ForkGate(BPFTestCase):
    def test_forked_children_are_probed_from_their_first_instruction(self):
        # children forked at once, each calling the serializer first thing:
        # the probes they inherit from their parent's memory count nothing
        # until their own are attached, so each child either finds them
        # ready or waits for them at its first return from fork
        forks = 20
        exe = fixture("serializer")
        t = run_traced([exe, "3", "0", str(forks)],
                       extra=["-v", "--uprobe", f"{exe}:encode_record=serialize",
                              "--uprobe", f"{exe}:decode_record=deserialize"])
        # every child went through the gate, none was let go by the
        # watchdog (which would hide a missing SIGCONT)
        ready, waited = map(int, re.search(r"(\d+) found their uprobes ready, (\d+) waited",
                                           t.stderr).groups())
        self.assertEqual(ready + waited, forks, t.stderr[-2000:])
        self.assertNotIn("was released after", t.stderr)
        # a stopped child that ipcprof forgot would be continued by the
        # watchdog after its 1 s limit; the run takes ~60 ms here, and took
        # 0.42 s with twice as many children in the VM test (TCG)
        self.assertLess(t.report["duration_ns"], 1_000_000_000)
        root = t.root()
        children = [p for p in t.report["processes"] if p["ppid"] == root["pid"]]
        self.assertEqual(len(children), forks)
        for p in children:
            self.assertEqual((p["serialize_calls"], p["deserialize_calls"]), (1, 1), p["pid"])
        self.assertEqual((root["serialize_calls"], root["deserialize_calls"]), (3, 3))

