#!/usr/bin/env python3
"""A live Redis under redis-benchmark, over its unix socket and over TCP on
127.0.0.1, untraced and with a tracer attached to redis-server, side by side.

Starts a throw-away redis-server (Debian's, no persistence, in a temporary
directory). Each cycle runs, for each transport, `redis-benchmark -t set,get
-n REQUESTS -c 8 -d 256` untraced, with `ipcprof attach -p REDIS`, and with
`perf trace -p REDIS` (its default: one line per syscall, to /dev/null),
in an order that rotates every cycle. A tool is started, the benchmark runs
once it is attached, the tool is stopped with SIGINT. Each tool's requests/s
(SET and GET averaged) is divided by the untraced figure of the same cycle;
the table gives the median of the cycles' ratios and their spread.

usage: scripts/bench/redis_attach.py [--cycles N] [--requests N]   (root, after make)
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IPCPROF = os.path.join(ROOT, "ipcprof")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_tool(tool, pid):
    """The tool attached to `pid`, once it is tracing (None: untraced)."""
    if tool == "untraced":
        return None
    if tool == "ipcprof":
        p = subprocess.Popen([IPCPROF, "attach", "-p", str(pid), "-d", "600", "-o", "/dev/null"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = p.stderr.readline()
        if "tracing" not in line:
            sys.exit(f"ipcprof did not attach: {line}")
        return p
    p = subprocess.Popen(["perf", "trace", "-p", str(pid), "-o", "/dev/null"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)  # perf trace says nothing once it is attached
    return p


def stop_tool(p):
    if p:
        p.send_signal(signal.SIGINT)
        p.wait(120)


def bench(where, requests):
    """requests/s, SET and GET averaged."""
    out = subprocess.run(["redis-benchmark", *where, "-n", str(requests), "-c", "8", "-d", "256",
                          "-q", "-t", "set,get"], check=True, capture_output=True,
                         text=True).stdout
    rates = [float(x) for x in re.findall(r"([\d.]+) requests per second", out)]
    if len(rates) != 2:
        sys.exit(f"redis-benchmark said: {out}")
    return statistics.mean(rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=7)
    ap.add_argument("--requests", type=int, default=100000)
    args = ap.parse_args()
    for prog in ("redis-server", "redis-benchmark", "perf"):
        if not shutil.which(prog):
            sys.exit(f"{prog} not found (make deps)")
    tools = ["untraced", "ipcprof", "perf trace"]
    with tempfile.TemporaryDirectory() as d:
        sock, port = os.path.join(d, "redis.sock"), free_port()
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--unixsocket", sock,
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", d],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not os.path.exists(sock):
                time.sleep(0.05)
            where = {"unix socket": ["-s", sock], "TCP 127.0.0.1": ["-h", "127.0.0.1", "-p",
                                                                     str(port)]}
            bench(where["unix socket"], args.requests)  # warm up
            rates = {(t, w): [] for t in tools for w in where}
            for c in range(args.cycles):
                order = tools[c % len(tools):] + tools[:c % len(tools)]
                for tool in order:
                    p = start_tool(tool, server.pid)
                    try:
                        for w in where:
                            rates[(tool, w)].append(bench(where[w], args.requests))
                    finally:
                        stop_tool(p)
        finally:
            server.terminate()
            server.wait(30)
    print(f"| redis-benchmark set,get, -c 8 -d 256, {args.requests} requests | transport "
          "| requests/s (median) | ratio to untraced (median of cycles) | spread |")
    print("|---|---|---|---|---|")
    for w in where:
        for tool in tools:
            r = rates[(tool, w)]
            ratios = [x / u for x, u in zip(r, rates[("untraced", w)])]
            print(f"| {tool} | {w} | {statistics.median(r):.0f} | {statistics.median(ratios):.3f} "
                  f"| {min(ratios):.3f}–{max(ratios):.3f} |")


if __name__ == "__main__":
    main()
