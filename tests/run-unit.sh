#!/bin/sh
# Run the cmocka unit-test binaries given as arguments; summarise at the end.
passed=0 failed=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	[ "$rc" -ne 0 ] && [ -z "$f" ] && failed=$((failed + 1))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
