"""--html: the seed Queue experiment's report as a page, rendered by headless
Chromium (a PNG, at desktop and phone widths) and read back from the DOM it
built (--dump-dom): every number equals the JSON report of the same run."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import zlib
from html.parser import HTMLParser

from helpers import BPFTestCase, IPCPROF, PYTHON, ROOT, SEED, run_traced

# the desktop rendering is kept here: docs/img/report-html.png is a copy
SCREENSHOT = os.path.join(ROOT, ".output", "report-html.png")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(tmp, *args):
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={tmp}/profile", *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


class Cells(HTMLParser):
    """Rows of the tables by id: each a dict field -> (data-value or text)."""

    def __init__(self):
        super().__init__()
        self.tables, self.table, self.row, self.cell = {}, None, None, None
        self.text = []
        self.tags = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "table":
            self.table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self.table is not None:
            self.row = {}
        elif tag == "td" and self.row is not None and "data-field" in a:
            self.cell = a
            self.text = []

    def handle_data(self, data):
        if self.cell is not None:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            v = self.cell.get("data-value")
            self.row[self.cell["data-field"]] = int(v) if v is not None else "".join(self.text)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:
                self.table.append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None


def png_size(path):
    """Width, height and the number of distinct byte values in its pixels
    (a blank page has a handful: white and the filter bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    pos, idat = 8, b""
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4:pos + 8] == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    return width, height, len(set(zlib.decompress(idat)))


@unittest.skipUnless(CHROMIUM, "chromium missing (make deps)")
class HtmlReport(BPFTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.page = os.path.join(cls.tmp, "report.html")
        # as a user types it in the source tree (the page's title shows it)
        env = dict(os.environ, PATH=os.path.dirname(PYTHON) + ":" + os.environ["PATH"])
        cls.run_ = run_traced([os.path.basename(PYTHON), os.path.relpath(SEED, ROOT), "queue",
                               "--repeats", "1"], extra=("--html", cls.page), cwd=ROOT, env=env)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.assertEqual(self.run_.rc, 0, self.run_.stderr)
        self.rep = self.run_.report

    def dom(self, page):
        p = Cells()
        p.feed(chromium(self.tmp, "--dump-dom", f"file://{page}"))
        return p

    def test_the_rendered_page_shows_the_reports_numbers(self):
        dom = self.dom(self.page)
        tot = self.rep["totals"]
        phases = {k: v for row in dom.tables["phases"] for k, v in row.items()}
        for ph in ("serialize_ns", "deserialize_ns", "syscall_ns", "blocked_ns", "copy_ns",
                   "fault_ns", "fork_ns", "mmap_ns", "wait_ns", "compute_ns", "other_ns",
                   "thread_ns"):
            self.assertEqual(phases[ph], tot[ph], ph)
        self.assertEqual(phases["method"], self.rep["methods"]["other"])  # the last row's
        procs = {r["pid"]: r for r in dom.tables["processes"]}
        self.assertEqual(set(procs), {p["pid"] for p in self.rep["processes"]})
        for p in self.rep["processes"]:
            row = procs[p["pid"]]
            self.assertEqual(row["comm"], p["comm"])
            for k in ("ppid", "wall_ns", "bytes_written", "bytes_read", "ipc_calls",
                      "faults_cow", "faults_first_touch"):
                self.assertEqual(row[k], p[k], (p["pid"], k))
            for k, e in p["breakdown"].items():
                self.assertEqual(row[f"breakdown.{k}"], e["ns"], (p["pid"], k))
            self.assertEqual(row["breakdown.ipc_oncpu.copy"],
                             p["breakdown"]["ipc_oncpu"]["splits"]["copy"]["ns"])
        # the hierarchy: every exact amount and split as the JSON has it
        entries = {k: v for row in dom.tables["breakdown"] for k, v in row.items()}
        for k, e in tot["breakdown"].items():
            self.assertEqual(entries[k], e["ns"], k)
            for s, se in e.get("splits", {}).items():
                if e["ns"]:
                    self.assertEqual(entries[f"{k}.{s}"], se["ns"], (k, s))
        chans = {r["name"]: r for r in dom.tables["channels"]}
        self.assertEqual(set(chans), {c["name"] for c in self.rep["channels"]})
        for c in self.rep["channels"]:
            for k in ("bytes_written", "bytes_read", "write_calls", "read_calls", "blocked_ns"):
                self.assertEqual(chans[c["name"]][k], c[k], (c["name"], k))
        sites = dom.tables.get("call_sites", [])
        self.assertEqual(len(sites), min(50, len(self.rep["call_sites"])))
        for row, c in zip(sites, self.rep["call_sites"]):
            self.assertEqual(row["site"], f"{c['file']}:{c['line']}")
            self.assertEqual(row["bytes_written"], c["bytes_written"])
            self.assertEqual(row["serialize_ns"], c["serialize_ns"])
        self.assertIn("svg", dom.tags)  # the bars, inline
        for tag in ("script", "link", "img", "iframe"):
            self.assertNotIn(tag, dom.tags)  # self-contained, nothing fetched

    def test_renders_on_a_desktop_and_a_phone(self):
        for w, h in ((1000, 1800), (390, 844)):
            png = os.path.join(self.tmp, f"page-{w}.png")
            chromium(self.tmp, f"--window-size={w},{h}", f"--screenshot={png}",
                     f"file://{self.page}")
            width, height, colours = png_size(png)
            self.assertEqual((width, height), (w, h))
            self.assertGreater(colours, 32, "a blank page")
            if w == 1000 and os.path.isdir(os.path.dirname(SCREENSHOT)):
                shutil.copyfile(png, SCREENSHOT)
        # on a phone only the tables scroll sideways, not the page
        html = open(self.page).read()
        self.assertIn('name="viewport" content="width=device-width', html)
        self.assertIn(".scroll{overflow-x:auto", html)

    def test_report_of_a_recording_is_the_same_page(self):
        rec = os.path.join(self.tmp, "q.ipcp")
        r = subprocess.run([IPCPROF, "record", "-o", rec, "--html",
                            os.path.join(self.tmp, "live.html"), "--", PYTHON, SEED, "queue",
                            "--repeats", "1"], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        again = os.path.join(self.tmp, "again.html")
        r = subprocess.run([IPCPROF, "report", "--html", again, rec], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.dom(again).tables, self.dom(os.path.join(self.tmp, "live.html"))
                         .tables)

    def test_hostile_names_are_text(self):
        name = "<i>x</i>&\"'"
        prog = ("import ctypes, os\n"
                f"ctypes.CDLL(None).prctl(15, {name.encode()!r}, 0, 0, 0)\n"
                "r, w = os.pipe(); os.write(w, b'x'); os.read(r, 1)\n")
        page = os.path.join(self.tmp, "hostile.html")
        t = run_traced([PYTHON, "-c", prog], extra=("--html", page))
        self.assertEqual(t.rc, 0, t.stderr)
        dom = self.dom(page)
        self.assertIn(name, [r["comm"] for r in dom.tables["processes"]])
        self.assertNotIn("i", dom.tags)


if __name__ == "__main__":
    unittest.main()
