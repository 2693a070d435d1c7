#!/usr/bin/env python3
"""Is inheriting data by fork free? Trace 'inherit' (the child only looks at
the list) and 'inherit-iterate' (the child iterates over it) and show the
child's copy-on-write faults. Medians over --runs traced runs of each.

usage: scripts/bench/inherit_touch.py [--runs N]   (as root, after make)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def trace(kind):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        cmd = subprocess.run([os.path.join(ROOT, "ipcprof"), "run", "--format", "json", "-o", out,
                              "--", sys.executable,
                              os.path.join(ROOT, "scripts/bench/seed_transfer.py"), kind],
                             capture_output=True, text=True, check=True)
        rep = json.load(open(out))
    secs = json.loads(cmd.stdout)["seconds"]
    root = [p for p in rep["processes"] if p["ppid"] not in {q["pid"] for q in rep["processes"]}][0]
    child = [p for p in rep["processes"] if p["ppid"] == root["pid"]][0]
    return secs, child


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"{'experiment':18}{'transfer':>10}{'child CoW':>11}{'child faults':>14}{'child wall':>12}")
    for kind in ("inherit", "inherit-iterate"):
        runs = [trace(kind) for _ in range(args.runs)]
        secs = statistics.median(r[0] for r in runs)
        cow = statistics.median(r[1]["faults_cow"] for r in runs)
        fault_ms = statistics.median(r[1]["fault_ns"] for r in runs) / 1e6
        wall_ms = statistics.median(r[1]["wall_ns"] for r in runs) / 1e6
        print(f"{kind:18}{secs * 1e3:8.1f}ms{cow:11.0f}{fault_ms:12.1f}ms{wall_ms:10.1f}ms")
    print(f"(medians of {args.runs} traced runs each)")


if __name__ == "__main__":
    main()
