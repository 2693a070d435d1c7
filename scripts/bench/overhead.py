#!/usr/bin/env python3
"""What does tracing cost the traced program? Interleaved A/B runs.

For each workload the same command runs untraced, under ipcprof, under
`strace -f -c` and under `perf trace -s` (when installed), in turn, --pairs
times (A/B/C/D, A/B/C/D, ...). The metric is the workload's own in-process
timing of its transfers (so tool start-up is not counted); the table gives
medians and the median of the per-round ratios traced/untraced.

usage: scripts/bench/overhead.py [--pairs N] [--markdown]   (root, after make)
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEED = os.path.join(ROOT, "scripts/bench/seed_transfer.py")
FLOOD = os.path.join(ROOT, ".output/fixtures/pipe_flood")

# name, command, how to read the workload's own time (ns) from its stdout
WORKLOADS = [
    ("inherit x20", [sys.executable, SEED, "inherit", "--repeats", "20"], "seconds"),
    ("argument x20", [sys.executable, SEED, "argument", "--repeats", "20"], "seconds"),
    ("queue x5", [sys.executable, SEED, "queue", "--repeats", "5"], "seconds"),
    ("pipe x5", [sys.executable, SEED, "pipe", "--repeats", "5"], "seconds"),
    ("pool 100 MB", [sys.executable, SEED, "pool"], "seconds"),
    ("pipe_flood 200k x 64 B", [FLOOD, "100000", "64"], "flood"),
]


def tools():
    t = [("untraced", []),
         ("ipcprof", [os.path.join(ROOT, "ipcprof"), "run", "-o", "/dev/null", "--"])]
    if shutil.which("strace"):
        t.append(("strace -f -c", ["strace", "-f", "-c", "-o", "/dev/null"]))
    if shutil.which("perf") and subprocess.run(["perf", "trace", "-s", "true"],
                                               capture_output=True).returncode == 0:
        t.append(("perf trace -s", ["perf", "trace", "-s", "-o", "/dev/null"]))
    return t


def own_time(out, how):
    if how == "flood":
        return int(out.split()[3])
    return sum(json.loads(line)["seconds"] * 1e9 for line in out.splitlines()
               if line.startswith("{"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    ts = tools()
    names = [n for n, _ in ts]
    rows = []
    for wname, cmd, how in WORKLOADS:
        times = {n: [] for n in names}
        for _ in range(args.pairs):
            for tname, prefix in ts:
                r = subprocess.run(prefix + cmd, capture_output=True, text=True, check=True)
                times[tname].append(own_time(r.stdout, how))
        base = times["untraced"]
        ratios = {n: statistics.median(t / b for t, b in zip(times[n], base)) for n in names}
        rows.append((wname, {n: statistics.median(times[n]) for n in names}, ratios))
        print(f"done: {wname}", file=sys.stderr)
    head = ["workload"] + [f"{n} (median)" for n in names] + \
        [f"{n} / untraced" for n in names[1:]]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for wname, med, ratio in rows:
        cells = [wname] + [f"{med[n] / 1e6:.1f} ms" for n in names] + \
            [f"{ratio[n]:.3f}" for n in names[1:]]
        print("| " + " | ".join(cells) + " |")
    print(f"\n{args.pairs} interleaved rounds per workload; times are the workload's own "
          "in-process measurement of its transfers.")


if __name__ == "__main__":
    main()
