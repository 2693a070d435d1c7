#!/usr/bin/env python3
"""A live database under its own benchmark, with ipcprof attached to it.

Starts a throw-away PostgreSQL (Debian's postgresql-15, as user postgres,
unix socket only, in a temporary directory), fills it with `pgbench -i`,
then runs `pgbench -S` (read-only, 2 clients, over the unix socket) with a
throughput line per second, --rounds times: untraced for RUN seconds, then
RUN + 10 seconds with `ipcprof attach -p POSTMASTER -d RUN` started after 5 s.
Prints the per-second transactions untraced, while attached, and the worst
second around attaching and detaching. With --floor, each round also runs
pgbench with empty BPF programs on the same hooks (scripts/bench/
empty_hooks.c): what any BPF tool on those tracepoints costs here.

With --report FILE, the last round's JSON report is kept there, and the
share of thread time booked as "other" (not explained by any phase) is
printed, over all processes and for the worst one. With --scrape SECONDS,
ipcprof also serves --metrics and the script scrapes it that often while
attached (a Prometheus scrapes every 15 s by default: 1 is a harsh case).

With --tcp, the server also listens on 127.0.0.1 and pgbench connects
there instead of to the unix socket.

usage: scripts/bench/pgbench_attach.py [--rounds N] [--run SECONDS] [--report FILE]
           [--scrape SECONDS] [--floor] [--cmd 'TRACER ... {pid} {run}'] [--tcp]
       scripts/bench/pgbench_attach.py --alternate CYCLES [--window SECONDS] [--tcp]   (root)
"""
import json
import argparse
import os
import pwd
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IPCPROF = os.path.join(ROOT, "ipcprof")
PGBIN = "/usr/lib/postgresql/15/bin"
FLOOR_CMD = ".output/bench/empty_hooks"
FLOOR = os.path.join(ROOT, FLOOR_CMD)


def as_postgres(cmd, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + cmd, check=True,
                          capture_output=True, text=True, **kw)


