#!/bin/sh
# Run the cmocka unit-test binaries given as arguments, in TAP (cmocka's
# CMOCKA_MESSAGE_OUTPUT). A binary's exit status says whether it passed;
# the TAP lines are only counted for the summary.
passed=0 failed=0 skipped=0 status=0
for t in "$@"; do
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	n_skip=$(printf '%s\n' "$out" | grep -c '^\(not \)\?ok .*# SKIP')
	n_fail=$(printf '%s\n' "$out" | grep '^not ok' | grep -vc '# SKIP')
	passed=$((passed + $(printf '%s\n' "$out" | grep '^ok ' | grep -vc '# SKIP')))
	skipped=$((skipped + n_skip))
	failed=$((failed + n_fail))
	if [ "$rc" -ne 0 ]; then
		status=1
		[ "$n_fail" -gt 0 ] || failed=$((failed + 1)) # died uncounted
	fi
done
echo "unit: $passed passed, $failed failed, $skipped skipped"
exit $status
