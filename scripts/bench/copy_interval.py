#!/usr/bin/env python3
"""How wide is the copy estimate's 95% range on the seed Queue experiment, at
the default per-CPU sampling and with the per-thread sampler?

Each configuration traces `seed_transfer.py queue` (4.87 MB through one pipe)
--runs times, interleaved; the copy split of the exactly measured IPC on-CPU
time is read from the JSON report (totals.breakdown.ipc_oncpu.splits.copy).
"±" is the larger distance of the range's ends from the estimate, as a share
of the estimate (the range is clamped to [0, IPC on-CPU time], so it can be
lopsided).

With --against-exact, where precise probes time the copies (fentry in
Debian's 6.1 kernel: `scripts/vm/vmtest.sh python3 scripts/bench/copy_interval.py
--against-exact`), it traces 8 MB through a unix socketpair instead and puts
the samplers' estimate beside the exact copy time of the same run.

usage: scripts/bench/copy_interval.py [--runs N] [--rates HZ ...] [--python PATH]
           [--against-exact]
       (root, after make; prints a Markdown table)
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IPCPROF = os.path.join(ROOT, "ipcprof")
SEED = os.path.join(ROOT, "scripts/bench/seed_transfer.py")
SOCKETPAIR = [os.path.join(ROOT, ".output/fixtures/ipc_bytes"), "socketpair", "8000000", "65536"]


def wilson(k, n, z=1.96):
    """The 95% Wilson score interval of a share k/n."""
    if not n:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / d
    return max(0.0, c - h), min(1.0, c + h)


def against_exact(args):
    """Sampled copy estimate beside the exactly timed copies, same runs."""
    rows = []
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        for _ in range(args.runs):
            for hz in args.rates:
                cmd = [IPCPROF, "run", "--format", "json", "-o", out]
                if hz:
                    cmd += ["--thread-sample-hz", str(hz)]
                subprocess.run(cmd + ["--"] + SOCKETPAIR, check=True, capture_output=True,
                               timeout=600)
                with open(out) as f:
                    rep = json.load(f)
                if rep["methods"]["copy"] == "sampled":
                    raise SystemExit("copy is sampled on this kernel: nothing exact to compare")
                t = rep["totals"]
                lo, hi = wilson(t["samples_copy"], t["samples_ipc"])
                rows.append((hz, t["copy_ns"], t["copy_sampled_ns"], t["samples_ipc"],
                             lo * t["ipc_oncpu_ns"] <= t["copy_ns"] <= hi * t["ipc_oncpu_ns"]))
    print(f"8 MB through a unix socketpair, {args.runs} runs per row; exact copy time from "
          f"the precise probes, the samplers' estimate of it from the same run\n")
    print("| per-thread sampler | samples in IPC calls (median) | sampled / exact (median) "
          "| range of sampled / exact | exact inside the 95% interval |")
    print("|---|---|---|---|---|")
    for hz in args.rates:
        rs = [r for r in rows if r[0] == hz]
        ratios = [r[2] / r[1] for r in rs if r[1]]
        print(f"| {f'{hz} Hz' if hz else 'off (99 Hz per CPU only)'} "
              f"| {statistics.median(r[3] for r in rs):.0f} | {statistics.median(ratios):.2f} "
              f"| {min(ratios):.2f}-{max(ratios):.2f} | {sum(r[4] for r in rs)} of {len(rs)} |")


def trace(python, hz, out):
    cmd = [IPCPROF, "run", "--format", "json", "-o", out]
    if hz:
        cmd += ["--thread-sample-hz", str(hz)]
    subprocess.run(cmd + ["--", python, SEED, "queue"], check=True, capture_output=True,
                   timeout=300)
    with open(out) as f:
        t = json.load(f)["totals"]
    ipc = t["breakdown"]["ipc_oncpu"]
    copy = ipc["splits"]["copy"]
    worst = max(copy["ns"] - copy["lo_ns"], copy["hi_ns"] - copy["ns"])
    return {"ipc": ipc["ns"], "copy": copy["ns"], "samples": t["samples_ipc"],
            "pm": worst / copy["ns"] if copy["ns"] else float("inf")}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rates", type=int, nargs="*", default=[0, 500, 1000, 2000],
                    help="--thread-sample-hz values (0: off, the default)")
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--against-exact", action="store_true")
    args = ap.parse_args()
    if args.against_exact:
        against_exact(args)
        return
    res = {hz: [] for hz in args.rates}
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        for _ in range(args.runs):
            for hz in args.rates:
                res[hz].append(trace(args.python, hz, out))
    print(f"seed Queue experiment, {args.runs} interleaved runs per row; medians\n")
    print("| per-thread sampler | IPC on CPU (exact) | samples in IPC calls | copy (estimate) "
          "| ± (median) | ± (worst) | runs within ±25% |")
    print("|---|---|---|---|---|---|---|")
    for hz, rs in res.items():
        med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        print(f"| {f'{hz} Hz' if hz else 'off (99 Hz per CPU only)'} "
              f"| {med('ipc') / 1e6:.1f} ms | {med('samples'):.0f} | {med('copy') / 1e6:.1f} ms "
              f"| {100 * med('pm'):.0f}% | {100 * max(r['pm'] for r in rs):.0f}% "
              f"| {sum(r['pm'] <= 0.25 for r in rs)} of {len(rs)} |")


if __name__ == "__main__":
    main()
