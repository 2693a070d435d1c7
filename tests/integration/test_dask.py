"""Dask distributed (Debian's python3-distributed): client, scheduler and
two worker processes talk TCP on loopback. Scattering a 40 MiB array to a
worker and gathering a 40 MiB result back moves at least those bytes over
TCP channels between traced processes."""
import json
import os
import subprocess
import unittest

from helpers import BPFTestCase, run_traced

PYTHON = "/usr/bin/python3.11"  # Debian's, with Debian's python3-distributed
ARRAY = 40 << 20

SCRIPT = r"""
import json, os, sys
import numpy as np
from distributed import Client, LocalCluster


def double(x):
    return x * 2


if __name__ == "__main__":
    n = int(sys.argv[1])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        a = np.ones(n // 8)
        back = client.submit(double, client.scatter(a)).result()
        assert back.nbytes == a.nbytes and back[0] == 2.0
        print(json.dumps({"client": os.getpid(), "moved": a.nbytes + back.nbytes}))
"""


def have_distributed():
    if not os.path.exists(PYTHON):
        return False
    return subprocess.run([PYTHON, "-c", "import distributed, numpy"],
                          capture_output=True).returncode == 0


@unittest.skipUnless(have_distributed(), "python3-distributed not installed (make deps)")
class Dask(BPFTestCase):
    def test_arrays_cross_tcp_between_traced_processes(self):
        t = run_traced([PYTHON, "-c", SCRIPT, str(ARRAY)], timeout=300)
        truth = json.loads(t.stdout.splitlines()[-1])
        traced = {p["pid"] for p in t.procs}
        tcp = [c for c in t.report["channels"] if c["kind"] == "tcp"]
        between = [c for c in tcp if c["writers"] and c["readers"] and
                   set(c["writers"]) <= traced and set(c["readers"]) <= traced]
        self.assertTrue(between, [c["name"] for c in tcp])
        moved = sum(c["bytes_read"] for c in between)
        # the scatter and the result, and Dask's own messages beside them
        self.assertGreaterEqual(moved, truth["moved"], [(c["name"], c["bytes_read"]) for c in between])
        # every byte written on a flow between two traced processes was read
        for c in between:
            with self.subTest(channel=c["name"]):
                self.assertEqual(c["bytes_written"], c["bytes_read"])
        # more than the client: the workers were followed
        self.assertGreaterEqual(len(traced), 3)
