// SPDX-License-Identifier: MIT
/*
 * The metrics model: bounded label cardinality with series that add up to
 * the whole, counters that never go down (a process exiting moves its
 * numbers into "other"), label values escaped. Reports are built by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

#define N 10

static struct proc_row procs[N];
static struct report rep;

static void build(void)
{
	memset(&rep, 0, sizeof(rep));
	memset(procs, 0, sizeof(procs));
	for (int i = 0; i < N; i++) {
		procs[i].pid = 100 + (uint32_t)i;
		snprintf(procs[i].comm, sizeof(procs[i].comm), "p%d", i);
		procs[i].phase_ns[PH_SERIALIZE] = 1000000000ull * (uint64_t)(i + 1);
	}
	rep.procs = procs;
	rep.n_procs = N;
}

/* The value of `name{labels}` in text, or -1. */
static double value(const char *text, const char *series)
{
	const char *p = strstr(text, series);

	return p ? strtod(p + strlen(series), NULL) : -1;
}

static double serialize_sum(const char *text)
{
	double sum = 0;

	for (const char *p = text; (p = strstr(p, "{phase=\"serialize\"")); p++)
		sum += strtod(strchr(p, '}') + 1, NULL);
	return sum;
}

static void test_cardinality_and_sums(void **state)
{
	struct metrics *m = metrics_new(3, 4);
	size_t len;
	char *t;

	(void)state;
	build();
	assert_int_equal(metrics_update(m, &rep), 0);
	t = metrics_format(m, false, &len);
	/* the first three have their own series, the rest are "other" */
	assert_true(value(t, "{phase=\"serialize\",pid=\"100\",comm=\"p0\"}") == 1.0);
	assert_true(value(t, "{phase=\"serialize\",pid=\"102\",comm=\"p2\"}") == 3.0);
	assert_null(strstr(t, "pid=\"103\""));
	assert_true(value(t, "{phase=\"serialize\",pid=\"other\",comm=\"other\"}") ==
		    4 + 5 + 6 + 7 + 8 + 9 + 10);
	assert_true(serialize_sum(t) == 55.0);
	free(t);

	/* p1 exits: its numbers join "other", which grows; no new slot goes to
	 * a process that was counted in "other" */
	procs[1].exited = true;
	procs[5].phase_ns[PH_SERIALIZE] += 1000000000ull;
	assert_int_equal(metrics_update(m, &rep), 0);
	t = metrics_format(m, true, &len);
	assert_null(strstr(t, "pid=\"101\""));
	assert_null(strstr(t, "pid=\"105\""));
	assert_true(value(t, "{phase=\"serialize\",pid=\"other\",comm=\"other\"}") == 49 + 2 + 1);
	assert_true(serialize_sum(t) == 56.0);
	assert_int_equal(strcmp(t + len - 6, "# EOF\n"), 0);
	free(t);
	metrics_free(m);
}

static void test_counters_hold_when_an_estimate_drops(void **state)
{
	struct metrics *m = metrics_new(8, 8);
	size_t len;
	char *t;

	(void)state;
	build();
	procs[0].phase_ns[PH_OTHER] = 5000000000ull;
	assert_int_equal(metrics_update(m, &rep), 0);
	procs[0].phase_ns[PH_OTHER] = 4000000000ull; /* revised by a new sample */
	assert_int_equal(metrics_update(m, &rep), 0);
	t = metrics_format(m, false, &len);
	assert_true(value(t, "{phase=\"other\",pid=\"100\",comm=\"p0\"}") == 5.0);
	free(t);
	metrics_free(m);
}

static void test_label_values(void **state)
{
	char out[64];

	(void)state;
	metrics_label_value("a\"b\\c\nd\x01\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "a\\\"b\\\\c\\nd???");
	metrics_label_value(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	metrics_label_value("\"\"\"\"", out, 6); /* never cuts an escape in two */
	assert_string_equal(out, "\\\"\\\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cardinality_and_sums),
	    cmocka_unit_test(test_counters_hold_when_an_estimate_drops),
	    cmocka_unit_test(test_label_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
