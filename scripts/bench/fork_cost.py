#!/usr/bin/env python3
"""What tracing adds to each fork of a probed Python.

A Python holding a list of 1M ints (as the seed experiments do) forks
children that exit at once, one after another, and times each fork + wait
with its own clock; this runs untraced, under ipcprof, and under another
ipcprof build (--baseline) in interleaved rounds. Each child of a probed
process must get its own serializer uprobes before it runs Python code, and
its links are closed again after it exits: this is where that shows.

Prints a Markdown table: per configuration the median over rounds of each
round's median fork + wait, its ratio to untraced in the same round, and
for ipcprof how many children found their uprobes ready at their first
return from fork and how many waited for them (`ipcprof run -v`).

usage: scripts/bench/fork_cost.py [--rounds N] [--forks N] [--baseline PATH]
       (root, after make)
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IPCPROF = os.path.join(ROOT, "ipcprof")

CHILD = """
import os, pickle, statistics, sys, time
data = list(range(1_000_000))
times = []
for _ in range(int(sys.argv[1])):
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    times.append(time.perf_counter() - t0)
print(statistics.median(times) * 1e3)
"""

GATE = re.compile(r"(\d+) found their uprobes ready, (\d+) waited")


def run(prefix, forks):
    r = subprocess.run(prefix + [sys.executable, "-c", CHILD, str(forks)], capture_output=True,
                       text=True, check=True)
    gate = GATE.search(r.stderr)
    return float(r.stdout.split()[-1]), tuple(map(int, gate.groups())) if gate else None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--forks", type=int, default=100)
    ap.add_argument("--baseline", help="another ipcprof binary, measured in the same rounds")
    args = ap.parse_args()
    configs = [("untraced", [])]
    configs.append(("ipcprof", [IPCPROF, "run", "-v", "-o", "/dev/null", "--"]))
    if args.baseline:
        configs.append(("ipcprof (baseline)", [args.baseline, "run", "-o", "/dev/null", "--"]))
    ms = {n: [] for n, _ in configs}
    gates = []
    for _ in range(args.rounds):
        for name, prefix in configs:
            t, gate = run(prefix, args.forks)
            ms[name].append(t)
            if gate and name == "ipcprof":
                gates.append(gate)
    print(f"{args.rounds} interleaved rounds of {args.forks} forks each; medians over the "
          "rounds of each round's median\n")
    print("| | fork + wait | / untraced (same round) |")
    print("|---|---|---|")
    for name, _ in configs:
        ratio = statistics.median(a / b for a, b in zip(ms[name], ms["untraced"]))
        print(f"| {name} | {statistics.median(ms[name]):.2f} ms | {ratio:.3f} |")
    if gates:
        ready = sum(g[0] for g in gates)
        waited = sum(g[1] for g in gates)
        print(f"\nipcprof: {ready} children found their uprobes ready at their first return "
              f"from fork, {waited} waited for them")


if __name__ == "__main__":
    main()
