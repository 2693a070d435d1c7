// SPDX-License-Identifier: MIT
/* ELF symbol lookup and serializer probe planning, on this very binary. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "elfsym.h"
#include "serializers.h"

/* Functions with the names the planner looks for in a _pickle module and
 * in an interpreter with _pickle built in. */
__attribute__((noinline, used)) int dump(int x)
{
	return x + 1;
}
__attribute__((noinline, used)) int load(int x)
{
	return x + 2;
}
__attribute__((noinline, used)) int _pickle_dumps(int x)
{
	return x + 3;
}
__attribute__((noinline, used)) int _pickle_loads(int x)
{
	return x + 4;
}

static char self[PATH_MAX];

/* Independent truth: where the kernel mapped the code, from /proc/self/maps. */
static uint64_t file_offset_of(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[PATH_MAX + 128];
	uint64_t off = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, moff;

		if (sscanf(line, "%llx-%llx %*s %llx", &lo, &hi, &moff) == 3 &&
		    (uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
			off = (uintptr_t)addr - lo + moff;
			break;
		}
	}
	fclose(f);
	return off;
}

static void copy_self(const char *dst, bool strip)
{
	char cmd[2 * PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'%s%s%s", self, dst, strip ? " && strip '" : "",
		 strip ? dst : "", strip ? "'" : "");
	assert_int_equal(system(cmd), 0);
}

static void test_offset_matches_mapping(void **state)
{
	uint64_t off;

	(void)state;
	assert_int_equal(elf_symbol_offset(self, "dump", &off, NULL), 0);
	assert_int_equal(off, file_offset_of((const void *)dump));
	assert_int_equal(elf_symbol_offset(self, "_pickle_loads", &off, NULL), 0);
	assert_int_equal(off, file_offset_of((const void *)_pickle_loads));
}

static void test_missing_symbol_and_non_elf(void **state)
{
	char path[] = "/tmp/ipcprof-notelf-XXXXXX";
	uint64_t off;
	int fd;

	(void)state;
	assert_int_equal(elf_symbol_offset(self, "no_such_function_here", &off, NULL), -ENOENT);
	fd = mkstemp(path);
	assert_true(write(fd, "#!/bin/sh\n", 10) == 10);
	close(fd);
	assert_int_equal(elf_symbol_offset(path, "dump", &off, NULL), -ENOEXEC);
	unlink(path);
	assert_int_equal(elf_symbol_offset("/nonexistent", "dump", &off, NULL), -ENOENT);
}

/* The offset is attached to the file it was read from: a path swapped for
 * a link to another file in between is refused, not followed. */
static void test_attach_only_to_the_file_read(void **state)
{
	char dir[] = "/tmp/ipcprof-swap-XXXXXX", path[PATH_MAX], other[PATH_MAX];
	struct file_id id;
	uint64_t off;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lib.so", dir);
	snprintf(other, sizeof(other), "%s/victim", dir);
	copy_self(path, false);
	copy_self(other, false);
	assert_int_equal(elf_symbol_offset(path, "dump", &off, &id), 0);
	fd = file_open_same(path, &id);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(file_open_same(path, &id), -ESTALE);
	unlink(path);
	unlink(other);
	rmdir(dir);
}

static void test_needed_library_resolves(void **state)
{
	char *lib = elf_find_needed(self, "libcmocka");

	(void)state;
	assert_non_null(lib);
	assert_non_null(strstr(lib, "libcmocka.so"));
	assert_int_equal(access(lib, R_OK), 0);
	free(lib);
	assert_null(elf_find_needed(self, "libnothing"));
}

static void test_plan_pickle_extension(void **state)
{
	struct ser_plan plan = {0};
	const char *dst = "/tmp/_pickle.ipcprof-test.so";

	(void)state;
	copy_self(dst, false);
	assert_true(elf_has_symtab(dst));
	assert_int_equal(ser_plan_for_file(&plan, dst), 2);
	assert_string_equal(plan.probes[0].symbol, "dump");
	assert_int_equal(plan.probes[0].dir, SER_DIR_SERIALIZE);
	assert_string_equal(plan.probes[1].symbol, "load");
	assert_int_equal(plan.probes[1].dir, SER_DIR_DESERIALIZE);
	/* the same file is planned once */
	assert_int_equal(ser_plan_for_file(&plan, dst), 0);
	assert_int_equal(plan.n_missing, 0);
	ser_plan_free(&plan);
	unlink(dst);
}

static void test_plan_builtin_and_stripped(void **state)
{
	struct ser_plan plan = {0};
	const char *py = "/tmp/python3-ipcprof-test", *stripped = "/tmp/python3-ipcprof-stripped";

	(void)state;
	copy_self(py, false);
	copy_self(stripped, true);
	/* built-in _pickle: module entry points, never bare dump/load */
	assert_int_equal(ser_plan_for_file(&plan, py), 2);
	assert_string_equal(plan.probes[0].symbol, "_pickle_dumps");
	assert_string_equal(plan.probes[1].symbol, "_pickle_loads");
	assert_false(elf_has_symtab(stripped));
	assert_int_equal(ser_plan_for_file(&plan, stripped), 0);
	assert_int_equal(plan.n_missing, 1);
	assert_string_equal(plan.missing[0], stripped);
	ser_plan_free(&plan);
	unlink(py);
	unlink(stripped);
}

static void test_user_probe_specs(void **state)
{
	struct ser_plan plan = {0};
	char spec[PATH_MAX + 64], err[256];

	(void)state;
	snprintf(spec, sizeof(spec), "%s:load=deserialize", self);
	assert_int_equal(ser_plan_add_user(&plan, spec, err, sizeof(err)), 0);
	assert_int_equal(plan.n, 1);
	assert_true(plan.probes[0].user);
	assert_int_equal(plan.probes[0].dir, SER_DIR_DESERIALIZE);

	snprintf(spec, sizeof(spec), "%s:load=encode", self);
	assert_int_equal(ser_plan_add_user(&plan, spec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "serialize or deserialize"));
	snprintf(spec, sizeof(spec), "%s:nope=serialize", self);
	assert_int_equal(ser_plan_add_user(&plan, spec, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no such function"));
	assert_int_equal(ser_plan_add_user(&plan, "justaname", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expected BINARY:SYMBOL="));
	assert_int_equal(ser_plan_add_user(&plan, "/no/such/bin:f=serialize", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "no such executable"));
	assert_int_equal(plan.n, 1);
	ser_plan_free(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offset_matches_mapping),
	    cmocka_unit_test(test_missing_symbol_and_non_elf),
	    cmocka_unit_test(test_attach_only_to_the_file_read),
	    cmocka_unit_test(test_needed_library_resolves),
	    cmocka_unit_test(test_plan_pickle_extension),
	    cmocka_unit_test(test_plan_builtin_and_stripped),
	    cmocka_unit_test(test_user_probe_specs),
	};
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return 1;
	self[n] = '\0';
	return cmocka_run_group_tests(tests, NULL, NULL);
}
