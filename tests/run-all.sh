#!/bin/sh
# The whole suite: cmocka unit tests (binaries given as arguments), then the
# integration tests, which need root and BPF. Ends with one summary line.
cd "$(dirname "$0")/.." || exit 1
unit_out=$(tests/run-unit.sh "$@" 2>&1)
unit_rc=$?
printf '%s\n' "$unit_out"
int_out=$(python3 tests/integration/run.py 2>&1)
int_rc=$?
printf '%s\n' "$int_out"
sum() { printf '%s\n' "$1" | sed -n "s/^$2: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p" | tail -1; }
set -- $(sum "$unit_out" unit) $(sum "$int_out" integration)
passed=$((${1:-0} + ${3:-0}))
failed=$((${2:-0} + ${4:-0}))
if [ "$unit_rc" -ne 0 ] || [ "$int_rc" -ne 0 ]; then
	[ "$failed" -eq 0 ] && failed=1 # a runner died without counting
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
