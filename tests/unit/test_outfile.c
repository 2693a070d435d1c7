// SPDX-License-Identifier: MIT
/*
 * Output files written by root: a new version appears whole at its path or
 * not at all, a symlink at the path is replaced rather than followed, and an
 * output that was never opened owns no descriptor (its zeroed dirfd is
 * stdin's number: closing it once closed ipcprof's stdin).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "outfile.h"

static char dir[] = "/tmp/ipcprof-outfile-XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void test_zeroed_abort_keeps_stdin(void **state)
{
	struct outfile never;
	memset(&never, 0, sizeof(never));
	int null = open("/dev/null", O_RDONLY), probe;

	(void)state;
	/* a known descriptor 0, whatever the runner gave us */
	assert_true(null >= 0);
	assert_int_equal(dup2(null, 0), 0);
	if (null != 0)
		close(null);
	outfile_abort(&never);
	outfile_abort(&never);
	/* stdin still there: dup of it still works */
	probe = dup(0);
	assert_true(probe >= 0);
	close(probe);
}

static void test_commit_and_abort(void **state)
{
	char path[128], err[256];
	struct outfile o;

	(void)state;
	snprintf(path, sizeof(path), "%s/report.txt", dir);
	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	fputs("first\n", o.f);
	/* nothing at the path before commit */
	assert_null(slurp(path));
	assert_int_equal(outfile_commit(&o, err, sizeof(err)), 0);
	assert_string_equal(slurp(path), "first\n");

	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	fputs("second, abandoned\n", o.f);
	outfile_abort(&o);
	outfile_abort(&o); /* twice: still harmless */
	assert_string_equal(slurp(path), "first\n");
}

static void test_symlink_replaced_not_followed(void **state)
{
	char path[128], victim[128], err[256];
	struct outfile o;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/link.txt", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	{
		FILE *f = fopen(victim, "w");

		assert_non_null(f);
		fputs("untouched\n", f);
		fclose(f);
	}
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	fputs("report\n", o.f);
	assert_int_equal(outfile_commit(&o, err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(slurp(path), "report\n");
	assert_string_equal(slurp(victim), "untouched\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zeroed_abort_keeps_stdin),
	    cmocka_unit_test(test_commit_and_abort),
	    cmocka_unit_test(test_symlink_replaced_not_followed),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
