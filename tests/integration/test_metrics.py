"""attach --metrics / --metrics-file: scraped over HTTP with curl while a
fixture moves a known number of bytes, parsed with python3-prometheus-client
(Prometheus text and strict OpenMetrics) and checked with `promtool check
metrics`; then the seed Queue experiment, whose final metrics file must
equal the JSON report of the same attach."""
import json
import os
import re
import signal
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from helpers import BPFTestCase, IPCPROF, PYTHON, SEED

PARSE = os.path.join(os.path.dirname(__file__), "metrics_parse.py")
SYSTEM_PYTHON = "/usr/bin/python3"
CHUNK, CHUNKS = 4096, 100

# writes CHUNKS x CHUNK bytes into a pipe its child drains, once told to
MOVER = textwrap.dedent("""
    import os, sys, time
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(w)
        while os.read(r, 65536):
            pass
        os._exit(0)
    os.close(r)
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range({n}):
        os.write(w, b"x" * {size})
    print("written", flush=True)
    sys.stdin.readline()
    os.close(w)
    os.wait()
""").format(n=CHUNKS, size=CHUNK)


def parse(text, fmt):
    r = subprocess.run([SYSTEM_PYTHON, PARSE, fmt], input=text, capture_output=True, text=True,
                       timeout=60)
    if r.returncode:
        raise AssertionError(f"{fmt} parser rejected it: {r.stderr}\n{text}")
    return json.loads(r.stdout)


def curl(url, openmetrics=False):
    hdr = ["-H", "Accept: application/openmetrics-text; version=1.0.0"] if openmetrics else []
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "-D", "-", *hdr, url],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition("\n\n")  # text mode: \r\n read as \n
    assert body, r.stdout
    return head, body


def samples(parsed, name):
    return [s for s in parsed if s["name"] == name]


