#!/usr/bin/env python3
"""What call sites cost: a ping-pong of small messages (pingpong.py) over a
multiprocessing Pipe (each message: a pickle, a write and reads on each
side) or a pair of Queues (the same plus the Queue hand-off probe at each
SemLock.acquire), the worst case for per-call work. Whole-process wall,
untraced, under each given ipcprof binary and under strace -f -c and
perf trace -s (where installed), interleaved, medians.

usage: scripts/bench/callsite_cost.py [--rounds N] [--messages N]
           [--channel pipe|queue] [--python PY] [IPCPROF...]   (root)
       (default: "./ipcprof" and "./ipcprof --no-call-sites"; each IPCPROF is a
       binary with options, e.g. an older build to compare)
"""
import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

PINGPONG = os.path.join(ROOT, "scripts", "bench", "pingpong.py")


def wall(cmd):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--channel", choices=("pipe", "queue"), default="pipe")
    ap.add_argument("ipcprof", nargs="*",
                    default=["./ipcprof", "./ipcprof --no-call-sites"])
    args = ap.parse_args()
    os.chdir(ROOT)
    prog = [args.python, PINGPONG, str(args.messages), args.channel]
    # each configuration: the command line that runs the program under it
    configs = {"untraced": prog}
    for b in args.ipcprof:
        exe, *opts = shlex.split(b)
        configs[b] = [exe, "run", "-o", "/dev/null", *opts, "--", *prog]
    # the peers, for scale (as in transparency.py)
    if shutil.which("strace"):
        configs["strace -f -c"] = ["strace", "-f", "-c", "-o", "/dev/null", *prog]
    if shutil.which("perf"):
        configs["perf trace -s"] = ["perf", "trace", "-s", "-o", "/dev/null", *prog]
    runs = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, cmd in configs.items():
            runs[name].append(wall(cmd))
    base = statistics.median(runs["untraced"])
    print(f"| {args.messages} round trips over a {args.channel}, {os.path.basename(args.python)} "
          f"| wall (median of "
          f"{args.rounds}) | ratio |")
    print("|---|---|---|")
    for name, v in runs.items():
        m = statistics.median(v)
        print(f"| {name} | {m:.2f} s | {m / base:.3f} |")


if __name__ == "__main__":
    main()
