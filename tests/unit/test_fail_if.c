// SPDX-License-Identifier: MIT
/*
 * compare --fail-if: the expression grammar, its boundaries (strict
 * comparisons, a zero baseline), and JSON reports read back for compare,
 * good and damaged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fail_if.h"
#include "report_json_read.h"

static struct report a, b;

static bool trips(const char *expr, uint64_t x, uint64_t y)
{
	struct fail_if f;
	char err[700], msg[512];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.totals.phase_ns[PH_SERIALIZE] = x;
	b.totals.phase_ns[PH_SERIALIZE] = y;
	assert_int_equal(fail_if_parse(expr, &f, err, sizeof(err)), 0);
	return fail_if_check(&f, &a, &b, msg, sizeof(msg));
}

static void test_relative(void **state)
{
	(void)state;
	assert_false(trips("serialize_ns>+10%", 1000, 1100)); /* exactly +10%: strict */
	assert_true(trips("serialize_ns>+10%", 1000, 1101));
	assert_false(trips("serialize_ns>+10%", 1000, 900));
	assert_true(trips("serialize_ns<-5%", 1000, 949));
	assert_false(trips("serialize_ns<-5%", 1000, 950));
	assert_true(trips("serialize_ns>10%", 0, 1)); /* from nothing: +inf% */
	assert_false(trips("serialize_ns>10%", 0, 0));
	assert_true(trips("serialize_ns<-99%", 5, 0));
}

static void test_absolute(void **state)
{
	(void)state;
	assert_false(trips("serialize_ns>+50ms", 100000000, 150000000));
	assert_true(trips("serialize_ns>+50ms", 100000000, 150000001));
	assert_true(trips("serialize_ns>+2us", 0, 2001));
	assert_true(trips("serialize_ns>1000", 0, 1001)); /* no unit: ns */
	assert_true(trips("serialize_ns<-0.5s", 2000000000, 1000000000));
}

static void test_bad_expressions(void **state)
{
	static const char *const bad[] = {
	    "",
	    "serialize_ns",
	    "serialize_ns=10%",
	    "nosuch_ns>10%",
	    "serialize_ns>",
	    "serialize_ns>ten%",
	    "serialize_ns>+10MB",
	    "bytes_read>+1ms",
	    "serialize_ns>+10%%",
	    "serialize_ns>inf",
	    "SERIALIZE_NS>1",
	    "serialize_ns>+1 ms",
	};
	struct fail_if f;
	char err[700];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fail_if_parse(bad[i], &f, err, sizeof(err)), -EINVAL);
		assert_null(strchr(err, '\n'));
		assert_non_null(strstr(err, "--fail-if"));
	}
	assert_int_equal(fail_if_parse("bytes_written>+4KiB", &f, err, sizeof(err)), 0);
	assert_true(f.amount == 4096.0);
	assert_int_equal(fail_if_parse("processes>3", &f, err, sizeof(err)), 0);
}

static const char good[] =
    "some output of the traced command\n"
    "{\"tool\": \"ipcprof\", \"target\": \"t\", \"methods\": {\"copy\": \"sampled\"},\n"
    " \"totals\": {\"wall_ns\": 10, \"thread_ns\": 20, \"serialize_ns\": 3, \"deserialize_ns\": 0,"
    " \"syscall_ns\": 0, \"blocked_ns\": 0, \"copy_ns\": 0, \"fault_ns\": 0, \"fork_ns\": 0,"
    " \"mmap_ns\": 0, \"wait_ns\": 0, \"compute_ns\": 0, \"other_ns\": 0, \"bytes_written\": 7,"
    " \"bytes_read\": 7, \"ipc_calls\": 2, \"serialize_calls\": 1, \"deserialize_calls\": 0,"
    " \"faults_cow\": 4, \"faults_first_touch\": 5, \"faults_other\": 6},\n"
    " \"processes\": [{\"pid\": 1, \"ppid\": 0, \"comm\": \"x\", \"wall_ns\": 10, \"thread_ns\": "
    "20,"
    " \"serialize_ns\": 3, \"deserialize_ns\": 0, \"syscall_ns\": 0, \"blocked_ns\": 0, "
    "\"copy_ns\": "
    "0, \"fault_ns\": 0, \"fork_ns\": 0, \"mmap_ns\": 0, \"wait_ns\": 0, \"compute_ns\": 0,"
    " \"other_ns\": 0, \"bytes_written\": 7, \"bytes_read\": 7, \"ipc_calls\": 2,"
    " \"serialize_calls\": 1, \"deserialize_calls\": 0, \"faults_cow\": 4, "
    "\"faults_first_touch\": 5, \"faults_other\": 6}]}\n";

static void test_json_reports(void **state)
{
	struct report r;
	char err[512], buf[sizeof(good) + 16];

	(void)state;
	assert_int_equal(report_json_decode(good, strlen(good), "g.json", &r, err, sizeof(err)), 0);
	assert_string_equal(r.target, "t");
	assert_int_equal(r.totals.wall_ns, 10);
	assert_int_equal(r.totals.phase_ns[PH_SERIALIZE], 3);
	assert_int_equal(r.totals.bytes_written, 7);
	assert_int_equal(r.n_procs, 1);
	assert_string_equal(r.methods[PH_COPY], "sampled");
	report_free(&r);
	/* damaged: cut short, a wrong type, a negative count, not ours */
	assert_int_not_equal(
	    report_json_decode(good, strlen(good) / 2, "c.json", &r, err, sizeof(err)), 0);
	assert_null(strchr(err, '\n'));
	snprintf(buf, sizeof(buf), "%s", good);
	memcpy(strstr(buf, "\"wall_ns\": 10"), "\"wall_ns\":1.5", 13);
	assert_int_not_equal(report_json_decode(buf, strlen(buf), "t.json", &r, err, sizeof(err)),
			     0);
	assert_non_null(strstr(err, "wall_ns"));
	snprintf(buf, sizeof(buf), "%s", good);
	memcpy(strstr(buf, "\"bytes_read\": 7"), "\"bytes_read\":-7", 15);
	assert_int_not_equal(report_json_decode(buf, strlen(buf), "n.json", &r, err, sizeof(err)),
			     0);
	assert_non_null(strstr(err, "bytes_read"));
	assert_int_not_equal(
	    report_json_decode("{\"tool\": \"other\"}", 17, "o.json", &r, err, sizeof(err)), 0);
	assert_int_not_equal(report_json_decode("", 0, "e.json", &r, err, sizeof(err)), 0);
	/* a JSON null is a NULL object to json-c: once a NULL strcmp */
	assert_int_not_equal(
	    report_json_decode("{\"tool\": null}", 15, "null.json", &r, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "tool"));
	/* a small file of empty objects would take json-c gigabytes: refused
	 * before parsing (brackets inside a string do not count) */
	{
		size_t n = (1u << 20) + 1, len = 0;
		char *hostile = malloc(n * 3 + 64);

		assert_non_null(hostile);
		len += (size_t)sprintf(hostile, "{\"tool\":\"ipcprof\",\"x\":[");
		for (size_t i = 0; i < n; i++)
			len += (size_t)sprintf(hostile + len, "{},");
		memcpy(hostile + len - 1, "]}", 3);
		assert_int_not_equal(
		    report_json_decode(hostile, len + 1, "h.json", &r, err, sizeof(err)), 0);
		assert_non_null(strstr(err, "too many objects"));
		free(hostile);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relative),
	    cmocka_unit_test(test_absolute),
	    cmocka_unit_test(test_bad_expressions),
	    cmocka_unit_test(test_json_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
