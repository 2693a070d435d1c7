#!/usr/bin/env python3
"""Run the integration tests; print the skipped ones with their reasons and
'N passed, N failed, N skipped' at the end. The exit status says whether all passed."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Counting(unittest.TextTestResult):
    pass


# Inside the qemu VM (TCG, slow) only the C-fixture and precise-path tests
# run; the Python seed experiments are for the host.
VM_TESTS = ("test_channels.py", "test_faults.py", "test_precise.py", "test_cli.py", "test_attach.py",
            "test_fork_gate.py", "test_shared.py", "test_inet.py")


def main():
    args = sys.argv[1:]
    if args == ["--vm"]:
        patterns = VM_TESTS
    else:
        patterns = args or ["test_*.py"]
    suite = unittest.TestSuite()
    for pattern in patterns:
        suite.addTests(unittest.defaultTestLoader.discover(HERE, pattern=pattern))
    result = unittest.TextTestRunner(verbosity=2, resultclass=Counting).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    where = "vm" if args == ["--vm"] else "integration"
    for test, reason in result.skipped:
        print(f"{where}: skipped {test.id()}: {reason}")
    print(f"{where}: {passed} passed, {failed} failed, {len(result.skipped)} skipped")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
