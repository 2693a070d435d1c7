#!/usr/bin/env python3
"""A live database under its own benchmark, with ipcprof attached to it.

Starts a throw-away PostgreSQL (Debian's postgresql-15, as user postgres,
unix socket only, in a temporary directory), fills it with `pgbench -i`,
then runs `pgbench -S` (read-only, 2 clients, over the unix socket) with a
throughput line per second, --rounds times: untraced for RUN seconds, then
RUN + 10 seconds with `ipcprof attach -p POSTMASTER -d RUN` started after 5 s.
Prints the per-second transactions untraced, while attached, and the worst
second around attaching and detaching.

With --report FILE, the last round's JSON report is kept there, and the
share of thread time booked as "other" (not explained by any phase) is
printed, over all processes and for the worst one. With --scrape SECONDS,
ipcprof also serves --metrics and the script scrapes it that often while
attached (a Prometheus scrapes every 15 s by default: 1 is a harsh case).

usage: scripts/bench/pgbench_attach.py [--rounds N] [--run SECONDS] [--report FILE]
           [--scrape SECONDS] [--cmd 'TRACER ... {pid} {run}']   (root)
"""
import json
import argparse
import os
import pwd
import re
import shlex
import shutil
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


def as_postgres(cmd, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + cmd, check=True,
                          capture_output=True, text=True, **kw)


def pgbench(sock, seconds):
    """Per-second tps lines of `pgbench -S -P 1`, as a list of floats."""
    return subprocess.Popen(["runuser", "-u", "postgres", "--", "pgbench", "-h", sock, "-S",
                             "-c", "2", "-j", "2", "-T", str(seconds), "-P", "1", "bench"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def per_second(p):
    _, err = p.communicate()
    return [float(m.group(1)) for m in re.finditer(r"progress: [\d.]+ s, ([\d.]+) tps", err)]


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
    ap.add_argument("--cmd", help="attach this command instead of ipcprof (for ablations "
                    "and other tracers): {pid} is the postmaster, {run} the seconds")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(PGBIN, "postgres")):
        sys.exit(f"pgbench_attach: no PostgreSQL in {PGBIN} (apt-get install postgresql-15)")
    d = tempfile.mkdtemp(prefix="ipcprof-pg-")
    pw = pwd.getpwnam("postgres")
    os.chown(d, pw.pw_uid, pw.pw_gid)
    data, sock = os.path.join(d, "data"), d
    server = None
    try:
        as_postgres([f"{PGBIN}/initdb", "-D", data, "--auth=trust", "-U", "postgres"])
        server = subprocess.Popen(["runuser", "-u", "postgres", "--", f"{PGBIN}/postgres",
                                   "-D", data, "-k", sock, "-c", "listen_addresses="],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["pg_isready", "-h", sock], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        as_postgres(["createdb", "-h", sock, "bench"])
        as_postgres(["pgbench", "-h", sock, "-i", "-s", "10", "bench"])
        postmaster = server.pid
        # runuser is the parent: the postmaster is its child
        kids = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True)
        if kids.stdout.split():
            postmaster = int(kids.stdout.split()[0])
        untraced, attached, edges = [], [], []
        for r in range(args.rounds):
            untraced += per_second(pgbench(sock, args.run))[1:]
            p = pgbench(sock, args.run + 10)
            time.sleep(5)
            last = args.report and r == args.rounds - 1
            out = ["--format", "json", "-o", args.report] if last else ["-o", "/dev/null"]
            if args.cmd:
                cmd = shlex.split(args.cmd.format(pid=postmaster, run=args.run))
            else:
                cmd = [IPCPROF, "attach", "-p", str(postmaster), "-d", str(args.run), *out]
            rc, err, scrapes = attach(cmd, args.scrape)
            if rc != 0:
                sys.exit(f"ipcprof attach failed: {err}")
            if args.scrape:
                print(f"round {r + 1}: {scrapes} scrapes", file=sys.stderr)
            tps = per_second(p)
            # seconds 1..4 untraced, 5..5+run attached (attach and detach
            # seconds included at both ends), the rest untraced again
            attached += tps[6:5 + args.run - 1]
            edges += tps[4:7] + tps[4 + args.run:7 + args.run]
            print(f"round {r + 1}: {tps}", file=sys.stderr)
        u, a = statistics.median(untraced), statistics.median(attached)
        print("| pgbench -S, 2 clients, unix socket | transactions/s |")
        print("|---|---|")
        print(f"| untraced (median of {len(untraced)} seconds) | {u:.0f} |")
        print(f"| ipcprof attached (median of {len(attached)} seconds) | {a:.0f} ({a / u:.3f}) |")
        print(f"| worst second around attach and detach | {min(edges):.0f} "
              f"({min(edges) / u:.3f}) |")
        print(f"\n{args.rounds} rounds of {args.run} s untraced, then {args.run + 10} s with "
              f"`ipcprof attach -p POSTMASTER -d {args.run}` from second 5"
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
