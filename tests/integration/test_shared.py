"""Shared memory: segments, the bytes each process touched in them, and the
descriptors that carried them, against what the programs themselves did."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from helpers import BPFTestCase, IPCPROF, PYTHON, ROOT, fixture, probe_plan, run_traced

BENCH = os.path.join(ROOT, "scripts", "bench")
DEBIAN_PYTHON = "/usr/bin/python3.11"


def truth(t):
    """The fixture's or the program's own account: its last JSON line."""
    return json.loads(t.stdout.strip().splitlines()[-1])


def segment(t, **want):
    found = [s for s in t.report["shared_memory"]
             if all(s[k] == v for k, v in want.items())]
    assert len(found) == 1, (want, [(s["name"], s["kind"]) for s in t.report["shared_memory"]])
    return found[0]


def use(seg, pid):
    (u,) = [u for u in seg["processes"] if u["pid"] == pid]
    return u


class Segments(BPFTestCase):
    def assert_touched(self, u, size, exact_within=0.0):
        """Bytes touched: exact where the RSS counters tell (the probe says
        which), else one page per not-present fault, which fault-around
        makes a lower bound."""
        if probe_plan()["shared_touched"] == "rss":
            self.assertTrue(u["touched_exact"], u)
            self.assertAlmostEqual(u["bytes_touched"], size, delta=exact_within * size, msg=u)
        else:
            self.assertFalse(u["touched_exact"], u)
            self.assertLessEqual(u["bytes_touched"], size, u)
            self.assertGreater(u["bytes_touched"], 0, u)

    def test_memfd_passed_over_a_unix_socket(self):
        t = run_traced([fixture("shm_pass"), "memfd", "16"])
        want = truth(t)
        seg = segment(t, kind="memfd")
        self.assertEqual(seg["name"], "memfd:ipcprof-seg")
        self.assertEqual(seg["size"], want["bytes"])
        self.assertEqual(seg["creator_pid"], want["parent"])
        parent, child = use(seg, want["parent"]), use(seg, want["child"])
        for u in (parent, child):
            self.assertEqual(u["bytes_mapped"], want["bytes"])
            self.assertEqual(u["maps"], 1)
            self.assertFalse(u["inherited"])
        # the parent wrote one byte in every page, the child read them
        self.assertGreaterEqual(parent["faults_write"], want["pages"])
        self.assertEqual(parent["faults_read"], 0)
        self.assertGreater(child["faults_read"], 0)
        self.assertEqual(child["faults_write"], 0)
        self.assert_touched(parent, want["bytes"])
        self.assert_touched(child, want["bytes"])
        # one descriptor, one sendmsg, from the parent to the child
        (route,) = seg["passed_via"]
        self.assertEqual((route["from_pid"], route["to_pid"], route["fds"]),
                         (want["parent"], want["child"], want["fds_passed"]))
        (chan,) = [c for c in t.channels("unix-stream") if c["fds_passed"]]
        self.assertEqual(chan["fds_passed"], want["fds_passed"])
        self.assertEqual(chan["ino"], route["channel_ino"])

    def test_sysv_segment(self):
        t = run_traced([fixture("shm_pass"), "sysv", "8"])
        want = truth(t)
        seg = segment(t, kind="sysv")
        self.assertEqual(seg["size"], want["bytes"])
        self.assertEqual(seg["creator_pid"], want["parent"])
        self.assertEqual(seg["passed_via"], [])
        parent, child = use(seg, want["parent"]), use(seg, want["child"])
        self.assertGreaterEqual(parent["faults_write"], want["pages"])
        self.assertGreater(child["faults_read"], 0)
        for u in (parent, child):
            self.assertEqual(u["bytes_mapped"], want["bytes"])
            self.assert_touched(u, want["bytes"])

    def test_shared_anonymous_mapping_across_fork(self):
        t = run_traced([fixture("shm_pass"), "anon", "8"])
        want = truth(t)
        seg = segment(t, kind="anonymous")
        parent, child = use(seg, want["parent"]), use(seg, want["child"])
        self.assertEqual(seg["creator_pid"], want["parent"])
        self.assertEqual(parent["bytes_mapped"], want["bytes"])
        # the child never mapped it: it came with the fork
        self.assertTrue(child["inherited"])
        self.assertEqual(child["bytes_mapped"], 0)
        self.assertGreaterEqual(child["faults_write"], want["pages"])
        self.assert_touched(child, want["bytes"])
        self.assert_touched(parent, want["bytes"])
        # faults on it are the shared-memory part of the faults elsewhere
        acts = t.proc(want["child"])["faults_by_activity"]
        self.assertGreaterEqual(acts["shared"]["first_touch"], want["pages"])

    def test_python_shared_memory(self):
        """multiprocessing.shared_memory, 64 MiB: the child writes every page,
        the parent reads every page; each touched the whole segment."""
        t = run_traced([PYTHON, os.path.join(BENCH, "shm_pymp.py"), "64"], timeout=300)
        want = truth(t)
        seg = segment(t, kind="posix", name=want["name"])
        self.assertEqual(seg["size"], want["bytes"])
        self.assertEqual(seg["creator_pid"], want["parent"])
        parent, child = use(seg, want["parent"]), use(seg, want["child"])
        self.assertGreaterEqual(child["faults_write"], want["bytes"] // 4096)
        self.assert_touched(child, want["bytes"], exact_within=0.05)
        self.assert_touched(parent, want["bytes"], exact_within=0.05)

    @unittest.skipUnless(shutil.which("protoc") and os.path.exists("/usr/bin/python3"),
                         "protoc or python3-protobuf missing (make deps)")
    def test_perfetto_counts_bytes_touched(self):
        from test_perfetto import decode
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.perfetto-trace")
            t = run_traced([fixture("shm_pass"), "memfd", "4"], extra=("--timeline", path))
            want = truth(t)
            trace = decode(path, d)
        seg = segment(t, kind="memfd")
        counters = {int(k): v[0] for k, v in trace["tracks"].items()
                    if "shared bytes touched: memfd:ipcprof-seg" in (v[0].get("name") or "")}
        self.assertEqual(len(counters), 2)
        for pid in (want["parent"], want["child"]):
            (uuid,) = [u for u, td in counters.items()
                       if trace["tracks"][str(td["parent"])][0]["process"]["pid"] == pid]
            values = [e["value"] for e in trace["events"] if e.get("track") == uuid]
            self.assertEqual(values, [0.0, float(use(seg, pid)["bytes_touched"])])

    def test_recording_keeps_the_segments(self):
        with tempfile.TemporaryDirectory() as d:
            rec = os.path.join(d, "r.ipcp")
            with open(os.path.join(d, "out"), "w") as out:
                r = subprocess.run([IPCPROF, "record", "--format", "json", "-o", rec, "--",
                                    fixture("shm_pass"), "memfd", "4"],
                                   stdout=out, stderr=subprocess.PIPE, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(d, "out")) as f:
                live = json.loads(f.read().split("\n", 1)[1])
            again = subprocess.run([IPCPROF, "report", "--format", "json", rec],
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(again.returncode, 0, again.stderr)
            back = json.loads(again.stdout)
            self.assertEqual(back["shared_memory"], live["shared_memory"])
            self.assertEqual([c["fds_passed"] for c in back["channels"]],
                             [c["fds_passed"] for c in live["channels"]])
            self.assertEqual(len(live["shared_memory"]), 1)
            # the HTML page shows the same bytes, per process
            page = os.path.join(d, "r.html")
            r = subprocess.run([IPCPROF, "report", "--html", page, rec], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(page) as f:
                html = f.read()
            table = html.split('<table id="shared_memory">', 1)[1].split("</table>", 1)[0]
            for u in live["shared_memory"][0]["processes"]:
                row = table.split(f'data-pid="{u["pid"]}">', 1)[1].split("</tr>", 1)[0]
                self.assertIn(f'data-field="bytes_touched" data-value="{u["bytes_touched"]}"',
                              row)
                self.assertIn(f'data-field="faults_read" data-value="{u["faults_read"]}"', row)


def torch_python():
    """Debian's interpreter, if Debian's python3-torch is importable there."""
    if not os.path.exists(DEBIAN_PYTHON):
        return None
    r = subprocess.run([DEBIAN_PYTHON, "-c", "import torch"], capture_output=True, timeout=120)
    return DEBIAN_PYTHON if r.returncode == 0 else None


class DataLoader(BPFTestCase):
    def test_batches_cross_in_shared_segments(self):
        """PyTorch's DataLoader, 2 workers, 40 batches: the workers' segments
        reach the main process as descriptors, and the bytes it touched in
        them are the tensor bytes it received, as the program counts them."""
        if os.environ.get("IPCPROF_IN_VM"):
            self.skipTest("PyTorch under qemu TCG takes minutes; the C fixtures check this "
                          "kernel's shared-memory path")
        python = torch_python()
        if not python:
            self.skipTest("python3-torch is not installed (make deps installs it)")
        t = run_traced([python, os.path.join(BENCH, "shm_dataloader.py"), "40", "2"],
                       timeout=600)
        want = truth(t)
        main = t.root()["pid"]
        # the segments handed to the main process over a socket
        handed = [s for s in t.report["shared_memory"]
                  if any(r.get("to_pid") == main for r in s["passed_via"])]
        self.assertGreaterEqual(len(handed), want["batches"])
        got = sum(use(s, main)["bytes_touched"] for s in handed)
        made = sum(u["bytes_touched"] for s in handed for u in s["processes"]
                   if u["pid"] != main)
        if probe_plan()["shared_touched"] == "rss":
            self.assertAlmostEqual(got, want["tensor_bytes"], delta=0.05 * want["tensor_bytes"])
            self.assertAlmostEqual(made, want["tensor_bytes"],
                                   delta=0.05 * want["tensor_bytes"])
        fds = sum(r["fds"] for s in handed for r in s["passed_via"])
        self.assertGreaterEqual(fds, len(handed))


if __name__ == "__main__":
    unittest.main()
