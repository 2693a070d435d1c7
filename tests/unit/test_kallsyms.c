// SPDX-License-Identifier: MIT
/* Copy/fault routine ranges out of a kallsyms file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "kallsyms.h"

static char path[64];

static void write_file(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/ipcprof-kallsyms-XXXXXX");
	close(mkstemp(path));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_ranges_end_at_next_symbol(void **state)
{
	struct code_range r[8];
	int n;

	(void)state;
	/* unsorted on purpose, with data symbols that must not end a routine */
	write_file("ffffffff81bb0000 T _copy_to_iter\n"
		   "ffffffff81000000 T _stext\n"
		   "ffffffff81bb0100 D some_data\n"
		   "ffffffff81bb0400 t helper\n"
		   "ffffffff82255cb0 T rep_movs_alternative\n"
		   "ffffffff82255d00 T next_func\n"
		   "ffffffff8225f6d0 T exc_page_fault\n"
		   "ffffffff8225f800 T after_fault\n"
		   "ffffffffc0000000 t mod_func\t[mod]\n");
	n = kallsyms_code_ranges(path, r, 8);
	unlink(path);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].start, 0xffffffff81bb0000ull);
	assert_int_equal(r[0].end, 0xffffffff81bb0400ull);
	assert_int_equal(r[0].cls, CODE_COPY);
	assert_int_equal(r[1].end, 0xffffffff82255d00ull);
	assert_int_equal(r[1].cls, CODE_COPY);
	assert_int_equal(r[2].cls, CODE_FAULT);
	assert_int_equal(r[2].end, 0xffffffff8225f800ull);
}

static void test_hidden_addresses_are_an_error(void **state)
{
	struct code_range r[8];
	int n;

	(void)state;
	write_file("0000000000000000 T _copy_to_iter\n0000000000000000 T next\n");
	n = kallsyms_code_ranges(path, r, 8);
	unlink(path);
	assert_int_equal(n, -EPERM);
	assert_int_equal(kallsyms_code_ranges("/nonexistent/kallsyms", r, 8), -ENOENT);
}

static void test_real_kernel_has_copy_routines(void **state)
{
	struct code_range r[IPCPROF_MAX_COPY_RANGES];
	int n = kallsyms_code_ranges("/proc/kallsyms", r, IPCPROF_MAX_COPY_RANGES);
	int copies = 0;

	(void)state;
	if (n == -EPERM || n == -ENOENT) {
		/* addresses hidden from this user (kptr_restrict), or no procfs:
		 * the fixtures above test the parser; this is the kernel's side */
		print_message("skipped: /proc/kallsyms %s\n",
			      n == -EPERM ? "shows no addresses to this user" : "is absent");
		skip();
	}
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		assert_true(r[i].end > r[i].start);
		copies += r[i].cls == CODE_COPY;
	}
	assert_true(copies >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ranges_end_at_next_symbol),
	    cmocka_unit_test(test_hidden_addresses_are_an_error),
	    cmocka_unit_test(test_real_kernel_has_copy_routines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