def promtool(test, text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    test.assertEqual(r.returncode, 0, r.stdout + r.stderr)


@unittest.skipUnless(os.path.exists(SYSTEM_PYTHON) and shutil.which("curl")
                     and shutil.which("promtool"),
                     "curl, promtool or python3-prometheus-client missing (make deps)")
def stop(proc, sig=signal.SIGINT):
    """At a test's end, a process still running (the test failed midway) is
    stopped: ipcprof detaches on SIGINT; nothing is left for the next test."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Metrics(BPFTestCase):
    def attach(self, pid, tmp, *extra):
        # appending: the child shares this file's offset, and our seek(0)
        # before each read would otherwise make its next line overwrite the
        # first ("serving metrics at ..." lost under "tracing ...")
        err = open(os.path.join(tmp, "stderr"), "a+")
        p = subprocess.Popen([IPCPROF, "attach", "-p", str(pid), "--metrics", "0",
                              "--format", "json", "-o", os.path.join(tmp, "report.json"),
                              *extra], stderr=err)
        self.addCleanup(stop, p)
        url = None
        for _ in range(600):
            err.seek(0)
            m = re.search(r"serving metrics at (\S+)", err.read())
            err.seek(0)
            if m and "tracing" in err.read():
                url = m.group(1)
                break
            if p.poll() is not None:
                break
            time.sleep(0.1)
        err.seek(0)
        self.assertIsNotNone(url, err.read())
        self.assertTrue(url.startswith("http://127.0.0.1:"), url)  # localhost by default
        return p, url

    def test_counters_match_the_bytes_moved_and_only_grow(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        mover = subprocess.Popen([PYTHON, "-c", MOVER], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        self.addCleanup(stop, mover, signal.SIGKILL)
        self.assertEqual(mover.stdout.readline().strip(), "ready")
        prom = os.path.join(tmp, "ipcprof.prom")
        ipc, url = self.attach(mover.pid, tmp, "--metrics-file", prom)
        try:
            _, before = curl(url)
            mover.stdin.write("go\n")
            mover.stdin.flush()
            self.assertEqual(mover.stdout.readline().strip(), "written")
            time.sleep(0.3)  # scrapes within 100 ms of the last share its snapshot
            head, after = curl(url)
            self.assertIn("text/plain; version=0.0.4", head)
            om_head, om = curl(url, openmetrics=True)
            self.assertIn("application/openmetrics-text", om_head)
            nope = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                   url.replace("/metrics", "/nope")], capture_output=True,
                                  text=True, timeout=30)
            self.assertEqual(nope.stdout, "404")
            # a page whose name was rebound to 127.0.0.1 must not read them
            rebound = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                      "-H", "Host: attacker.example:80", url],
                                     capture_output=True, text=True, timeout=30)
            self.assertEqual(rebound.stdout, "421")
            port = url.split(":")[2].split("/")[0]
            named = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                    "-H", f"Host: localhost:{port}", url],
                                   capture_output=True, text=True, timeout=30)
            self.assertEqual(named.stdout, "200")
        finally:
            mover.stdin.write("end\n")
            mover.stdin.flush()
            mover.wait(timeout=30)
        self.assertEqual(ipc.wait(timeout=60), 0)
        final = open(prom).read()
        for text in (before, after, final):
            promtool(self, text)
        p0, p1, pf = parse(before, "text"), parse(after, "text"), parse(final, "text")
        self.assertTrue(om, om_head)
        parse(om, "openmetrics")  # strict: raises on any violation
        self.assertTrue(om.endswith("# EOF\n"))

        def by_labels(parsed, name):
            return {json.dumps(s["labels"], sort_keys=True): s["value"]
                    for s in samples(parsed, name)}

        # exactly the bytes the fixture wrote, read by its child, after the
        # writes (its "written" line to us is a pipe too: another channel)
        moved = CHUNKS * CHUNK
        b1 = samples(p1, "ipcprof_ipc_bytes_total")
        chans = {}
        for s in b1:
            chans.setdefault(s["labels"]["channel"], {})[s["labels"]["direction"]] = s
        both = [c for c in chans.values() if "read" in c and "write" in c]
        self.assertEqual(len(both), 1, chans)
        self.assertEqual(both[0]["write"]["value"], moved)
        self.assertEqual(both[0]["read"]["value"], moved)
        self.assertEqual(both[0]["write"]["labels"]["pid"], str(mover.pid))
        calls = by_labels(p1, "ipcprof_ipc_calls_total")
        self.assertEqual(calls[json.dumps(both[0]["write"]["labels"], sort_keys=True)], CHUNKS)
        # counters only grow, scrape to scrape to the final file
        for name in ("ipcprof_ipc_bytes_total", "ipcprof_ipc_calls_total",
                     "ipcprof_phase_seconds_total", "ipcprof_page_faults_total",
                     "ipcprof_measured_seconds_total"):
            a, b, c = by_labels(p0, name), by_labels(p1, name), by_labels(pf, name)
            for k, v in a.items():
                if k in b:
                    self.assertGreaterEqual(b[k], v, (name, k))
            for k, v in b.items():
                if k in c:
                    self.assertGreaterEqual(c[k], v, (name, k))
        # every family has HELP and TYPE (promtool checked the rest)
        for fam in ("ipcprof_phase_seconds", "ipcprof_measured_seconds", "ipcprof_ipc_bytes",
                    "ipcprof_ipc_calls",
                    "ipcprof_page_faults", "ipcprof_lost_events"):
            self.assertIn(f"# TYPE {fam} counter", om)
            self.assertIn(f"# HELP {fam}_total ", final)

    def test_seed_queue_final_metrics_equal_the_report(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        # the seed's Queue experiment, started once ipcprof is attached
        go = os.path.join(tmp, "go")
        prog = subprocess.Popen([PYTHON, "-c", textwrap.dedent(f"""
            import os, runpy, sys, time
            while not os.path.exists({go!r}):
                time.sleep(0.05)
            sys.argv = [{SEED!r}, "queue", "--repeats", "2"]
            runpy.run_path({SEED!r}, run_name="__main__")
        """)], stdout=subprocess.DEVNULL)
        self.addCleanup(stop, prog, signal.SIGKILL)
        prom = os.path.join(tmp, "ipcprof.prom")
        ipc, url = self.attach(prog.pid, tmp, "--metrics-file", prom)
        open(go, "w").close()
        self.assertEqual(prog.wait(timeout=120), 0)
        self.assertEqual(ipc.wait(timeout=60), 0)
        rep = json.load(open(os.path.join(tmp, "report.json")))
        final = open(prom).read()
        promtool(self, final)
        pf = parse(final, "text")
        b = samples(pf, "ipcprof_ipc_bytes_total")
        tot = rep["totals"]
        self.assertEqual(sum(s["value"] for s in b if s["labels"]["direction"] == "write"),
                         tot["bytes_written"])
        self.assertEqual(sum(s["value"] for s in b if s["labels"]["direction"] == "read"),
                         tot["bytes_read"])
        calls = samples(pf, "ipcprof_ipc_calls_total")
        self.assertEqual(sum(s["value"] for s in calls), tot["ipc_calls"])
        for ph in ("serialize", "deserialize", "blocked"):
            got = sum(s["value"] for s in samples(pf, "ipcprof_phase_seconds_total")
                      if s["labels"]["phase"] == ph)
            self.assertAlmostEqual(got, tot[f"{ph}_ns"] / 1e9, delta=1e-6 * len(rep["processes"]))
        # the exact amounts, as the report's breakdown has them
        for q, e in tot["breakdown"].items():
            if q in ("compute", "faults_elsewhere", "other"):
                continue
            got = sum(s["value"] for s in samples(pf, "ipcprof_measured_seconds_total")
                      if s["labels"]["quantity"] == q)
            self.assertTrue(e["exact"], q)
            self.assertAlmostEqual(got, e["ns"] / 1e9, delta=1e-6 * len(rep["processes"]))
        self.assertGreater(tot["breakdown"]["ipc_oncpu"]["ns"], 0)
        faults = sum(s["value"] for s in samples(pf, "ipcprof_page_faults_total"))
        self.assertEqual(faults, sum(tot[k] for k in ("faults_cow", "faults_first_touch",
                                                      "faults_other")))

    def test_bad_address_is_a_usage_error(self):
        r = subprocess.run([IPCPROF, "attach", "-p", str(os.getpid()), "--metrics", "nohost:x"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = subprocess.run([IPCPROF, "run", "--metrics", "9464", "--", "true"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 64, r.stderr)  # argp's usage status


if __name__ == "__main__":
    unittest.main()
