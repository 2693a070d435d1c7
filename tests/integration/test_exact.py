"""Exact first: amounts a hook measured stand as measured, sampled splits
beneath them stay inside what they split, in every output."""
import json
import os
import re
import subprocess
import tempfile

from helpers import BPFTestCase, IPCPROF, PYTHON, SEED, fixture, row_summary, run_traced

RUNS = 5


def ipcprof(*args):
    return subprocess.run([IPCPROF, *args], capture_output=True, text=True, timeout=300)


def splits_inside(test, entry, where):
    """Each split's range lies in [0, the amount it splits] and holds its
    value; the splits add up to that amount."""
    whole = entry["ns"]
    parts = 0
    for name, s in entry.get("splits", {}).items():
        with test.subTest(where=where, split=name):
            test.assertLessEqual(s["lo_ns"], s["ns"])
            test.assertLessEqual(s["ns"], s["hi_ns"])
            test.assertLessEqual(s["hi_ns"], entry["hi_ns"])
            if s["exact"]:
                test.assertEqual(s["lo_ns"], s["hi_ns"])
        parts += s["ns"]
    if entry.get("splits"):
        test.assertEqual(parts, whole, where)


class SeedQueue(BPFTestCase):
    """The seed Queue experiment, where the partition used to show the exact
    IPC time as `syscall 0 ns` once sampled copy and fault shares took it."""

    def check_report(self, rep, where):
        for row in [rep["totals"]] + rep["processes"]:
            b = row["breakdown"]
            by = row["faults_by_activity"]
            # the exact amounts, as their hooks measured them
            self.assertTrue(b["ipc_oncpu"]["exact"])
            self.assertEqual(b["ipc_oncpu"]["ns"], row["ipc_oncpu_ns"])
            for name, act in (("serializer", "serialize"), ("deserializer", "deserialize")):
                self.assertTrue(b[name]["exact"], (where, name))
                self.assertEqual(b[name]["ns"], by[act]["activity_ns"], (where, name))
            for name in ("blocked", "fork", "mmap", "wait"):
                self.assertTrue(b[name]["exact"])
                self.assertEqual(b[name]["ns"], row[f"{name}_ns"], (where, name))
            # the partition cuts the same time at the splits: syscall, copy
            # and the faults inside IPC calls are the exact on-CPU time
            self.assertEqual(row["syscall_ns"] + row["copy_ns"] + by["ipc"]["fault_ns"],
                             row["ipc_oncpu_ns"], where)
            # the top level is a partition of thread time too
            self.assertEqual(sum(e["ns"] for e in b.values()), row["thread_ns"],
                             f"{where}: {row_summary(row)}")
            for name, e in b.items():
                self.assertLessEqual(e["lo_ns"], e["ns"])
                self.assertLessEqual(e["ns"], e["hi_ns"])
                self.assertLessEqual(e["hi_ns"], row["thread_ns"])
                splits_inside(self, e, f"{where} {name}")
        t = rep["totals"]
        self.assertGreater(t["ipc_oncpu_ns"], 0)
        self.assertGreater(t["breakdown"]["serializer"]["ns"], 0)
        self.assertGreater(t["breakdown"]["deserializer"]["ns"], 0)

    def check_text(self, text, rep):
        """No exactly measured amount printed as 0 or as an estimate."""
        b = rep["totals"]["breakdown"]
        for label, name in (("serializer", "serializer"), ("deserializer", "deserializer"),
                            ("IPC calls on CPU", "ipc_oncpu"),
                            ("blocked waiting for IPC", "blocked")):
            line = re.search(rf"^{re.escape(label)} +(\S+) (\S+) +\S+%  (\S+)", text, re.M)
            self.assertIsNotNone(line, label)
            self.assertGreater(b[name]["ns"], 0, name)
            self.assertNotEqual(line.group(1), "0", label)
            self.assertFalse(line.group(1).startswith("~"), label)
            self.assertEqual(line.group(3), "-", label)  # no range: exact
        # the splits of the IPC time are estimates, said so, with a range
        copy = re.search(r"^  of which copy routines +(~\S+ \S+) +\S+%  (\S+ \S+) \.\. "
                         r"(\S+ \S+) +(\S+)", text, re.M)
        self.assertIsNotNone(copy, text)
        self.assertEqual(copy.group(4), rep["methods"]["copy"] + ",")

    def test_exact_amounts_stand_as_measured(self):
        with tempfile.TemporaryDirectory() as d:
            rec = os.path.join(d, "q.ipcp")
            for i in range(RUNS):
                r = ipcprof("record", "-o", rec, "--", PYTHON, SEED, "queue")
                self.assertEqual(r.returncode, 0, r.stderr)
                j = ipcprof("report", "--format", "json", rec)
                self.assertEqual(j.returncode, 0, j.stderr)
                rep = json.loads(j.stdout)
                text = ipcprof("report", rec)
                self.assertEqual(text.returncode, 0, text.stderr)
                with self.subTest(run=i):
                    self.check_report(rep, f"run {i}")
                    self.check_text(text.stdout, rep)