def pgbench(sock, seconds):
    """Per-second tps lines of `pgbench -S -P 1`, as a list of floats."""
    return subprocess.Popen(["runuser", "-u", "postgres", "--", "pgbench", "-h", sock, "-S",
                             "-c", "2", "-j", "2", "-T", str(seconds), "-P", "1", "bench"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def per_second(p):
    """`pgbench -P 1` lines by their time stamp: {second: tps} (a stalled
    pgbench skips lines, so positions in the list are not seconds)."""
    _, err = p.communicate()
    return {round(float(m.group(1))): float(m.group(2))
            for m in re.finditer(r"progress: ([\d.]+) s, ([\d.]+) tps", err)}


def seconds(tps, first, last):
    """The lines of seconds first..last that pgbench printed."""
    return [tps[t] for t in range(first, last + 1) if t in tps]


def ipcprof_attach(postmaster, duration, out=("-o", "/dev/null")):
    return [IPCPROF, "attach", "-p", str(postmaster), "-d", str(duration), *out]


def alternate(sock, postmaster, cycles, window):
    """One pgbench run of `cycles` cycles of `window`-second windows: an
    untraced one, then ipcprof attached and the empty hooks attached, in
    turn first (so neither always follows the other), and a last untraced
    window. The host's own drift (other machines' load) moves neighbouring
    windows alike, so each tool window is compared with the untraced
    windows on both sides of it; prints the medians over cycles."""
    tools = {"ipcprof": ipcprof_attach(postmaster, window - 1), "floor": [FLOOR, str(window - 1)]}
    plan = []  # (name, cycle)
    for c in range(cycles):
        plan += [("untraced", c)] + [(n, c) for n in (["ipcprof", "floor"][::1 - 2 * (c % 2)])]
    plan.append(("untraced", cycles))
    p = pgbench(sock, len(plan) * window + 1)
    try:
        t0 = time.monotonic()
        for k, (name, _) in enumerate(plan):
            time.sleep(max(0, t0 + k * window - time.monotonic()))
            if name != "untraced":
                rc = subprocess.run(tools[name], capture_output=True, text=True)
                if rc.returncode:
                    sys.exit(f"{name} failed: {rc.stderr}")
    finally:
        if p.poll() is None and sys.exc_info()[0]:
            p.kill()
    tps = per_second(p)

    def inner(k):
        # the line at second T covers (T-1, T]: leave out each window's
        # first two seconds (attaching) and its last (detaching)
        v = seconds(tps, k * window + 3, (k + 1) * window - 1)
        return statistics.median(v) if v else None

    untraced = {c: inner(k) for k, (n, c) in enumerate(plan) if n == "untraced"}
    ratios = {"ipcprof": [], "floor": []}
    level = {"untraced": [], "ipcprof": [], "floor": []}
    for k, (name, c) in enumerate(plan):
        m = inner(k)
        if m is None:
            continue
        level[name].append(m)
        ref = [u for u in (untraced.get(c), untraced.get(c + 1)) if u]
        if name != "untraced" and ref:
            ratios[name].append(m / statistics.mean(ref))
    where = "TCP 127.0.0.1" if sock == "127.0.0.1" else "unix socket"
    print(f"| pgbench -S, 2 clients, {where} | transactions/s | ratio (median of "
          f"{cycles} cycles) | spread of the cycles |")
    print("|---|---|---|---|")
    labels = {"untraced": "untraced", "ipcprof": "ipcprof attached",
              "floor": "empty programs on ipcprof's hooks (the floor)"}
    for name in ("untraced", "ipcprof", "floor"):
        cells = "1.000 | -" if name == "untraced" else (
            f"{statistics.median(ratios[name]):.3f} | {min(ratios[name]):.3f}–"
            f"{max(ratios[name]):.3f}")
        print(f"| {labels[name]} | {statistics.median(level[name]):.0f} | {cells} |")
    print(f"\n{cycles} cycles of {window}-second windows in one pgbench run: untraced, then "
          f"`ipcprof attach -p POSTMASTER -d {window - 1}` and `{FLOOR_CMD} {window - 1}`, "
          f"each first in every other cycle; a last untraced window. Each window's seconds 3 "
          f"to {window - 1} counted; each tool window against the mean of the untraced "
          f"windows before and after it.")


def print_other_share(path):
    with open(path) as f:
        procs = json.load(f)["processes"]
    other = sum(p["other_ns"] for p in procs)
    thread = sum(p["thread_ns"] for p in procs)
    worst = max(procs, key=lambda p: p["other_ns"] / max(p["thread_ns"], 1))
    print(f"\n\"other\" in the last round: {100 * other / thread:.1f}% of the thread time of "
          f"{len(procs)} processes; worst: pid {worst['pid']} ({worst['comm']}) "
          f"{100 * worst['other_ns'] / max(worst['thread_ns'], 1):.1f}%")


def attach(cmd, scrape):
    """Run `ipcprof attach` to its end; with scrape, serve --metrics and
    fetch it every `scrape` seconds meanwhile. Returns (rc, stderr, scrapes)."""
    if not scrape:
        prof = subprocess.run(cmd, capture_output=True, text=True)
        return prof.returncode, prof.stderr, 0
    prof = subprocess.Popen(cmd + ["--metrics", "0"], stderr=subprocess.PIPE, text=True)
    url, err, done = None, [], []
    for line in prof.stderr:
        err.append(line)
        m = re.search(r"serving metrics at (\S+)", line)
        if m:
            url = m.group(1)
            break

    def scraper():
        while prof.poll() is None:
            try:
                urllib.request.urlopen(url, timeout=10).read()
                done.append(1)
            except OSError:
                pass
            time.sleep(scrape)

    t = threading.Thread(target=scraper)
    if url:
        t.start()
    err += prof.stderr.readlines()
    prof.wait()
    if url:
        t.join()
    return prof.returncode, "".join(err), len(done)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--run", type=int, default=20)
    ap.add_argument("--report", help="keep the last round's JSON report here")
    ap.add_argument("--scrape", type=float, default=0,
                    help="serve --metrics and scrape it every SECONDS while attached")
    ap.add_argument("--floor", action="store_true",
                    help="also attach empty programs on ipcprof's hooks in each round "
                    "(scripts/bench/empty_hooks.c): the cost no BPF tool on them avoids")
    ap.add_argument("--alternate", type=int, metavar="CYCLES",
                    help="instead of rounds: one pgbench run alternating windows untraced, "
                    "ipcprof attached, the empty hooks attached, CYCLES times")
    ap.add_argument("--window", type=int, default=8, help="seconds per window (--alternate)")
    ap.add_argument("--tcp", action="store_true", help="pgbench over TCP on 127.0.0.1")
    ap.add_argument("--cmd", help="attach this command instead of ipcprof (for ablations "
                    "and other tracers): {pid} is the postmaster, {run} the seconds")
    args = ap.parse_args()
    if args.alternate and (args.cmd or args.report or args.scrape or args.floor):
        ap.error("--alternate runs ipcprof and the empty hooks itself: no --cmd, --report, "
                 "--scrape or --floor")
    if args.window < 5:
        ap.error("--window: at least 5 seconds (two to attach, one to detach)")
    if args.cmd and args.report:
        ap.error("--report is ipcprof's: not with --cmd")
    if args.floor or args.alternate:
        subprocess.run(["make", "-s", "-C", ROOT, FLOOR_CMD], check=True)
    if not os.path.exists(os.path.join(PGBIN, "postgres")):
        sys.exit(f"pgbench_attach: no PostgreSQL in {PGBIN} (apt-get install postgresql-15)")
    d = tempfile.mkdtemp(prefix="ipcprof-pg-")
    pw = pwd.getpwnam("postgres")
    os.chown(d, pw.pw_uid, pw.pw_gid)
    data, sock = os.path.join(d, "data"), d
    listen = ""
    if args.tcp:  # libpq's tools and the server take the port from PGPORT
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            os.environ["PGPORT"] = str(s.getsockname()[1])
        listen = "127.0.0.1"
    server = None
    try:
        as_postgres([f"{PGBIN}/initdb", "-D", data, "--auth=trust", "-U", "postgres"])
        server = subprocess.Popen(["runuser", "-u", "postgres", "--", f"{PGBIN}/postgres",
                                   "-D", data, "-k", sock, "-c", f"listen_addresses={listen}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["pg_isready", "-h", sock], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        as_postgres(["createdb", "-h", sock, "bench"])
        as_postgres(["pgbench", "-h", sock, "-i", "-s", "10", "bench"])
        if args.tcp:
            sock = "127.0.0.1"  # from here on, pgbench's -h
        postmaster = server.pid
        # runuser is the parent: the postmaster is its child
        kids = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True)
        if kids.stdout.split():
            postmaster = int(kids.stdout.split()[0])
        if args.alternate:
            alternate(sock, postmaster, args.alternate, args.window)
            return
        tools = ["ipcprof"] + (["floor"] if args.floor else [])
        untraced = []
        attached = {t: [] for t in tools}
        edges = {t: [] for t in tools}
        for r in range(args.rounds):
            untraced += seconds(per_second(pgbench(sock, args.run)), 2, args.run)
            for tool in tools:
                p = pgbench(sock, args.run + 10)
                time.sleep(5)
                last = args.report and r == args.rounds - 1
                out = ["--format", "json", "-o", args.report] if last else ["-o", "/dev/null"]
                if tool == "floor":
                    cmd = [FLOOR, str(args.run)]
                elif args.cmd:
                    cmd = shlex.split(args.cmd.replace("{pid}", str(postmaster))
                                      .replace("{run}", str(args.run)))
                else:
                    cmd = ipcprof_attach(postmaster, args.run, out)
                rc, err, scrapes = attach(cmd, args.scrape if tool == "ipcprof" else 0)
                if rc != 0:
                    p.kill()
                    sys.exit(f"{cmd[0]} failed: {err}")
                if args.scrape and tool == "ipcprof":
                    print(f"round {r + 1}: {scrapes} scrapes", file=sys.stderr)
                tps = per_second(p)
                # seconds 1..5 untraced, 6..5+run attached (attach and
                # detach seconds included at both ends), the rest untraced
                attached[tool] += seconds(tps, 7, args.run + 4)
                edges[tool] += seconds(tps, 5, 7) + seconds(tps, args.run + 5, args.run + 7)
                print(f"round {r + 1}, {tool}: {seconds(tps, 1, args.run + 10)}",
                      file=sys.stderr)
        u = statistics.median(untraced)
        names = {"ipcprof": "ipcprof attached" if not args.cmd else f"`{args.cmd}`",
                 "floor": "empty programs on ipcprof's hooks (the floor)"}
        print("| pgbench -S, 2 clients, unix socket | transactions/s |")
        print("|---|---|")
        print(f"| untraced (median of {len(untraced)} seconds) | {u:.0f} |")
        for tool in tools:
            a = statistics.median(attached[tool])
            print(f"| {names[tool]} (median of {len(attached[tool])} seconds) | {a:.0f} "
                  f"({a / u:.3f}) |")
            print(f"| {names[tool]}: worst second around attach and detach | "
                  f"{min(edges[tool]):.0f} ({min(edges[tool]) / u:.3f}) |")
        print(f"\n{args.rounds} rounds of {args.run} s untraced, then for each tool in turn "
              f"{args.run + 10} s with it attached for {args.run} s from second 5 "
              + (f"(`{args.cmd}`" if args.cmd else
                 f"(`ipcprof attach -p POSTMASTER -d {args.run}`")
              + (f", `{FLOOR_CMD} {args.run}`" if args.floor else "") + ")"
              + (f", --metrics scraped every {args.scrape:g} s." if args.scrape else "."))
        if args.report:
            print_other_share(args.report)
    finally:
        if server:
            server.terminate()
            server.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
