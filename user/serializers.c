// SPDX-License-Identifier: MIT
#include "serializers.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_pymethods.h"
#include "elfsym.h"
#include "procfs.h"
#include "util.h"

struct pickle_sym {
	const char *name;
	enum ser_dir dir;
};

/*
 * In the _pickle extension every pickling path funnels into the static
 * dump() and load() (Pickler.dump, pickle.dumps, pickle.dump; same for load).
 * Elsewhere (_pickle built into libpython or the binary) those short names
 * could belong to other code, so use the module's entry points instead;
 * nested calls are counted once by the BPF side.
 */
static const struct pickle_sym ext_syms[] = {
    {"dump", SER_DIR_SERIALIZE},
    {"load", SER_DIR_DESERIALIZE},
};
static const struct pickle_sym builtin_syms[] = {
    {"_pickle_Pickler_dump", SER_DIR_SERIALIZE},
    {"_pickle_dumps", SER_DIR_SERIALIZE},
    {"_pickle_dump", SER_DIR_SERIALIZE},
    {"_pickle_Unpickler_load", SER_DIR_DESERIALIZE},
    {"_pickle_loads", SER_DIR_DESERIALIZE},
    {"_pickle_load", SER_DIR_DESERIALIZE},
    {"_multiprocessing_SemLock_acquire", SER_DIR_HANDOFF},
};
/* The _multiprocessing extension: Queue.put's first C call (see
 * SER_DIR_HANDOFF). */
static const struct pickle_sym mp_syms[] = {
    {"_multiprocessing_SemLock_acquire", SER_DIR_HANDOFF},
};

/*
 * The same entry points without symbols: _pickle's PyMethodDefs, told apart
 * from marshal's dump/load (same names) by their docstrings, whose wording
 * has been stable since Python 3.4. The clinic wrapper ml_meth points at is
 * the function the symbol names above.
 */
static const struct {
	struct py_method m;
	const char *label;
	enum ser_dir dir;
} pickle_methods[] = {
    {{"dump", "Write a pickled representation of the given object"},
     "_pickle.Pickler.dump",
     SER_DIR_SERIALIZE},
    {{"dumps", "Return the pickled representation of the object"},
     "_pickle.dumps",
     SER_DIR_SERIALIZE},
    {{"dump", "Write a pickled representation of obj to the open file"},
     "_pickle.dump",
     SER_DIR_SERIALIZE},
    {{"load", "Load a pickle."}, "_pickle.Unpickler.load", SER_DIR_DESERIALIZE},
    {{"loads", "Read and return an object from the given pickle data"},
     "_pickle.loads",
     SER_DIR_DESERIALIZE},
    {{"load", "Read and return an object from the pickle data stored in a file"},
     "_pickle.load",
     SER_DIR_DESERIALIZE},
    {{"acquire", "Acquire the semaphore/lock."},
     "_multiprocessing.SemLock.acquire",
     SER_DIR_HANDOFF},
};
#define N_PICKLE_METHODS (sizeof(pickle_methods) / sizeof(pickle_methods[0]))

