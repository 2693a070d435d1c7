#!/usr/bin/env python3
"""Side-by-side table of ipcprof JSON reports (one column per report)."""
import json
import os
import sys

ROWS = [("wall", "duration_ns"), ("serialize", "serialize_ns"),
        ("deserialize", "deserialize_ns"), ("syscall", "syscall_ns"),
        ("blocked", "blocked_ns"), ("copy", "copy_ns"), ("fault", "fault_ns"),
        ("fork", "fork_ns"), ("mmap", "mmap_ns"), ("wait", "wait_ns"),
        ("compute", "compute_ns"), ("other", "other_ns")]


def ms(ns):
    return f"{ns / 1e6:9.1f} ms"


def main(paths):
    reps = [json.load(open(p)) for p in paths]
    names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    print(f"{'':16}" + "".join(f"{n:>14}" for n in names))
    for label, key in ROWS:
        vals = [r["duration_ns"] if key == "duration_ns" else r["totals"][key] for r in reps]
        print(f"{label:16}" + "".join(f"{ms(v):>14}" for v in vals))
    moved = [max([c["bytes_written"] for c in r["channels"]] or [0]) for r in reps]
    print(f"{'biggest channel':16}" + "".join(f"{m / 1e6:11.2f} MB" for m in moved))
    kinds = [next((c["kind"] for c in r["channels"] if c["bytes_written"] == m and m), "-")
             for r, m in zip(reps, moved)]
    print(f"{'  through':16}" + "".join(f"{k:>14}" for k in kinds))
    print(f"{'processes':16}" + "".join(f"{len(r['processes']):>14}" for r in reps))
    print("\nphases are summed over all threads of all traced processes; methods: " +
          ", ".join(f"{k}={v}" for k, v in reps[0]["methods"].items()))


if __name__ == "__main__":
    main(sys.argv[1:])
