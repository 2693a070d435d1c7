#!/bin/sh
# The main job: trace the seed transfer experiments with ipcprof and print
# where the time goes, one experiment per traced run.
set -eu
cd "$(dirname "$0")/.."
# The interpreter itself, not a launcher script (e.g. a pyenv shim) in front.
PY=$(python3 -c 'import sys; print(sys.executable)')
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for exp in inherit argument queue pipe; do
	./ipcprof run --format json -o "$dir/$exp.json" -- "$PY" scripts/bench/seed_transfer.py "$exp" \
		>"$dir/$exp.out"
done
echo "== ipcprof run --thread-sample-hz 1000 -- python3 scripts/bench/seed_transfer.py queue"
./ipcprof run --thread-sample-hz 1000 -- "$PY" scripts/bench/seed_transfer.py queue >"$dir/queue-text.out" 2>&1 || true
sed -n '/^ipcprof /,$p' "$dir/queue-text.out"
echo
echo "== the four seed experiments side by side (one traced run each)"
"$PY" scripts/bench/summarize.py "$dir"/inherit.json "$dir"/argument.json "$dir"/queue.json \
	"$dir"/pipe.json
