"""TCP and UDP between local processes: channels per direction of a flow,
exact bytes against what the fixture moved, both ends joined; traffic to
another host is never IPC."""
import json
import os
import socket
import subprocess
import tempfile

from helpers import BPFTestCase, IPCPROF, fixture, run_traced

TCP_BYTES = 4_400_000
CHUNK = 65536
REPLY = 1000


def host_address():
    """One of this host's own non-loopback IPv4 addresses, or None: the
    source address the kernel picks towards the outside (no packet sent)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("198.51.100.1", 9))
        addr = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if addr.startswith("127.") else addr


def show(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Inet(BPFTestCase):
    def flows(self, t, kind):
        return {(c["name"]): c for c in t.report["channels"] if c["kind"] == kind}

    def check_flow(self, t, kind, host, truth, src, dst, moved, calls=None):
        """The channel src -> dst carried `moved` bytes, written by the
        sending pid and read by the other."""
        name = f"{kind}:{show(host, truth[src + '_port'])}->{show(host, truth[dst + '_port'])}"
        flows = self.flows(t, kind)
        self.assertIn(name, flows, list(flows))
        c = flows[name]
        self.assertEqual(c["bytes_written"], moved, name)
        self.assertEqual(c["bytes_read"], moved, name)
        self.assertEqual(c["writers"], [truth[src]], name)
        self.assertEqual(c["readers"], [truth[dst]], name)
        if calls is not None:
            self.assertEqual(c["write_calls"], calls, name)
            self.assertEqual(c["read_calls"], calls, name)
        return c

    def tcp(self, args, host):
        t = run_traced([fixture("inet_bytes"), *args, str(TCP_BYTES), str(CHUNK), str(REPLY)])
        truth = json.loads(t.stdout)
        self.assertEqual(truth["child_to_parent"], TCP_BYTES)
        self.check_flow(t, "tcp", host, truth, "child", "parent", TCP_BYTES)
        self.check_flow(t, "tcp", host, truth, "parent", "child", REPLY)
        self.assertEqual(len(self.flows(t, "tcp")), 2, list(self.flows(t, "tcp")))
        # both processes' totals hold the flow's bytes
        child, parent = t.proc(truth["child"]), t.proc(truth["parent"])
        self.assertEqual(child["bytes_written"], TCP_BYTES)
        self.assertEqual(parent["bytes_read"], TCP_BYTES)

    def test_tcp_over_ipv4_loopback(self):
        self.tcp(["tcp4"], "127.0.0.1")

    def test_tcp_over_ipv6_loopback(self):
        self.tcp(["tcp6"], "::1")

    def test_tcp_to_this_hosts_own_address(self):
        addr = host_address()
        if not addr:
            self.skipTest("no non-loopback IPv4 address on this host")
        self.tcp(["tcp-at", addr], addr)

    def udp(self, mode, host):
        count, size = 400, 1400
        t = run_traced([fixture("inet_bytes"), mode, str(count), str(size)])
        truth = json.loads(t.stdout)
        self.assertEqual(truth["child_to_parent"], count * size)
        # sendto -> recvfrom: every datagram, its size exactly
        self.check_flow(t, "udp", host, truth, "child", "parent", count * size, calls=count)
        # the 1-byte acknowledgements, read by recv() without an address
        self.check_flow(t, "udp", host, truth, "parent", "child", count, calls=count)

    def test_udp_over_ipv4_loopback(self):
        self.udp("udp4", "127.0.0.1")

    def test_udp_over_ipv6_loopback(self):
        self.udp("udp6", "::1")

    def test_another_host_is_not_ipc(self):
        t = run_traced([fixture("inet_bytes"), "udp-remote", "50", "100"])
        if not json.loads(t.stdout)["sent"]:
            self.skipTest("no route to another host here: nothing left")
        kinds = {c["kind"] for c in t.report["channels"]}
        self.assertFalse(kinds & {"tcp", "udp"}, t.report["channels"])
        (p,) = t.procs
        # 100 datagrams of 100 bytes left it (stdout is a file): none counted
        self.assertEqual(p["bytes_written"], 0)

    def test_recording_keeps_the_flows(self):
        """A recording read back names each flow by its addresses, as the
        live report did."""
        with tempfile.TemporaryDirectory() as d:
            rec = os.path.join(d, "t.ipcp")
            with open(os.path.join(d, "out"), "w") as out:
                r = subprocess.run([IPCPROF, "record", "-o", rec, "--", fixture("inet_bytes"),
                                    "tcp4", "100000", "4096", "10"], stdout=out,
                                   stderr=subprocess.PIPE, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(d, "out")) as f:
                truth = json.loads(f.readline())
            j = subprocess.run([IPCPROF, "report", "--format", "json", rec], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(j.returncode, 0, j.stderr)
        flows = {c["name"]: c for c in json.loads(j.stdout)["channels"] if c["kind"] == "tcp"}
        name = f"tcp:127.0.0.1:{truth['child_port']}->127.0.0.1:{truth['parent_port']}"
        self.assertIn(name, flows, list(flows))
        self.assertEqual(flows[name]["src"], f"127.0.0.1:{truth['child_port']}")
        self.assertEqual(flows[name]["bytes_read"], 100000)
