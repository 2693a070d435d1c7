#!/usr/bin/env python3
"""How much does tracing change what it measures? Whole-process wall times,
side by side with strace and perf trace, interleaved, medians.

Sections (all by default; pick with --only):
  startup    `TOOL -- true`: wall, when the command starts, when the report
             is written after the command exits
  workloads  each workload untraced and under each tool, in turn, --pairs
             rounds; wall of the whole tool process (start-up and teardown
             included); the ratio is the median of per-round ratios
  pickle     the seed `pickle` experiment's own perf_counter_ns around
             pickle.dumps / pickle.loads, untraced and traced
  bystander  an untraced Python doing small pickle round trips, alone and
             while ipcprof traces a sleeping Python
  roundtrips a traced Python doing 300k small pickle round trips

usage: scripts/bench/transparency.py [--pairs N] [--only SECTION ...]
           [--workload SUBSTRING ...] [--baseline PATH] [--variant 'OPTIONS' ...]
       (root, after make; prints Markdown tables)
  --workload  only the workloads whose name contains one of these
  --baseline  another ipcprof binary (e.g. an older build) measured in the
              same interleaved rounds, as "ipcprof (baseline)"
  --variant   ipcprof with these options too (e.g. '--thread-sample-hz 1000'),
              in the same interleaved rounds, as "ipcprof OPTIONS"
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IPCPROF = os.path.join(ROOT, "ipcprof")
SEED = os.path.join(ROOT, "scripts/bench/seed_transfer.py")
POOLMAP = os.path.join(ROOT, "scripts/bench/poolmap.py")
FLOOD = os.path.join(ROOT, ".output/fixtures/pipe_flood")
PY = sys.executable

ROUND_TRIPS = ("import pickle, sys, time\n"
               "o = {'a': 1, 'b': [1, 2, 3]}\n"
               "t = time.perf_counter()\n"
               "for _ in range(int(sys.argv[1])):\n"
               "    pickle.loads(pickle.dumps(o))\n"
               "print((time.perf_counter() - t) / int(sys.argv[1]) * 1e9)\n")

# name, command; each runs >= 10 s untraced here
WORKLOADS = [
    ("seed inherit x700", [PY, SEED, "inherit", "--repeats", "700"]),
    ("seed argument x700", [PY, SEED, "argument", "--repeats", "700"]),
    ("seed queue x25", [PY, SEED, "queue", "--repeats", "25"]),
    ("seed pipe x25", [PY, SEED, "pipe", "--repeats", "25"]),
    ("Pool.map, 2 workers, 14 x 16 lists of 200k ints", [PY, POOLMAP, "14"]),
    ("pipe flood: 2M writes + 2M reads of 64 B", [FLOOD, "2000000", "64"]),
]
# PyTorch's DataLoader (Debian's python3-torch, under Debian's interpreter):
# batches cross in shared segments passed over unix sockets
DATALOADER = os.path.join(ROOT, "scripts/bench/shm_dataloader.py")
DEBIAN_PY = "/usr/bin/python3.11"
if os.path.exists(DEBIAN_PY) and subprocess.run([DEBIAN_PY, "-c", "import torch"],
                                                capture_output=True).returncode == 0:
    WORKLOADS.append(("PyTorch DataLoader, 2 workers, 4000 batches of 3 MiB",
                      [DEBIAN_PY, DATALOADER, "4000", "2"]))
# strace and perf trace need minutes for the flood: they get one round of a
# tenth of it, and their ratio is that round's
FLOOD_SMALL = [FLOOD, "200000", "64"]


def tools(baseline=None, variants=()):
    t = [("untraced", []), ("ipcprof", [IPCPROF, "run", "-o", "/dev/null", "--"])]
    if baseline:
        t.append(("ipcprof (baseline)", [baseline, "run", "-o", "/dev/null", "--"]))
    for v in variants:
        t.append((f"ipcprof {v}", [IPCPROF, "run", *v.split(), "-o", "/dev/null", "--"]))
    if shutil.which("strace"):
        t.append(("strace -f -c", ["strace", "-f", "-c", "-o", "/dev/null"]))
    if shutil.which("perf") and subprocess.run(["perf", "trace", "-s", "true"],
                                               capture_output=True).returncode == 0:
        t.append(("perf trace -s", ["perf", "trace", "-s", "-o", "/dev/null"]))
    return t


def wall(cmd, **kw):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return time.perf_counter() - t0, r.stdout


def table(head, rows):
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def startup(args):
    ts = tools()[1:]
    runs = {n: [] for n, _ in ts}
    start_lat, report_lat = [], []
    for _ in range(10):
        for name, prefix in ts:
            runs[name].append(wall(prefix + ["true"])[0])
        # when does the command start, when is the report there?
        with tempfile.TemporaryDirectory() as d:
            rep, stamp = os.path.join(d, "r.txt"), os.path.join(d, "t")
            t0 = time.time_ns()
            subprocess.run([IPCPROF, "run", "-o", rep, "--", "sh", "-c",
                            f"date +%s%N > {stamp}"], check=True, capture_output=True)
            with open(stamp) as f:
                started = int(f.read())
            start_lat.append((started - t0) / 1e6)
            report_lat.append((os.stat(rep).st_mtime_ns - os.stat(stamp).st_mtime_ns) / 1e6)
    print("### Start-up and teardown\n")
    print("10 runs each, medians (whole process, as `time` sees it).\n")
    table(["command", "wall (median)", "min", "max"],
          [[f"`{n} -- true`", f"{statistics.median(v):.3f} s", f"{min(v):.3f} s",
            f"{max(v):.3f} s"] for n, v in runs.items()])
    table(["ipcprof", "median", "max"],
          [["command starts after ipcprof does (`date +%s%N` in the command)",
            f"{statistics.median(start_lat):.0f} ms", f"{max(start_lat):.0f} ms"],
           ["report written after the command exits (file mtimes)",
            f"{statistics.median(report_lat):.0f} ms", f"{max(report_lat):.0f} ms"]])


def full_flood(tname):
    """The tools that run the whole flood (untraced and ipcprof builds)."""
    return tname.startswith(("untraced", "ipcprof"))


def workloads(args):
    ts = tools(args.baseline, args.variant)
    names = [n for n, _ in ts]
    rows = []
    for wname, cmd in WORKLOADS:
        if args.workload and not any(w in wname for w in args.workload):
            continue
        flood = cmd[0] == FLOOD
        times = {n: [] for n in names}
        for _ in range(args.pairs):
            for tname, prefix in ts:
                if flood and not full_flood(tname):
                    continue
                times[tname].append(wall(prefix + cmd)[0])
        ratios = {n: statistics.median(t / b for t, b in zip(times[n], times["untraced"]))
                  for n in names if times[n]}
        cells = {n: f"{statistics.median(times[n]):.2f} s" for n in names if times[n]}
        if flood:
            base = wall(FLOOD_SMALL)[0]
            for tname, prefix in ts:
                if full_flood(tname):
                    continue
                t = wall(prefix + FLOOD_SMALL)[0]
                ratios[tname] = t / base
                cells[tname] = f"{t:.1f} s (1/10 of it, 1 round)"
        rows.append([wname] + [cells.get(n, "-") for n in names] +
                    [f"{ratios[n]:.3f}" if n in ratios else "-" for n in names[1:]])
        print(f"done: {wname}", file=sys.stderr)
    print(f"### Whole-process wall, {args.pairs} interleaved rounds\n")
    table(["workload"] + [f"{n}" for n in names] + [f"{n} / untraced" for n in names[1:]],
          rows)


def pickle_times(args):
    res = {"untraced": [], "ipcprof": []}
    for _ in range(args.pairs):
        for name, prefix in (("untraced", []), ("ipcprof", [IPCPROF, "run", "-o", "/dev/null",
                                                            "--"])):
            out = wall(prefix + [PY, SEED, "pickle", "--repeats", "5"])[1]
            for line in out.splitlines():
                if line.startswith("{"):
                    j = json.loads(line)
                    res[name].append((j["serialize_ns"], j["deserialize_ns"]))
    med = {n: [statistics.median(x[i] for x in v) / 1e6 for i in (0, 1)]
           for n, v in res.items()}
    print("### The program's own pickle times\n")
    print(f"seed `pickle` experiment, 5 repeats x {args.pairs} rounds, medians of "
          "`perf_counter_ns` around `pickle.dumps` / `pickle.loads` (1M ints).\n")
    table(["", "untraced", "ipcprof", "ratio"],
          [[k, f"{med['untraced'][i]:.1f} ms", f"{med['ipcprof'][i]:.1f} ms",
            f"{med['ipcprof'][i] / med['untraced'][i]:.3f}"]
           for i, k in enumerate(("pickle.dumps", "pickle.loads"))])


def per_trip(cmd):
    return float(wall(cmd)[1].split()[-1])


def bystander(args):
    alone, beside = [], []
    for _ in range(args.pairs):
        alone.append(per_trip([PY, "-c", ROUND_TRIPS, "300000"]))
        prof = subprocess.Popen([IPCPROF, "run", "-o", "/dev/null", "--", PY, "-c",
                                 "import pickle, time; pickle.dumps(1); time.sleep(30)"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)  # tracing, probes in place
        beside.append(per_trip([PY, "-c", ROUND_TRIPS, "300000"]))
        prof.terminate()
        prof.wait()
        subprocess.run(["pkill", "-f", "time.sleep\\(30\\)"])
    a, b = statistics.median(alone), statistics.median(beside)
    print("### Bystanders\n")
    print("An untraced Python making 300k `pickle.loads(pickle.dumps(small dict))` round "
          f"trips, alone and while ipcprof traces another Python; {args.pairs} rounds, "
          "medians of its own per-trip time.\n")
    table(["alone", "while ipcprof traces another Python", "ratio"],
          [[f"{a:.0f} ns", f"{b:.0f} ns", f"{b / a:.3f}"]])


def roundtrips(args):
    cmd = [PY, "-c", ROUND_TRIPS, "300000"]
    un, tr, un_trip, tr_trip = [], [], [], []
    for _ in range(args.pairs):
        w, out = wall(cmd)
        un.append(w)
        un_trip.append(float(out.split()[-1]))
        w, out = wall([IPCPROF, "run", "-o", "/dev/null", "--"] + cmd)
        tr.append(w)
        tr_trip.append(float(out.split()[-1]))
    r = statistics.median(t / u for t, u in zip(tr, un))
    rt = statistics.median(t / u for t, u in zip(tr_trip, un_trip))
    print("### A traced program with a hot serializer\n")
    print(f"300k small pickle round trips (600k serializer calls), {args.pairs} interleaved "
          f"rounds: whole-process wall, and the program's own time per round trip "
          f"(`perf_counter` around its loop).\n")
    table(["", "untraced", "ipcprof", "ratio"],
          [["whole process", f"{statistics.median(un):.2f} s", f"{statistics.median(tr):.2f} s",
            f"{r:.3f}"],
           ["per round trip, in the program", f"{statistics.median(un_trip):.0f} ns",
            f"{statistics.median(tr_trip):.0f} ns", f"{rt:.3f}"]])


SECTIONS = {"startup": startup, "workloads": workloads, "pickle": pickle_times,
            "bystander": bystander, "roundtrips": roundtrips}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--only", nargs="*", choices=list(SECTIONS), default=list(SECTIONS))
    ap.add_argument("--workload", nargs="*", default=[])
    ap.add_argument("--baseline")
    ap.add_argument("--variant", action="append", default=[])
    args = ap.parse_args()
    for s in args.only:
        SECTIONS[s](args)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
