"""compare on JSON reports (a baseline kept as plain JSON) and --fail-if, on
the seed Queue experiment: the compared numbers are the reports' own, mixed
recording + JSON inputs work, a doctored baseline trips the condition."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from helpers import BPFTestCase, IPCPROF, PYTHON, SEED


def ipcprof(*args):
    return subprocess.run([IPCPROF, *args], capture_output=True, text=True, timeout=300)


class CompareJson(BPFTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.a = os.path.join(cls.tmp, "a.json")
        cls.b = os.path.join(cls.tmp, "b.ipcp")
        cmd = ["--", PYTHON, SEED, "queue", "--repeats", "1"]
        cls.ra = ipcprof("run", "--format", "json", "-o", cls.a, *cmd)
        cls.rb = ipcprof("record", "-o", cls.b, *cmd)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.assertEqual(self.ra.returncode, 0, self.ra.stderr)
        self.assertEqual(self.rb.returncode, 0, self.rb.stderr)
        self.rep = json.load(open(self.a))

    def test_values_are_the_reports_own(self):
        r = ipcprof("compare", "--format", "json", self.a, self.b)
        self.assertEqual(r.returncode, 0, r.stderr)
        cmp = json.loads(r.stdout)
        live = json.loads(ipcprof("report", "--format", "json", self.b).stdout)
        for rep, side in ((self.rep, "a_values"), (live, "b_values")):
            tot = rep["totals"]
            vals = cmp[side]
            self.assertEqual(vals["wall"], tot["wall_ns"])
            for ph in ("serialize", "deserialize", "blocked", "compute", "other"):
                self.assertEqual(vals[ph], tot[f"{ph}_ns"], ph)
            self.assertEqual(vals["bytes written"], tot["bytes_written"])
            self.assertEqual(vals["bytes read"], tot["bytes_read"])
            self.assertEqual(vals["CoW faults"], tot["faults_cow"])
            self.assertEqual(vals["processes"], len(rep["processes"]))
        # the report as `run` prints it to stdout, after the command's output
        out = os.path.join(self.tmp, "stdout.txt")
        with open(out, "w") as f:
            f.write("the program's own output\n{not json}\n" + open(self.a).read())
        r = ipcprof("compare", "--format", "json", out, self.a)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["a_values"], json.loads(r.stdout)["b_values"])

    def test_fail_if(self):
        # serializer_ns: the serializer's whole time, timed exactly by its
        # uprobes (serialize_ns, its own work, is what sampled faults leave
        # of it: at 99 Hz every sample of a 46 ms pickling can land in a
        # fault, 1 run in ~25 here, and leave 0)
        same = ipcprof("compare", "--fail-if", "serializer_ns>+10%", "--fail-if", "wall_ns>+5%",
                       self.a, self.a)
        self.assertEqual(same.returncode, 0, same.stderr)
        self.assertEqual(same.stderr, "")
        # a baseline whose serializer took half as long: B is +100%
        ser = self.rep["totals"]["faults_by_activity"]["serialize"]["activity_ns"]
        self.assertGreater(ser, 1)
        half = json.loads(json.dumps(self.rep))
        half["totals"]["faults_by_activity"]["serialize"]["activity_ns"] = ser // 2
        base = os.path.join(self.tmp, "baseline.json")
        json.dump(half, open(base, "w"))
        r = ipcprof("compare", "--fail-if", "serializer_ns>+10%", "--fail-if", "wall_ns>+5%",
                    base, self.a)
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)  # only the tripped condition
        self.assertIn("serializer_ns>+10%", lines[0])
        self.assertIn("+100.0%", lines[0])
        self.assertIn("serializer", r.stdout)  # the comparison itself is printed too
        # an absolute threshold just below and at the doubled amount
        d = ser - ser // 2
        self.assertEqual(ipcprof("compare", "--fail-if", f"serializer_ns>{d - 1}",
                                 base, self.a).returncode, 1)
        self.assertEqual(ipcprof("compare", "--fail-if", f"serializer_ns>{d}",
                                 base, self.a).returncode, 0)

    def test_bad_input(self):
        for expr in ("serialize_ns", "nosuch_ns>1%", "bytes_read>+1ms"):
            r = ipcprof("compare", "--fail-if", expr, self.a, self.a)
            self.assertEqual(r.returncode, 2, (expr, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        cut = os.path.join(self.tmp, "cut.json")
        with open(cut, "w") as f:
            f.write(open(self.a).read()[:2000])
        r = ipcprof("compare", cut, self.a)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("cut.json", r.stderr)


if __name__ == "__main__":
    unittest.main()
