"""record / report / compare on real traces."""
import json
import re
import os
import subprocess
import tempfile

from helpers import BPFTestCase, IPCPROF, fixture


def ipcprof(*args):
    return subprocess.run([IPCPROF, *args], capture_output=True, text=True, timeout=120)


class Recordings(BPFTestCase):
    def test_report_prints_what_the_live_run_printed(self):
        with tempfile.TemporaryDirectory() as d:
            for fmt in ("text", "json", "csv"):
                with self.subTest(fmt=fmt):
                    rec = os.path.join(d, f"{fmt}.ipcp")
                    live = ipcprof("record", "--format", fmt, "-o", rec, "--",
                                   fixture("ipc_bytes"), "socketpair", "300000", "4096")
                    self.assertEqual(live.returncode, 0, live.stderr)
                    self.assertIn(f"to {rec}", live.stderr)
                    again = ipcprof("report", "--format", fmt, rec)
                    self.assertEqual(again.returncode, 0, again.stderr)
                    # the command's own output line precedes the report
                    self.assertTrue(live.stdout.endswith(again.stdout))
                    self.assertGreater(len(again.stdout), 100)

    def test_compare_two_recordings(self):
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a.ipcp"), os.path.join(d, "b.ipcp")
            for path, n in ((a, "100000"), (b, "400000")):
                # stdout to a file: the fixture's own printf is then no IPC
                with open(os.path.join(d, "out"), "w") as out:
                    r = subprocess.run([IPCPROF, "record", "-o", path, "--format", "csv", "--",
                                        fixture("ipc_bytes"), "pipe", n, "1000"],
                                       stdout=out, stderr=subprocess.PIPE, text=True,
                                       timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr)
            r = ipcprof("compare", "--format", "json", a, b)
            self.assertEqual(r.returncode, 0, r.stderr)
            cmp = json.loads(r.stdout)
            self.assertEqual(cmp["a_values"]["bytes written"], 100000)
            self.assertEqual(cmp["b_values"]["bytes written"], 400000)
            self.assertAlmostEqual(cmp["ratio_b_over_a"]["bytes written"], 4.0)
            text = ipcprof("compare", a, b).stdout
            self.assertRegex(text, r"\nbytes written +100\.0 kB +400\.0 kB +4\.00x\n")

    def test_damaged_recording_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as d:
            rec = os.path.join(d, "r.ipcp")
            r = ipcprof("record", "-o", rec, "--", "true")
            self.assertEqual(r.returncode, 0, r.stderr)
            data = open(rec, "rb").read()
            open(rec, "wb").write(data[: len(data) // 2])
            r = ipcprof("report", rec)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.strip().count("\n"), 0)
            self.assertIn("truncated or corrupt recording", r.stderr)


class Svg(BPFTestCase):
    def test_svg_renders_and_shows_every_process(self):
        with tempfile.TemporaryDirectory() as d:
            svg, png = os.path.join(d, "r.svg"), os.path.join(d, "r.png")
            r = ipcprof("run", "--svg", svg, "--format", "json", "--",
                        fixture("ipc_bytes"), "pipe", "2000000", "65536", "50")
            self.assertEqual(r.returncode, 0, r.stderr)
            rep = json.loads(r.stdout[r.stdout.index("{"):])
            text = open(svg).read()
            for p in rep["processes"]:
                self.assertIn(f">{p['pid']} {p['comm']}</text>", text)
            self.assertIn(f"{rep['channels'][0]['name']} 2.00 MB", text)
            # the legend: one entry per top-level quantity of the breakdown,
            # each with its method, the sampled ones marked "~"
            legend = re.findall(r'<text x="\d+" y="\d+">(~?)([^<(]+) \(([^)]*)\)</text>', text)
            breakdown = rep["totals"]["breakdown"]
            self.assertEqual(len(legend), len(breakdown), legend)
            self.assertEqual([m for _, _, m in legend],
                             [e["method"] for e in breakdown.values()])
            self.assertEqual([t == "~" for t, _, _ in legend],
                             [not e["exact"] and e["available"] for e in breakdown.values()])
            # a real renderer must accept it
            subprocess.run(["rsvg-convert", "-o", png, svg], check=True)
            with open(png, "rb") as f:
                head = f.read(24)
            self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
            self.assertEqual(int.from_bytes(head[16:20], "big"), 960)


class Timeline(BPFTestCase):
    def check_trace_event_format(self, tl):
        """The Trace Event Format as Perfetto and chrome://tracing read it."""
        self.assertIsInstance(tl["traceEvents"], list)
        flows = {}
        for e in tl["traceEvents"]:
            self.assertIn(e["ph"], ("X", "M", "s", "f"), e)
            self.assertIsInstance(e["pid"], int)
            self.assertIsInstance(e["tid"], int)
            self.assertIsInstance(e["name"], str)
            if e["ph"] == "X":
                self.assertGreaterEqual(e["ts"], 0)
                self.assertGreaterEqual(e["dur"], 0)
            elif e["ph"] == "M":
                self.assertIn(e["name"], ("process_name", "thread_name"))
                self.assertIsInstance(e["args"]["name"], str)
            else:
                flows.setdefault(e["id"], {})[e["ph"]] = e
        for fid, pair in flows.items():
            self.assertEqual(set(pair), {"s", "f"}, fid)
            self.assertLess(pair["s"]["ts"], pair["f"]["ts"])
            self.assertEqual(pair["f"]["bp"], "e")
        return flows

    def test_timeline_matches_the_report(self):
        with tempfile.TemporaryDirectory() as d:
            tl_path = os.path.join(d, "t.json")
            exe = fixture("serializer")
            r = ipcprof("run", "--timeline", tl_path, "--format", "json",
                        "--uprobe", f"{exe}:encode_record=serialize",
                        "--uprobe", f"{exe}:decode_record=deserialize", "--", exe, "10", "500")
            self.assertEqual(r.returncode, 0, r.stderr)
            rep = json.loads(r.stdout[r.stdout.index("{\n"):])
            tl = json.load(open(tl_path))
        flows = self.check_trace_event_format(tl)
        xs = [e for e in tl["traceEvents"] if e["ph"] == "X"]
        by_cat = {}
        for e in xs:
            by_cat.setdefault(e["cat"], []).append(e)
        tot = rep["totals"]
        self.assertEqual(len(by_cat["serialize"]), tot["serialize_calls"])
        self.assertEqual(len(by_cat["deserialize"]), tot["deserialize_calls"])
        self.assertEqual(len(by_cat["ipc"]), tot["ipc_calls"])
        for c in rep["channels"]:
            mine = [e for e in by_cat["ipc"] if e["args"]["channel"] == c["name"]]
            self.assertEqual(sum(e["args"]["bytes"] for e in mine if e["name"].startswith("write")),
                             c["bytes_written"])
            self.assertEqual(sum(e["args"]["bytes"] for e in mine if e["name"].startswith("read")),
                             c["bytes_read"])
        # every 4 KiB record written into the pipe is read back: 10 arrows
        self.assertEqual(len(flows), 10)
        # each IPC call sits inside the serializer call that made it
        ser = by_cat["serialize"]
        writes = [e for e in by_cat["ipc"] if e["name"].startswith("write pipe")
                  and e["args"]["bytes"] == 4096]
        self.assertEqual(len(writes), 10)
        for w in writes:
            self.assertTrue(any(s["ts"] <= w["ts"] and w["ts"] + w["dur"] <= s["ts"] + s["dur"]
                                for s in ser), w)
        names = {e["args"]["name"] for e in tl["traceEvents"] if e["name"] == "process_name"}
        self.assertIn(f"{rep['processes'][0]['pid']} serializer", names)
