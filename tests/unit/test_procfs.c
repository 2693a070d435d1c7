// SPDX-License-Identifier: MIT
/* /proc parsing against a fake proc tree (and a few real reads). */
#include <errno.h>
#include <limits.h>
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

#include "procfs.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX], dir[PATH_MAX], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/ipcprof-proc-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	/* 100 -> 101 -> 103, 100 -> 102; 200 unrelated; comm with ") (" */
	put("100/stat", "100 (python3) S 1 100 100 0 -1\n");
	put("101/stat", "101 (evil) (name) R 100 100 100 0 -1\n");
	put("102/stat", "102 (sh) S 100 100 100 0 -1\n");
	put("103/stat", "103 (cat) S 101 100 100 0 -1\n");
	put("200/stat", "200 (other) S 1 200 200 0 -1\n");
	put("300/stat", "300 (gone) Z 1 300 300 0 -1\n");
	put("100/comm", "python3\n");
	put("100/task/100/stat", "");
	put("100/task/104/stat", "");
	put("100/maps",
	    "55d0-55e0 r--p 00000000 08:01 11 /usr/bin/python3.11\n"
	    "55e0-55f0 r-xp 00001000 08:01 11 /usr/bin/python3.11\n"
	    "7f00-7f10 r-xp 00000000 08:01 12 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	    "7f10-7f20 rw-p 00000000 00:00 0 \n"
	    "7f20-7f30 r-xp 00000000 08:01 13 /opt/py/lib-dynload/_pickle.cpython-311.so\n"
	    "7f30-7f40 r-xp 00002000 08:01 13 /opt/py/lib-dynload/_pickle.cpython-311.so\n"
	    "7ffd-7ffe r-xp 00000000 00:00 0 [vdso]\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void test_stat_ppid_with_hostile_comm(void **state)
{
	pid_t ppid = 0;

	(void)state;
	assert_int_equal(proc_parse_stat_ppid("101 (evil) (name) R 100 100", &ppid), 0);
	assert_int_equal(ppid, 100);
	assert_int_equal(proc_parse_stat_ppid("7 (a b) S 3 7 7", &ppid), 0);
	assert_int_equal(ppid, 3);
	assert_int_equal(proc_parse_stat_ppid("garbage", &ppid), -EINVAL);
}

static void test_descendants(void **state)
{
	struct pid_list l = {0};

	(void)state;
	assert_int_equal(proc_descendants(root, 100, &l), 0);
	assert_int_equal(l.n, 3);
	assert_true(pid_list_has(&l, 101));
	assert_true(pid_list_has(&l, 102));
	assert_true(pid_list_has(&l, 103));
	assert_false(pid_list_has(&l, 200));
	assert_false(pid_list_has(&l, 100));
	pid_list_free(&l);
}

static void test_tasks_comm_exists(void **state)
{
	struct pid_list l = {0};
	char comm[32];

	(void)state;
	assert_int_equal(proc_tasks(root, 100, &l), 0);
	assert_int_equal(l.n, 2);
	assert_true(pid_list_has(&l, 104));
	pid_list_free(&l);
	assert_int_equal(proc_comm(root, 100, comm, sizeof(comm)), 0);
	assert_string_equal(comm, "python3");
	assert_true(proc_exists(root, 100));
	assert_false(proc_exists(root, 999));
	assert_false(proc_exists(root, -1));
	assert_true(proc_alive(root, 100));
	assert_true(proc_alive(root, 101));
	assert_false(proc_alive(root, 300)); /* zombie */
	assert_false(proc_alive(root, 999));
	assert_int_equal(proc_tasks(root, 999, &l), -ENOENT);
}

static void test_exec_mappings_distinct_files(void **state)
{
	char **v = NULL;
	int n;

	(void)state;
	n = proc_exec_mappings(root, 100, &v);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "/usr/bin/python3.11");
	assert_string_equal(v[1], "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_string_equal(v[2], "/opt/py/lib-dynload/_pickle.cpython-311.so");
	free_strv(v, n);
	assert_int_equal(proc_exec_mappings(root, 999, &v), -ENOENT);
}

static void test_real_self(void **state)
{
	char exe[PATH_MAX], **v = NULL;
	int n;

	(void)state;
	assert_int_equal(proc_exe("/proc", getpid(), exe, sizeof(exe)), 0);
	n = proc_exec_mappings("/proc", getpid(), &v);
	assert_true(n >= 2);
	assert_string_equal(v[0], exe);
	free_strv(v, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stat_ppid_with_hostile_comm),
	    cmocka_unit_test(test_descendants),
	    cmocka_unit_test(test_tasks_comm_exists),
	    cmocka_unit_test(test_exec_mappings_distinct_files),
	    cmocka_unit_test(test_real_self),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
