// SPDX-License-Identifier: MIT
/* ELF symbol lookup and serializer probe planning, on this very binary. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
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

#include "elf_pymethods.h"
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

/*
 * The shape of CPython's PyMethodDef, with the docstrings of _pickle's
 * dumps/loads (the planner's method-table path must find _pickle_dumps and
 * _pickle_loads through them once this binary is stripped), marshal's dumps
 * (same name, other docstring: must not be taken), and a method defined
 * twice with different functions (ambiguous: must not be taken). This test
 * binary is a PIE: its pointers are relative relocations, as in libpython.
 */
struct fake_method_def {
	const char *ml_name;
	void *ml_meth;
	int ml_flags;
	const char *ml_doc;
};
__attribute__((used)) static struct fake_method_def fake_methods[] = {
    {"dumps", (void *)_pickle_dumps, 0x82,
     "dumps($module, /, obj, protocol=None)\n--\n\nReturn the pickled representation of the "
     "object as a bytes object."},
    {"loads", (void *)_pickle_loads, 0x82,
     "loads($module, data, /)\n--\n\nRead and return an object from the given pickle data."},
    {"dumps", (void *)dump, 0x80,
     "dumps($module, value, version=version, /)\n--\n\nReturn the bytes object that would be "
     "written to a file by dump(value, file)."},
    {"frob", (void *)dump, 0x8, "frob($self, /)\n--\n\nFrobnicate twice."},
    {"frob", (void *)load, 0x8, "frob($self, /)\n--\n\nFrobnicate twice."},
    {NULL, NULL, 0, NULL},
};
/* A docstring no table refers to. */
__attribute__((used)) static const char orphan_doc[] = "orphan($self)\n--\n\nIn no table.";

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

static void check_method_table(const char *path)
{
	const struct py_method want[] = {
	    {"dumps", "Return the pickled representation of the object"},
	    {"loads", "Read and return an object from the given pickle data"},
	    {"dumps", "Return the bytes object that would be written"},
	    {"frob", "Frobnicate twice."},
	    {"orphan", "In no table."},
	    {"nothing", "Not a docstring anywhere"},
	};
	uint64_t off[6];

	assert_int_equal(elf_py_method_offsets(path, want, 6, off, NULL), 3);
	assert_int_equal(off[0], file_offset_of((const void *)_pickle_dumps));
	assert_int_equal(off[1], file_offset_of((const void *)_pickle_loads));
	assert_int_equal(off[2], file_offset_of((const void *)dump));
	assert_int_equal(off[3], PY_METHOD_NOT_FOUND); /* two tables disagree */
	assert_int_equal(off[4], PY_METHOD_NOT_FOUND);
	assert_int_equal(off[5], PY_METHOD_NOT_FOUND);
}

/*
 * GNU ld writes a relative relocation's addend into the word as well; lld
 * (by default) leaves the word 0 and the pointer only in the relocation.
 * Make the copy at `path` look like that.
 */
static void zero_relocated_words(const char *path)
{
	static const char zeros[8];
	uint64_t offs[4096];
	size_t n = 0;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	int fd = open(path, O_RDWR);
	Elf *elf;

	assert_true(fd >= 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_non_null(gelf_getehdr(elf, &eh));
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data = elf_getdata(scn, NULL);
		GElf_Shdr sh;

		assert_non_null(gelf_getshdr(scn, &sh));
		if (sh.sh_type != SHT_RELA || !data)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && n < 4096; i++) {
			Elf_Scn *t = NULL;
			GElf_Rela r;

			assert_non_null(gelf_getrela(data, (int)i, &r));
			if (GELF_R_TYPE(r.r_info) !=
			    (eh.e_machine == EM_AARCH64 ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE))
				continue;
			while ((t = elf_nextscn(elf, t))) {
				GElf_Shdr ts;

				if (gelf_getshdr(t, &ts) && ts.sh_type == SHT_PROGBITS &&
				    r.r_offset >= ts.sh_addr &&
				    r.r_offset < ts.sh_addr + ts.sh_size)
					offs[n++] = r.r_offset - ts.sh_addr + ts.sh_offset;
			}
		}
	}
	elf_end(elf);
	assert_true(n > 5);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pwrite(fd, zeros, 8, (off_t)offs[i]), 8);
	close(fd);
}

/* Independent truth again: the functions' mapped offsets, with and without
 * symbols (stripping keeps the loaded segments where they are), with the
 * pointers in place (GNU ld) or only in relocations (lld). */
static void test_method_table_matches_mapping(void **state)
{
	const char *stripped = "/tmp/ipcprof-methods-stripped";
	char path[] = "/tmp/ipcprof-notelf-XXXXXX";
	const struct py_method one = {"dumps", "Return"};
	uint64_t off;
	int fd;

	(void)state;
	assert_non_null(fake_methods[0].ml_name);
	assert_non_null(orphan_doc);
	check_method_table(self);
	copy_self(stripped, true);
	assert_false(elf_has_symtab(stripped));
	check_method_table(stripped);
	zero_relocated_words(stripped);
	check_method_table(stripped);
	unlink(stripped);
	fd = mkstemp(path);
	assert_true(write(fd, "#!/bin/sh\n", 10) == 10);
	close(fd);
	assert_int_equal(elf_py_method_offsets(path, &one, 1, &off, NULL), -ENOEXEC);
	assert_int_equal(off, PY_METHOD_NOT_FOUND);
	unlink(path);
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
	char notelf[] = "/tmp/python3-ipcprof-XXXXXX";
	int fd;

	(void)state;
	copy_self(py, false);
	copy_self(stripped, true);
	/* built-in _pickle: module entry points, never bare dump/load */
	assert_int_equal(ser_plan_for_file(&plan, py), 2);
	assert_string_equal(plan.probes[0].symbol, "_pickle_dumps");
	assert_string_equal(plan.probes[0].how, "symbol");
	assert_string_equal(plan.probes[1].symbol, "_pickle_loads");
	/* stripped: the same functions through the method table */
	assert_false(elf_has_symtab(stripped));
	assert_int_equal(ser_plan_for_file(&plan, stripped), 2);
	assert_string_equal(plan.probes[2].symbol, "_pickle.dumps");
	assert_string_equal(plan.probes[2].how, "method table");
	assert_int_equal(plan.probes[2].dir, SER_DIR_SERIALIZE);
	assert_int_equal(plan.probes[2].offset, plan.probes[0].offset);
	assert_string_equal(plan.probes[3].symbol, "_pickle.loads");
	assert_int_equal(plan.probes[3].dir, SER_DIR_DESERIALIZE);
	assert_int_equal(plan.probes[3].offset, plan.probes[1].offset);
	assert_int_equal(plan.n_missing, 0);
	ser_plan_free(&plan);
	unlink(py);
	unlink(stripped);
	/* neither symbols nor a method table: named as missing */
	fd = mkstemp(notelf);
	assert_true(write(fd, "#!/bin/sh\n", 10) == 10);
	close(fd);
	assert_int_equal(ser_plan_for_file(&plan, notelf), 0);
	assert_int_equal(plan.n_missing, 1);
	assert_string_equal(plan.missing[0], notelf);
	ser_plan_free(&plan);
	unlink(notelf);
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
	    cmocka_unit_test(test_method_table_matches_mapping),
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
