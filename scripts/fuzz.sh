#!/bin/sh
# Run each libFuzzer binary for SECONDS from its seeds (tests/fuzz/seeds/NAME,
# plus real ELF files for the ELF reader); a crash, leak, sanitizer report
# or timeout fails the run and leaves the input in .output/fuzz/.
# Usage: scripts/fuzz.sh SECONDS FUZZER...
set -eu
cd "$(dirname "$0")/.."
seconds=$1
shift
status=0
for bin in "$@"; do
	name=$(basename "$bin" | sed 's/^fuzz_//')
	corpus=.output/fuzz/corpus-$name
	rm -rf "$corpus"
	mkdir -p "$corpus"
	if [ -d "tests/fuzz/seeds/$name" ]; then
		cp tests/fuzz/seeds/"$name"/* "$corpus"/
	fi
	if [ "$name" = elfsym ]; then
		# real binaries: a fixture with symbols, a stripped system one,
		# a stripped one with a PyMethodDef table
		cp .output/fixtures/ipc_bytes "$corpus"/
		cp /usr/bin/true "$corpus"/
		strip -o "$corpus"/pickle_table .output/fixtures/pickle_table
	fi
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=.output/fuzz/"$name"- "$corpus" >".output/fuzz/$name.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' ".output/fuzz/$name.log")
		echo "fuzz: $name: ${runs:-?} inputs in ${seconds}s, no finding"
	else
		echo "fuzz: $name: FINDING (log .output/fuzz/$name.log)"
		grep -E 'ERROR|SUMMARY|Test unit written' ".output/fuzz/$name.log" | head -5
		status=1
	fi
done
exit $status
