#!/usr/bin/env python3
"""What tracing adds to each fork of a probed Python.

A Python holding a list of 1M ints (as the seed experiments do) forks
children that exit at once, one after another, and times each fork + wait
with its own clock; this runs untraced, under ipcprof, and under another
ipcprof build (--baseline) in interleaved rounds. Each child of a probed
process must get its own serializer uprobes before it runs Python code, and
its links are closed again after it exits: this is where that shows.

--controls adds, in the same rounds, what tells the parts apart:
  ipcprof --no-follow   children not traced (no event, no uprobes for them)
  Perl, same loop       a ~40 MB Perl process: its children are followed
                        like Python's but need no uprobes, so ipcprof is
                        not woken for them (ratio against untraced Perl)
  one wake-up per fork  untraced Python that writes a byte into a pipe
                        after each fork, waking a sleeping reader: what one
                        wake-up of another process costs each fork here,
                        with no tracer at all
  pinned                the Python (and so its children) on the last CPU,
                        untraced and under an ipcprof pinned to the first:
                        what is left when ipcprof never shares a CPU with
                        the parent or the child (ratio against the pinned
                        untraced run)

The configurations run in a shuffled order every round (--seed). Prints a
Markdown table: per configuration the median over rounds of each round's
median fork + wait, of its difference and ratio to its untraced run in the
same round, the range of those ratios, and for ipcprof how many children
found their uprobes ready at their first return from fork and how many
waited for them (`ipcprof run -v`).

usage: scripts/bench/fork_cost.py [--rounds N] [--forks N] [--baseline PATH]
                                  [--controls] [--seed N]   (root, after make)
"""
import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IPCPROF = os.path.join(ROOT, "ipcprof")

# argv: forks, and "1" to wake a sleeping reader through a pipe each fork
CHILD = """
import os, pickle, statistics, sys, time
data = list(range(1_000_000))
wake = len(sys.argv) > 2 and sys.argv[2] == "1"
if wake:
    r, w = os.pipe()
    reader = os.fork()
    if reader == 0:
        os.close(w)
        while os.read(r, 1):
            pass
        os._exit(0)
    os.close(r)
times = []
for _ in range(int(sys.argv[1])):
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    if wake:
        os.write(w, b"x")
    os.waitpid(pid, 0)
    times.append(time.perf_counter() - t0)
if wake:
    os.close(w)
    os.waitpid(reader, 0)
print(statistics.median(times) * 1e3)
"""

# the same loop in Perl (1M integers, about as large): no serializer probes
PERL_CHILD = """
use Time::HiRes qw(time);
use POSIX ();
my @data = (1..1000000);
my @t;
for (1..$ARGV[0]) {
    my $t0 = time;
    my $pid = fork() // die "fork: $!";
    POSIX::_exit(0) if !$pid;
    waitpid($pid, 0);
    push @t, time - $t0;
}
@t = sort { $a <=> $b } @t;
printf "%.4f\\n", $t[int(@t / 2)] * 1e3;
"""

GATE = re.compile(r"(\d+) found their uprobes ready, (\d+) waited")


def run(prefix, program, forks, extra):
    cmd = prefix + program + [str(forks)] + extra
    try:
        # 100 forks take ~1 s: a run still going after minutes is stuck
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        sys.exit(f"fork_cost.py: {cmd[0]} ... did not finish in 300 s")
    if r.returncode:
        sys.exit(f"fork_cost.py: {cmd[0]} ... exited with {r.returncode}: {r.stderr.strip()}")
    gate = GATE.search(r.stderr)
    return float(r.stdout.split()[-1]), tuple(map(int, gate.groups())) if gate else None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--forks", type=int, default=100)
    ap.add_argument("--baseline", help="another ipcprof binary, measured in the same rounds")
    ap.add_argument("--controls", action="store_true",
                    help="also --no-follow, one wake-up per fork, a Perl process and pinned runs")
    ap.add_argument("--seed", type=int, default=1,
                    help="of the order the configurations run in, shuffled every round")
    args = ap.parse_args()
    py = [sys.executable, "-c", CHILD]
    traced = [IPCPROF, "run", "-o", "/dev/null"]
    # (name, prefix, program, its arguments after the fork count, the
    # configuration its ratio is taken against)
    configs = [("untraced", [], py, [], "untraced"),
               ("ipcprof", [IPCPROF, "run", "-v", "-o", "/dev/null", "--"], py, [], "untraced")]
    if args.baseline:
        configs.append(("ipcprof (baseline)", [args.baseline] + traced[1:] + ["--"], py, [],
                        "untraced"))
    if args.controls:
        if not shutil.which("perl"):
            sys.exit("fork_cost.py: --controls needs perl")
        perl = ["perl", "-e", PERL_CHILD]
        configs += [("ipcprof --no-follow", traced + ["--no-follow", "--"], py, [], "untraced"),
                    ("untraced, one wake-up per fork", [], py, ["1"], "untraced"),
                    ("Perl, untraced", [], perl, [], "Perl, untraced"),
                    ("Perl, ipcprof", traced + ["--"], perl, [], "Perl, untraced")]
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2 or not shutil.which("taskset"):
            print("fork_cost.py: no pinned runs (they need two CPUs and taskset)",
                  file=sys.stderr)
        else:
            last = ["taskset", "-c", str(cpus[-1])]
            configs += [("pinned: untraced", [], last + py, [], "pinned: untraced"),
                        ("pinned: ipcprof on another CPU",
                         ["taskset", "-c", str(cpus[0])] + traced + ["--"] + last, py, [],
                         "pinned: untraced")]
    ms = {c[0]: [] for c in configs}
    gates = []
    order = random.Random(args.seed)
    for _ in range(args.rounds):
        # a different order each round, so that no configuration always
        # runs right after another (the host's load drifts within a round)
        for name, prefix, program, extra, _ in order.sample(configs, len(configs)):
            t, gate = run(prefix, program, args.forks, extra)
            ms[name].append(t)
            if gate and name == "ipcprof":
                gates.append(gate)
    print(f"{args.rounds} interleaved rounds of {args.forks} forks each, in a shuffled order; "
          "medians over the rounds of each round's median fork + wait, and of each round's "
          "difference and ratio to its own untraced run in that round (Perl and pinned: "
          "their own untraced rows), with the range of those ratios\n")
    print("| | fork + wait | difference | ratio | ratios from – to |")
    print("|---|---|---|---|---|")
    for name, _, _, _, base in configs:
        ratios = [a / b for a, b in zip(ms[name], ms[base])]
        diff = statistics.median(a - b for a, b in zip(ms[name], ms[base]))
        print(f"| {name} | {statistics.median(ms[name]):.2f} ms | {diff:+.2f} ms | "
              f"{statistics.median(ratios):.3f} | {min(ratios):.3f} – {max(ratios):.3f} |")
    if gates:
        ready = sum(g[0] for g in gates)
        waited = sum(g[1] for g in gates)
        print(f"\nipcprof: {ready} children found their uprobes ready at their first return "
              f"from fork, {waited} waited for them")


if __name__ == "__main__":
    main()