static int strv_add(char ***v, int *n, const char *s)
{
	char **tmp = grow_array(*v, (size_t)*n, sizeof(**v));

	if (!tmp)
		return -ENOMEM;
	*v = tmp;
	if (!(tmp[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static bool strv_has(char **v, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static int add_probe(struct ser_plan *plan, const char *path, const char *sym, uint64_t off,
		     const struct file_id *file, enum ser_dir dir, const char *how)
{
	struct ser_probe *tmp = grow_array(plan->probes, (size_t)plan->n, sizeof(*tmp));
	struct ser_probe *p;

	if (!tmp)
		return -ENOMEM;
	plan->probes = tmp;
	p = &tmp[plan->n];
	p->path = strdup(path);
	p->symbol = strdup(sym);
	if (!p->path || !p->symbol) {
		free(p->path);
		free(p->symbol);
		return -ENOMEM;
	}
	p->offset = off;
	p->file = *file;
	p->dir = dir;
	p->how = how;
	p->user = !strcmp(how, "--uprobe");
	plan->n++;
	return 0;
}

int ser_plan_add_user(struct ser_plan *plan, const char *spec, char *err, size_t errlen)
{
	char buf[PATH_MAX], *colon, *eq, *path = NULL;
	struct file_id file;
	enum ser_dir dir;
	uint64_t off;
	int rc;

	snprintf(buf, sizeof(buf), "%s", spec);
	colon = strrchr(buf, ':');
	eq = colon ? strchr(colon, '=') : NULL;
	if (!colon || !eq || colon == buf || eq == colon + 1) {
		snprintf(err, errlen, "--uprobe '%s': expected BINARY:SYMBOL=serialize|deserialize",
			 spec);
		return -EINVAL;
	}
	*colon = *eq = '\0';
	if (!strcmp(eq + 1, "serialize")) {
		dir = SER_DIR_SERIALIZE;
	} else if (!strcmp(eq + 1, "deserialize")) {
		dir = SER_DIR_DESERIALIZE;
	} else {
		snprintf(err, errlen, "--uprobe '%s': kind must be serialize or deserialize", spec);
		return -EINVAL;
	}
	path = find_in_path(buf);
	if (!path) {
		snprintf(err, errlen, "--uprobe '%s': %s: no such executable file", spec, buf);
		return -ENOENT;
	}
	rc = elf_symbol_offset(path, colon + 1, &off, &file);
	if (rc) {
		snprintf(err, errlen, "--uprobe '%s': %s in %s", spec,
			 rc == -ENOENT ? "no such function" : strerror(-rc), path);
		free(path);
		return rc;
	}
	rc = add_probe(plan, path, colon + 1, off, &file, dir, "--uprobe");
	free(path);
	if (rc)
		snprintf(err, errlen, "--uprobe '%s': %s", spec, strerror(-rc));
	return rc;
}

static int select_probe(struct ser_plan *plan, int i)
{
	int *tmp;

	for (int j = 0; j < plan->n_sel; j++)
		if (plan->sel[j] == i)
			return 0;
	tmp = grow_array(plan->sel, (size_t)plan->n_sel, sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	plan->sel = tmp;
	plan->sel[plan->n_sel++] = i;
	return 0;
}

/* Select the probes already planned in `path`. */
static int select_file(struct ser_plan *plan, const char *path)
{
	for (int i = 0; i < plan->n; i++)
		if (!plan->probes[i].user && !strcmp(plan->probes[i].path, path) &&
		    select_probe(plan, i))
			return -ENOMEM;
	return 0;
}

/* No symbols: the pickle entry points through _pickle's method table. */
static int plan_method_table(struct ser_plan *plan, const char *path)
{
	struct py_method want[N_PICKLE_METHODS];
	uint64_t off[N_PICKLE_METHODS];
	struct file_id file;
	int added = 0, rc;

	for (size_t i = 0; i < N_PICKLE_METHODS; i++)
		want[i] = pickle_methods[i].m;
	if (elf_py_method_offsets(path, want, N_PICKLE_METHODS, off, &file) <= 0)
		return 0;
	for (size_t i = 0; i < N_PICKLE_METHODS; i++) {
		if (off[i] == PY_METHOD_NOT_FOUND)
			continue;
		rc = add_probe(plan, path, pickle_methods[i].label, off[i], &file,
			       pickle_methods[i].dir, "method table");
		if (!rc)
			rc = select_probe(plan, plan->n - 1);
		if (rc)
			return rc;
		added++;
	}
	return added;
}

static bool has_serializer(const struct ser_plan *plan, const char *path)
{
	for (int i = 0; i < plan->n; i++)
		if (plan->probes[i].dir != SER_DIR_HANDOFF && !strcmp(plan->probes[i].path, path))
			return true;
	return false;
}

int ser_plan_for_file(struct ser_plan *plan, const char *path)
{
	const struct pickle_sym *syms = builtin_syms;
	size_t nsyms = sizeof(builtin_syms) / sizeof(builtin_syms[0]);
	bool mp_module = !strncmp(path_base(path), "_multiprocessing", 16);
	int added = 0, rc;

	if (strv_has(plan->seen, plan->n_seen, path))
		return select_file(plan, path);
	rc = strv_add(&plan->seen, &plan->n_seen, path);
	if (rc)
		return rc;
	if (!strncmp(path_base(path), "_pickle", 7)) {
		syms = ext_syms;
		nsyms = sizeof(ext_syms) / sizeof(ext_syms[0]);
	} else if (mp_module) {
		syms = mp_syms;
		nsyms = sizeof(mp_syms) / sizeof(mp_syms[0]);
	}
	for (size_t i = 0; i < nsyms; i++) {
		struct file_id file;
		uint64_t off;

		if (elf_symbol_offset(path, syms[i].name, &off, &file))
			continue;
		rc = add_probe(plan, path, syms[i].name, off, &file, syms[i].dir, "symbol");
		if (!rc)
			rc = select_probe(plan, plan->n - 1);
		if (rc)
			return rc;
		added++;
	}
	if (!added) {
		rc = plan_method_table(plan, path);
		if (rc < 0)
			return rc;
		added = rc;
	}
	/* missing: no pickle entry point where one was expected (the hand-off
	 * probe alone does not count; _multiprocessing holds no pickle) */
	if (!mp_module && !has_serializer(plan, path))
		strv_add(&plan->missing, &plan->n_missing, path);
	return added;
}

static bool is_python_file(const char *path)
{
	const char *b = path_base(path);

	return !strncmp(b, "python", 6) || !strncmp(b, "libpython", 9) ||
	       !strncmp(b, "_pickle", 7) || !strncmp(b, "_multiprocessing", 16);
}

/* `s` with glob's special characters escaped: the directory comes from the
 * traced program, which could name it "*" to make us scan elsewhere. */
static void glob_escape(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 2 < len; s++) {
		if (strchr("*?[]\\", *s))
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
}

/* _pickle and _multiprocessing extension modules next to an interpreter
 * or libpython (found before the program imports them: a uprobe waits in
 * its file until the file is mapped). */
static int plan_extensions(struct ser_plan *plan, const char *file)
{
	char pattern[PATH_MAX], raw[PATH_MAX], dir[PATH_MAX];
	char *slash;
	glob_t g;
	int added = 0;

	snprintf(raw, sizeof(raw), "%s", file);
	slash = strrchr(raw, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	glob_escape(dir, sizeof(dir), raw);
	/* PREFIX/bin/python3.X and PREFIX/lib/libpython3.X.so both lead to
	 * PREFIX/lib/python3.X/lib-dynload. */
	for (int i = 0; i < 4; i++) {
		snprintf(pattern, sizeof(pattern), "%s/%spython3*/lib-dynload/%s*.so", dir,
			 i & 1 ? "../lib/" : "", i & 2 ? "_multiprocessing" : "_pickle");
		if (glob(pattern, 0, NULL, &g))
			continue;
		for (size_t j = 0; j < g.gl_pathc; j++) {
			char *real = realpath(g.gl_pathv[j], NULL);
			int rc = real ? ser_plan_for_file(plan, real) : 0;

			free(real);
			if (rc > 0)
				added += rc;
		}
		globfree(&g);
	}
	return added;
}

int ser_plan_for_process(struct ser_plan *plan, const char *procroot, pid_t pid)
{
	char exe[PATH_MAX], **maps = NULL;
	int nmaps, added = 0, rc;
	char *libpy = NULL;

	plan->n_sel = 0;
	/* --uprobe targets apply to every traced process (a uprobe in a
	 * file the process does not map costs it nothing) */
	for (int i = 0; i < plan->n; i++)
		if (plan->probes[i].user && select_probe(plan, i))
			return -ENOMEM;
	if (proc_exe(procroot, pid, exe, sizeof(exe)))
		return -ESRCH;
	if (is_python_file(exe)) {
		rc = ser_plan_for_file(plan, exe);
		added += rc > 0 ? rc : 0;
		libpy = elf_find_needed(exe, "libpython");
		if (libpy) {
			rc = ser_plan_for_file(plan, libpy);
			added += rc > 0 ? rc : 0;
			added += plan_extensions(plan, libpy);
		}
		added += plan_extensions(plan, exe);
		free(libpy);
	}
	/* What the process already has mapped (attach mode, dlopen'ed). */
	nmaps = proc_exec_mappings(procroot, pid, &maps);
	for (int i = 0; i < nmaps; i++) {
		if (strcmp(maps[i], exe) && is_python_file(maps[i])) {
			rc = ser_plan_for_file(plan, maps[i]);
			added += rc > 0 ? rc : 0;
		}
	}
	if (nmaps > 0)
		free_strv(maps, nmaps);
	return added;
}

void ser_plan_free(struct ser_plan *plan)
{
	for (int i = 0; i < plan->n; i++) {
		free(plan->probes[i].path);
		free(plan->probes[i].symbol);
	}
	free(plan->probes);
	free(plan->sel);
	free_strv(plan->seen, plan->n_seen);
	free_strv(plan->missing, plan->n_missing);
	memset(plan, 0, sizeof(*plan));
}
