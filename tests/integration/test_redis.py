"""A real server no one here wrote: Redis (Debian's redis-server) attached
while redis-benchmark drives it over its unix socket and over TCP on
127.0.0.1. The truth is Redis's own counters (INFO stats)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from helpers import BPFTestCase, IPCPROF

SERVER = shutil.which("redis-server")
BENCH = shutil.which("redis-benchmark")
CLI = shutil.which("redis-cli")
REQUESTS = 20000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis(BPFTestCase):
    def setUp(self):
        super().setUp()
        if not (SERVER and BENCH and CLI):
            self.skipTest("redis-server, redis-benchmark or redis-cli not installed (make deps)")
        self.dir = tempfile.TemporaryDirectory()
        self.sock = os.path.join(self.dir.name, "redis.sock")
        self.port = free_port()
        self.server = subprocess.Popen(
            [SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--unixsocket", self.sock,
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir",
             self.dir.name, "--daemonize", "no", "--io-threads", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while self.cli("PING") != "PONG":
            self.assertLess(time.monotonic(), deadline, "redis-server did not start")
            time.sleep(0.05)

    def tearDown(self):
        if hasattr(self, "server"):
            self.server.terminate()
            self.server.wait(20)
            self.dir.cleanup()
        super().tearDown()

    def cli(self, *args):
        r = subprocess.run([CLI, "-s", self.sock, *args], capture_output=True, text=True,
                           timeout=20)
        return r.stdout.strip()

    def net_bytes(self):
        """Redis's own count of bytes read from and written to clients."""
        stats = dict(line.split(":", 1) for line in self.cli("INFO", "stats").splitlines()
                     if ":" in line)
        return int(stats["total_net_input_bytes"]), int(stats["total_net_output_bytes"])

    def bench(self, *where):
        subprocess.run([BENCH, *where, "-n", str(REQUESTS), "-c", "8", "-d", "256", "-q",
                        "-t", "set,get"], check=True, capture_output=True, timeout=300)

    def test_bytes_match_redis_own_counters(self):
        out = os.path.join(self.dir.name, "report.json")
        in0, out0 = self.net_bytes()
        prof = subprocess.Popen([IPCPROF, "attach", "-p", str(self.server.pid), "-d", "300",
                                 "--format", "json", "-o", out],
                                stderr=subprocess.PIPE, text=True)
        self.assertIn("tracing", prof.stderr.readline())
        self.bench("-s", self.sock)
        self.bench("-h", "127.0.0.1", "-p", str(self.port))
        prof.send_signal(signal.SIGINT)
        self.assertEqual(prof.wait(60), 0, prof.stderr.read())
        in1, out1 = self.net_bytes()
        with open(out) as f:
            rep = json.load(f)
        (srv,) = [p for p in rep["processes"] if p["pid"] == self.server.pid]
        # the first INFO's reply and the second INFO's request fall between
        # the counters and outside the window: a few kB of tens of MB
        self.assertAlmostEqual(srv["bytes_read"], in1 - in0, delta=0.01 * (in1 - in0))
        self.assertAlmostEqual(srv["bytes_written"], out1 - out0, delta=0.01 * (out1 - out0))
        by_kind = {}
        for c in rep["channels"]:
            for e in c["ends"]:
                if e["pid"] == self.server.pid:
                    by_kind.setdefault(c["kind"], [0, 0])[e["dir"] == "write"] += e["bytes"]
        # both halves: the unix socket's and TCP's, each a real share
        for kind in ("unix-stream", "tcp"):
            with self.subTest(kind=kind):
                self.assertIn(kind, by_kind, by_kind)
                read, written = by_kind[kind]
                self.assertGreater(read, 0.3 * (in1 - in0) / 2)
                self.assertGreater(written, 0.3 * (out1 - out0) / 2)
        # TCP peers are redis-benchmark's connections, not traced: named by address
        tcp = [c for c in rep["channels"] if c["kind"] == "tcp"]
        self.assertTrue(all(c["src"].startswith("127.0.0.1:") and
                            c["dst"].startswith("127.0.0.1:") for c in tcp), tcp[:3])
        self.assertTrue(any(c["dst"] == f"127.0.0.1:{self.port}" for c in tcp))
