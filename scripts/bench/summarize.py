#!/usr/bin/env python3
"""Side-by-side table of ipcprof JSON reports (one column per report)."""
import json
import os
import sys

# label, breakdown entry (totals.breakdown), split of it or None; the exact
# amounts first, each sampled split beneath what it splits, marked "~"
ROWS = [("serializer", "serializer", None),
        ("  page faults", "serializer", "page_faults"),
        ("deserializer", "deserializer", None),
        ("  page faults", "deserializer", "page_faults"),
        ("IPC on CPU", "ipc_oncpu", None),
        ("  copy", "ipc_oncpu", "copy"),
        ("  page faults", "ipc_oncpu", "page_faults"),
        ("blocked", "blocked", None), ("fork", "fork", None), ("mmap", "mmap", None),
        ("wait", "wait", None), ("compute", "compute", None),
        ("faults elsewhere", "faults_elsewhere", None), ("other", "other", None)]


def ms(ns, exact=True):
    return f"{'' if exact else '~'}{ns / 1e6:.1f} ms"


def entry(rep, name, split):
    e = rep["totals"]["breakdown"][name]
    return e["splits"][split] if split else e


def main(paths):
    reps = [json.load(open(p)) for p in paths]
    names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    print(f"{'':16}" + "".join(f"{n:>14}" for n in names))
    print(f"{'wall':16}" + "".join(f"{ms(r['duration_ns']):>14}" for r in reps))
    for label, name, split in ROWS:
        es = [entry(r, name, split) for r in reps]
        print(f"{label:16}" + "".join(f"{ms(e['ns'], e['exact']):>14}" for e in es))
    moved = [max([c["bytes_written"] for c in r["channels"]] or [0]) for r in reps]
    print(f"{'biggest channel':16}" + "".join(f"{m / 1e6:11.2f} MB" for m in moved))
    kinds = [next((c["kind"] for c in r["channels"] if c["bytes_written"] == m and m), "-")
             for r, m in zip(reps, moved)]
    print(f"{'  through':16}" + "".join(f"{k:>14}" for k in kinds))
    print(f"{'processes':16}" + "".join(f"{len(r['processes']):>14}" for r in reps))
    print("\nsummed over all threads of all traced processes; ~: a sampled estimate (its 95% "
          "range is in each report); methods: " +
          ", ".join(f"{k}={e['method']}" for k, e in reps[0]["totals"]["breakdown"].items()))


if __name__ == "__main__":
    main(sys.argv[1:])
