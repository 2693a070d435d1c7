#!/usr/bin/env python3
"""Ping-pong of N small messages between two processes, the worst case for
ipcprof's per-call work.

usage: pingpong.py N [pipe|queue]
  pipe:  a multiprocessing Pipe; per round trip each side pickles once,
         writes once and reads twice (length, payload)
  queue: two multiprocessing Queues; the same, plus each put() and get()
         takes the queue's SemLock and the pickling and writing happen in
         the queue's feeder thread
"""
import multiprocessing as mp
import sys


def echo_pipe(conn):
    while True:
        m = conn.recv()
        if m is None:
            return
        conn.send(m)


def echo_queue(inq, outq):
    while True:
        m = inq.get()
        if m is None:
            return
        outq.put(m)


def main(n, channel):
    if channel == "queue":
        inq, outq = mp.Queue(), mp.Queue()
        p = mp.Process(target=echo_queue, args=(inq, outq))
        send, recv = inq.put, outq.get
    else:
        a, b = mp.Pipe()
        p = mp.Process(target=echo_pipe, args=(b,))
        send, recv = a.send, a.recv
    p.start()
    for i in range(n):
        send({"i": i, "v": [1, 2, 3]})
        recv()
    send(None)
    p.join()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "pipe")