class NotMeasured(BPFTestCase):
    """A program with no serializer to probe: its serializer time is not
    measured, and no output may show it as a measured 0."""

    def test_unavailable_is_not_an_exact_zero(self):
        with tempfile.TemporaryDirectory() as d:
            rec = os.path.join(d, "c.ipcp")
            r = ipcprof("record", "-o", rec, "--", fixture("ipc_bytes"), "pipe", "100000", "4096")
            self.assertEqual(r.returncode, 0, r.stderr)
            rep = json.loads(ipcprof("report", "--format", "json", rec).stdout)
            self.assertEqual(rep["methods"]["serialize"], "unavailable")
            for row in [rep["totals"]] + rep["processes"]:
                e = row["breakdown"]["serializer"]
                self.assertFalse(e["available"])
                self.assertFalse(e["exact"])
                self.assertTrue(row["breakdown"]["ipc_oncpu"]["available"])
            csv = ipcprof("report", "--format", "csv", rec).stdout.splitlines()
            head = csv[0].split(",")
            for line in csv[1:]:
                cells = dict(zip(head, line.split(",")))
                self.assertEqual(cells["breakdown_serializer_ns"], "")
                self.assertNotEqual(cells["breakdown_ipc_oncpu_ns"], "")
            text = ipcprof("report", rec).stdout
            self.assertRegex(text, r"\nserializer +n/a ")
            procs = text[text.index("PROCESSES"):].splitlines()
            self.assertIn(" SERIALIZE ", procs[1])  # no "~": it is no estimate either
            for line in procs[2:2 + len(rep["processes"])]:
                # after pid, ppid, comm and wall ("9.9 ms"): serializer, deserializer
                self.assertEqual(line.split()[5:7], ["n/a", "n/a"], line)


class ThreadSampler(BPFTestCase):
    """--thread-sample-hz: denser samples inside the timed activities only."""

    def test_samples_only_inside_timed_activities(self):
        # a pipe flood of 64 KiB writes: nearly all its time in IPC calls
        args = ["pipe", "40000000", "65536", "1"]
        plain = run_traced([fixture("ipc_bytes"), *args])
        dense = run_traced([fixture("ipc_bytes"), *args], extra=("--thread-sample-hz", "2000"))
        for t in (plain, dense):
            self.assertEqual(t.report["totals"]["bytes_written"], 40000000)
        self.assertEqual(plain.report["thread_sample_hz"], 0)
        self.assertEqual(dense.report["thread_sample_hz"], 2000)
        tot = dense.report["totals"]
        by = tot["faults_by_activity"]
        # Samples inside IPC calls: at least a quarter of what 2000 Hz over
        # the calls' exact on-CPU time gives (the period is fixed; ticks
        # lost to throttling or a slow VM only lower it)
        self.assertGreaterEqual(tot["samples_ipc"], tot["ipc_oncpu_ns"] * 2000e-9 / 4,
                                (tot["samples_ipc"], tot["ipc_oncpu_ns"]))
        # The per-CPU sampler's period-based counts stay its own: no more
        # samples outside the timed activities than 99 Hz over the whole
        # thread time gives (3 sigma above it)
        hz = dense.report["sample_hz"]
        elsewhere = by["other"]["activity_samples"] + by["post_fork"]["activity_samples"]
        budget = tot["thread_ns"] * hz * 1e-9
        self.assertLessEqual(elsewhere, budget + 3 * budget ** 0.5 + 3, (elsewhere, budget))
