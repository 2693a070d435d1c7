#!/usr/bin/env python3
"""Per-call cost of tracing: 1M small pipe writes and reads (64 B each).

Runs .output/fixtures/pipe_flood untraced, under ipcprof (in-kernel
aggregation), and under ipcprof --timeline (one ring-buffer record per
call), interleaved, --rounds times. Reports the medians, ns added per IPC
syscall, and how many calls per second each mode accounted.

usage: scripts/bench/percall.py [--rounds N] [--calls N]   (root, after make)
"""
import argparse
import os
import statistics
import subprocess
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FLOOD = os.path.join(ROOT, ".output/fixtures/pipe_flood")
IPCPROF = os.path.join(ROOT, "ipcprof")


def run(prefix, n):
    out = subprocess.run(prefix + [FLOOD, str(n), "64"], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[1]), int(out[3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=1_000_000, help="writes (and as many reads)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        modes = [("untraced", []),
                 ("ipcprof", [IPCPROF, "run", "-o", "/dev/null", "--"]),
                 ("ipcprof --timeline", [IPCPROF, "run", "-o", "/dev/null", "--timeline",
                                         os.path.join(d, "t.json"), "--"])]
        times = {m: [] for m, _ in modes}
        calls = 0
        for _ in range(args.rounds):
            for name, prefix in modes:
                calls, ns = run(prefix, args.calls)
                times[name].append(ns)
    base = statistics.median(times["untraced"])
    print("| mode | median time | ns added per IPC call | IPC calls accounted per second |")
    print("|---|---|---|---|")
    for name, _ in modes:
        med = statistics.median(times[name])
        added = (med - base) / calls if name != "untraced" else 0
        rate = calls / (med / 1e9)
        print(f"| {name} | {med / 1e6:.1f} ms | {added:.0f} | {rate / 1e6:.2f} M |")
    print(f"\n{calls:,} IPC syscalls per run ({args.calls:,} writes + reads of 64 B), "
          f"{args.rounds} interleaved rounds, medians.")


if __name__ == "__main__":
    main()
