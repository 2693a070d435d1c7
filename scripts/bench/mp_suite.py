#!/usr/bin/env python3
"""CPython's own multiprocessing test suite, fork start method, with a time
per test: the stress test of issue "transparent tracing" (~1,800 processes).

The tests come from the interpreter's test._test_multiprocessing, installed
with install_tests_in_module_dict as CPython's test_multiprocessing_fork does.
Prints one JSON line per test ({"test", "seconds", "outcome"}), then a
summary line; exits 0 when every test passed or was skipped.

usage: scripts/bench/mp_suite.py [-k PATTERN]
"""
import json
import signal
import sys
import time
import unittest

import test._test_multiprocessing as tm

tm.install_tests_in_module_dict(globals(), "fork")


class Timed(unittest.TextTestResult):
    def startTest(self, test):
        self._t0 = time.perf_counter()
        super().startTest(test)

    def _done(self, test, outcome):
        print(json.dumps({"test": test.id(), "seconds": round(time.perf_counter() - self._t0, 4),
                          "outcome": outcome}), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._done(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._done(test, "fail")

    def addError(self, test, err):
        super().addError(test, err)
        self._done(test, "error")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._done(test, "skip")


def main():
    # tests that send SIGINT expect Python's default handler, which a shell
    # leaves ignored for background jobs
    signal.signal(signal.SIGINT, signal.default_int_handler)
    loader = unittest.TestLoader()
    if "-k" in sys.argv:
        loader.testNamePatterns = [f"*{sys.argv[sys.argv.index('-k') + 1]}*"]
    suite = loader.loadTestsFromModule(sys.modules[__name__])
    t0 = time.perf_counter()
    result = unittest.TextTestRunner(stream=sys.stderr, resultclass=Timed, verbosity=0).run(suite)
    print(json.dumps({"summary": True, "tests": result.testsRun, "failures": len(result.failures),
                      "errors": len(result.errors), "skipped": len(result.skipped),
                      "seconds": round(time.perf_counter() - t0, 2)}), flush=True)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
