#!/usr/bin/env python3
"""A Pool.map workload: 2 worker processes (fork), TASKS tasks, each a list
of 16 lists of 200k ints that the parent pickles and a worker unpickles and
sums. Prints one JSON line with its own wall time.

usage: scripts/bench/poolmap.py [TASKS]   (default 14: ~10 s here)
"""
import json
import multiprocessing as mp
import sys
import time


def total(lists):
    return sum(sum(x) for x in lists)


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 14
    mp.set_start_method("fork")
    t0 = time.perf_counter()
    work = [[list(range(i, i + 200_000)) for i in range(16)] for _ in range(tasks)]
    with mp.Pool(2) as pool:
        sums = pool.map(total, work, chunksize=1)
    print(json.dumps({"workload": "poolmap", "tasks": tasks, "checksum": sum(sums),
                      "seconds": round(time.perf_counter() - t0, 3)}))


if __name__ == "__main__":
    main()
