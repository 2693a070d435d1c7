#!/bin/sh
# Where ipcprof's own cost goes: run a workload under ipcprof with the
# kernel's BPF run-time statistics on, and print each of our programs' call
# count, total and average run time (bpftool prog show). Root, after make.
#
#   scripts/bench/bpf_profile.sh [CMD ARGS...]   (default: the queue seed, 5 transfers)
#   IPCPROF_OPTS="--no-call-sites" scripts/bench/bpf_profile.sh ...   (options for ipcprof run)
#   IPCPROF=/tmp/old/ipcprof scripts/bench/bpf_profile.sh ...   (another build, for A/B)
set -eu
cd "$(dirname "$0")/../.."
PY=$(python3 -c 'import sys; print(sys.executable)')
[ $# -gt 0 ] || set -- "$PY" scripts/bench/seed_transfer.py queue --repeats 5
old=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -q kernel.bpf_stats_enabled="$old"' EXIT
sysctl -q kernel.bpf_stats_enabled=1
out=$(mktemp)
# shellcheck disable=SC2086 # IPCPROF_OPTS holds several words
"${IPCPROF:-./ipcprof}" run -o /dev/null ${IPCPROF_OPTS:-} -- "$@" >/dev/null &
pid=$!
# sample the statistics just before the tracer unloads its programs
while kill -0 "$pid" 2>/dev/null; do
	bpftool prog show -j >"$out.new" 2>/dev/null && mv "$out.new" "$out"
	sleep 0.2
done
python3 - "$out" <<'PYEOF'
import json, sys
progs = json.load(open(sys.argv[1]))
rows = sorted(((p.get("run_time_ns", 0), p.get("run_cnt", 0), p["name"]) for p in progs
               if p.get("run_cnt") and p.get("name")), reverse=True)
print("| program | calls | total | average |")
print("|---|---|---|---|")
total = 0
for t, c, n in rows[:12]:
    total += t
    print(f"| {n} | {c:,} | {t / 1e6:.2f} ms | {t / c:.0f} ns |")
print(f"\nsum of the listed programs: {total / 1e6:.1f} ms")
PYEOF
rm -f "$out"
