"""--timeline FILE.perfetto-trace: decoded with Perfetto's own schema
(perfetto_trace.proto through protoc and python3-protobuf) and checked
against the JSON report of the same run: tracks and their names, slice
nesting, bytes per channel, flows from writes to reads, counter tracks."""
import collections
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from helpers import BPFTestCase, PYTHON, ROOT, SEED, run_traced

SCHEMA = os.path.join(ROOT, "tests", "vendor", "perfetto")  # google/perfetto's, unchanged
DECODE = os.path.join(os.path.dirname(__file__), "perfetto_decode.py")
# python3-protobuf is a Debian package: the distribution's interpreter has it
SYSTEM_PYTHON = "/usr/bin/python3"
BUCKET_S = 0.010  # PERFETTO_BUCKET_NS


def decode(trace, tmp):
    """The trace as perfetto_decode.py prints it."""
    subprocess.run(["protoc", f"--python_out={tmp}", "-I", SCHEMA, "perfetto_trace.proto"],
                   check=True, timeout=120)
    r = subprocess.run([SYSTEM_PYTHON, DECODE, tmp, trace], capture_output=True, text=True,
                       timeout=300)
    if r.returncode:
        raise AssertionError(f"decoding failed: {r.stderr}")
    return json.loads(r.stdout)


@unittest.skipUnless(shutil.which("protoc") and os.path.exists(SYSTEM_PYTHON)
                     and os.path.exists(os.path.join(SCHEMA, "perfetto_trace.proto")),
                     "protoc, python3-protobuf or Perfetto's schema missing (make deps)")
