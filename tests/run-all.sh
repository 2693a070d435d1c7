#!/bin/sh
# The whole suite: cmocka unit tests (binaries given as arguments), the
# integration tests on this kernel (root and BPF), and with IPCPROF_VMTEST=1
# the integration tests again inside Debian's 6.1 kernel under qemu. Each
# runner's exit status decides; the summary lines are for people.
cd "$(dirname "$0")/.." || exit 1
status=0
tests/run-unit.sh "$@" || status=1
python3 tests/integration/run.py || status=1
if [ "${IPCPROF_VMTEST:-0}" = 1 ]; then
	# the same binary and fixtures inside another kernel (precise path);
	# the guest's exit status is the test runner's
	scripts/vm/vmtest.sh >.output/vmtest.log 2>&1
	vm_rc=$?
	grep -v '^\[' .output/vmtest.log | sed -n '/vmtest-guest: kernel/,$p'
	if [ "$vm_rc" -ne 0 ]; then
		grep -q 'vmtest-guest: kernel' .output/vmtest.log || tail -n 40 .output/vmtest.log
		echo "vm: failed (exit $vm_rc; full log in .output/vmtest.log)"
		status=1
	fi
fi
if [ "$status" -eq 0 ]; then echo "all tests passed"; else echo "some tests FAILED"; fi
exit $status
