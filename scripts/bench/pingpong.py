#!/usr/bin/env python3
"""Ping-pong of N small messages over a multiprocessing Pipe: per round trip
each side pickles once, writes once and reads twice (length, payload), the
worst case for ipcprof's per-call work.  usage: pingpong.py N"""
import multiprocessing as mp
import sys


def echo(conn):
    while True:
        m = conn.recv()
        if m is None:
            return
        conn.send(m)


def main(n):
    a, b = mp.Pipe()
    p = mp.Process(target=echo, args=(b,))
    p.start()
    for i in range(n):
        a.send({"i": i, "v": [1, 2, 3]})
        a.recv()
    a.send(None)
    p.join()


if __name__ == "__main__":
    main(int(sys.argv[1]))