class PerfettoTimeline(BPFTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        path = os.path.join(cls.tmp, "queue.perfetto-trace")
        # the seed's Queue experiment: a feeder thread pickles and writes,
        # the child reads and unpickles
        cls.run_ = run_traced([PYTHON, SEED, "queue", "--repeats", "1"],
                              extra=("--timeline", path))
        cls.size = os.path.getsize(path)
        cls.trace = decode(path, cls.tmp)
        cls.rep = cls.run_.report

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.assertEqual(self.run_.rc, 0, self.run_.stderr)

    def tracks(self, kind):
        return {int(u): t[-1] for u, t in self.trace["tracks"].items() if kind in t[-1]}

    def slices(self):
        """Complete slices per track, from begin/end events in time order
        (file order breaks ties, as Perfetto's sorter keeps it): asserts
        that they nest."""
        by_track = collections.defaultdict(list)
        for e in self.trace["events"]:
            if e["type"] in ("TYPE_SLICE_BEGIN", "TYPE_SLICE_END", "TYPE_INSTANT"):
                by_track[e["track"]].append(e)
        out = []
        for track, evs in by_track.items():
            stack = []
            for e in sorted(evs, key=lambda e: (e["ts"], e["i"])):
                if e["type"] == "TYPE_SLICE_BEGIN":
                    stack.append(dict(e, depth=len(stack)))
                elif e["type"] == "TYPE_SLICE_END":
                    self.assertTrue(stack, f"an end without a begin on track {track}")
                    s = stack.pop()
                    s["end"] = e["ts"]
                    out.append(s)
                else:
                    out.append(dict(e, end=e["ts"], depth=len(stack),
                                    parent=stack[-1] if stack else None))
            self.assertEqual(stack, [], f"slices left open on track {track}")
        return out

    def test_processes_and_threads_are_named_tracks(self):
        procs = self.tracks("process")
        threads = self.tracks("thread")
        by_pid = {p["pid"]: p for p in self.rep["processes"]}
        self.assertTrue(threads)
        for uuid, t in threads.items():
            th = t["thread"]
            self.assertIn(th["pid"], by_pid, "a thread of an untraced process")
            self.assertIn(t["parent"], procs, "a thread track outside its process")
            self.assertEqual(procs[t["parent"]]["process"]["pid"], th["pid"])
        for t in procs.values():
            p = by_pid[t["process"]["pid"]]
            # named from /proc on first sight; the report has the last comm
            self.assertTrue(t["process"]["name"], t)
            self.assertTrue(p["comm"].startswith(t["process"]["name"][:15]) or p["exited"], t)
        # every event sits on a declared track
        declared = {int(u) for u in self.trace["tracks"]}
        for e in self.trace["events"]:
            self.assertIn(e["track"], declared, e)
        # monotonic timestamps tied to BOOTTIME by a snapshot
        self.assertEqual(self.trace["defaults_clock"], 3)
        self.assertEqual({c["id"] for c in self.trace["clocks"]}, {3, 6})

    def test_slices_match_the_report(self):
        sl = [s for s in self.slices() if s["type"] == "TYPE_SLICE_BEGIN"]
        by_cat = collections.defaultdict(list)
        for s in sl:
            by_cat[s["cats"][0]].append(s)
        tot = self.rep["totals"]
        self.assertEqual(len(by_cat["serialize"]), tot["serialize_calls"])
        self.assertEqual(len(by_cat["deserialize"]), tot["deserialize_calls"])
        self.assertEqual(len(by_cat["ipc"]), tot["ipc_calls"])
        self.assertEqual(len(by_cat["fork"]), tot["fork_calls"])
        for c in self.rep["channels"]:
            mine = [s for s in by_cat["ipc"] if s["args"]["channel"] == c["name"]]
            self.assertEqual(sum(s["args"]["bytes"] for s in mine
                                 if s["name"].startswith("write")), c["bytes_written"], c["name"])
            self.assertEqual(sum(s["args"]["bytes"] for s in mine
                                 if s["name"].startswith("read")), c["bytes_read"], c["name"])
        # blocked intervals nest inside the IPC call that blocked
        for b in by_cat["blocked"]:
            self.assertGreater(b["depth"], 0, b)
        # the pickled list: one serializer call in the feeder, named by the
        # line that called put() (call sites), the writes of it inside it
        ser = by_cat["serialize"]
        self.assertEqual(len(ser), 1)
        self.assertIn("seed_transfer.py:", ser[0]["name"])
        self.assertIn("call_site", ser[0]["args"])
        inside = [s for s in by_cat["ipc"] if s["track"] == ser[0]["track"]
                  and ser[0]["ts"] <= s["ts"] and s["end"] <= ser[0]["end"]]
        self.assertTrue(all(s["depth"] == ser[0]["depth"] + 1 for s in inside))

    def test_flows_go_from_each_write_to_the_read_of_its_first_byte(self):
        evs = self.slices()
        ipc = [s for s in evs if s["type"] == "TYPE_SLICE_BEGIN" and s["cats"] == ["ipc"]]
        starts = {}
        ends = {}
        for e in evs:
            for f in e.get("flow_ids", []):
                self.assertNotIn(f, starts)
                starts[f] = e
            for f in e.get("terminating_flow_ids", []):
                self.assertNotIn(f, ends)
                ends[f] = e
        self.assertTrue(starts)
        self.assertEqual(set(starts), set(ends), "every flow has both ends")
        for f, s in starts.items():
            r = ends[f]
            self.assertLess(s["ts"], r["ts"], "a flow runs forward in time")
            w, rd = s["parent"], r["parent"]
            self.assertTrue(w["name"].startswith("write ") and rd["name"].startswith("read "))
            self.assertEqual(w["args"]["channel"], rd["args"]["channel"])
        # on a channel whose every byte was read while traced, each write
        # has its arrow (the Queue's pipe: the child reads all)
        for c in self.rep["channels"]:
            if not c["bytes_written"] or c["bytes_read"] != c["bytes_written"]:
                continue
            writes = [s for s in ipc if s["args"]["channel"] == c["name"]
                      and s["name"].startswith("write") and s["args"]["bytes"] > 0]
            arrows = [f for f, s in starts.items() if s["parent"]["args"]["channel"] == c["name"]]
            self.assertEqual(len(arrows), len(writes), c["name"])

    def test_counter_tracks_sum_to_the_report(self):
        counters = self.tracks("counter")
        points = collections.defaultdict(list)
        for e in self.trace["events"]:
            if e["type"] == "TYPE_COUNTER":
                points[e["track"]].append((e["ts"], e["value"]))

        def total(uuid):
            # each non-zero point lasts one bucket (then the next point or a 0)
            pts = sorted(points[uuid])
            for (t0, v), (t1, _) in zip(pts, pts[1:]):
                if v:
                    self.assertEqual(t1 - t0, int(BUCKET_S * 1e9))
            self.assertEqual(pts[-1][1], 0.0)
            return sum(v for _, v in pts) * BUCKET_S

        chans = {c["name"]: c for c in self.rep["channels"]}
        seen = 0
        for uuid, t in counters.items():
            if t["counter"]["unit_name"] != "bytes/s":
                continue
            name, direction = t["name"].rsplit(" ", 1)
            want = chans[name]["bytes_written" if direction == "written" else "bytes_read"]
            self.assertAlmostEqual(total(uuid), want, delta=want * 1e-9 + 1e-6)
            seen += 1
        self.assertEqual(seen, sum((c["bytes_written"] > 0) + (c["bytes_read"] > 0)
                                   for c in self.rep["channels"]))
        # page faults per process: the kernel's exact counts, bucketed
        faults = {p["pid"]: p["faults_cow"] + p["faults_first_touch"] + p["faults_other"]
                  for p in self.rep["processes"]}
        procs = self.tracks("process")
        n = 0
        for uuid, t in counters.items():
            if t["counter"]["unit_name"] == "faults/s":
                pid = procs[t["parent"]]["process"]["pid"]
                self.assertAlmostEqual(total(uuid), faults[pid], delta=1e-6)
                n += 1
        self.assertEqual(n, sum(1 for v in faults.values() if v))

    def test_streamed_and_compact(self):
        # interned names: far smaller than the Chrome JSON of the same run
        # would be (~200 bytes per slice there); < 60 bytes per event here
        self.assertLess(self.size, 60 * len(self.trace["events"]) + 20000)


if __name__ == "__main__":
    unittest.main()
