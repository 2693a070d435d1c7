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
vm_out="" vm_rc=0
if [ "${IPCPROF_VMTEST:-0}" = 1 ]; then
	# the same binary and fixtures inside another kernel (precise path)
	vm_out=$(scripts/vm/vmtest.sh 2>&1)
	vm_rc=$?
	printf '%s\n' "$vm_out" | grep -v '^\[' | sed -n '/vmtest-guest: kernel/,$p'
	[ -n "$(printf '%s\n' "$vm_out" | grep '^vm: ')" ] || vm_out="vm: 0 passed, 1 failed"
fi
sum() { printf '%s\n' "$1" | sed -n "s/^$2: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p" | tail -1; }
set -- $(sum "$unit_out" unit) $(sum "$int_out" integration) $(sum "$vm_out" vm)
passed=$((${1:-0} + ${3:-0} + ${5:-0}))
failed=$((${2:-0} + ${4:-0} + ${6:-0}))
if [ "$unit_rc" -ne 0 ] || [ "$int_rc" -ne 0 ] || [ "$vm_rc" -ne 0 ]; then
	[ "$failed" -eq 0 ] && failed=1 # a runner died without counting
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
