// SPDX-License-Identifier: MIT
/*
 * Python call sites: the stacks the BPF side kept (bpf/pyframes.bpf.h)
 * turned into file:line in function rows. The site of a stack is its
 * innermost frame outside the standard library's IPC plumbing, so that
 * conn.send(obj) is booked on the line that called send, not inside
 * multiprocessing/connection.py.
 */
#include "callsites.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_read.h"
#include "pyruntime.h"
#include "util.h"

uint64_t call_site_ipc_ns(const struct call_site *c)
{
	return c->s.serialize_ns + c->s.deserialize_ns + c->s.syscall_ns + c->s.blocked_ns;
}

/* Modules a program calls to do IPC rather than code that decides to. */
static bool is_plumbing(const char *file)
{
	static const char *const dirs[] = {"/multiprocessing/", "/concurrent/futures/"};
	static const char *const mods[] = {"pickle.py",	      "queue.py",     "threading.py",
					   "copyreg.py",      "socket.py",    "selectors.py",
					   "socketserver.py", "subprocess.py"};
	const char *base = path_base(file);

	if (!strncmp(file, "<frozen ", 8))
		return true;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (strstr(file, dirs[i]))
			return true;
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
		if (!strcmp(base, mods[i]))
			return true;
	return strstr(file, "/asyncio/") != NULL;
}

static bool code_of(int codes_fd, uint32_t tgid, uint64_t code, struct py_code *out)
{
	struct py_code_key k = {.tgid = tgid, .code = code};

	return bpf_map_lookup_elem(codes_fd, &k, out) == 0;
}

/* Fill `c` from the chosen frame of `st`. */
static bool resolve(int codes_fd, const struct py_stack *st, struct call_site *c)
{
	struct py_code code;
	int chosen = -1;

	for (uint32_t i = 0; i < st->depth && i < IPCPROF_PY_DEPTH; i++) {
		if (!code_of(codes_fd, st->tgid, st->f[i].code, &code))
			continue;
		code.filename[IPCPROF_PY_STR - 1] = '\0';
		if (!is_plumbing(code.filename)) {
			chosen = (int)i;
			break;
		}
	}
	c->user_frame = chosen >= 0;
	if (chosen < 0) /* all plumbing (a feeder thread): its outermost frame */
		chosen = (int)(st->depth < IPCPROF_PY_DEPTH ? st->depth : IPCPROF_PY_DEPTH) - 1;
	if (chosen < 0 || !code_of(codes_fd, st->tgid, st->f[chosen].code, &code))
		return false;
	code.filename[IPCPROF_PY_STR - 1] = code.qualname[IPCPROF_PY_STR - 1] = '\0';
	c->pid = st->tgid;
	snprintf(c->file, sizeof(c->file), "%s", code.filename);
	snprintf(c->function, sizeof(c->function), "%s", code.qualname);
	c->line = py_line_of(code.linetable,
			     code.linetable_len < IPCPROF_PY_LINETABLE ? code.linetable_len
								       : IPCPROF_PY_LINETABLE,
			     code.firstlineno, st->f[chosen].instr);
	return true;
}

static void add_stats(struct site_stats *into, const struct site_stats *s)
{
	into->ipc_calls += s->ipc_calls;
	into->bytes_written += s->bytes_written;
	into->bytes_read += s->bytes_read;
	into->syscall_ns += s->syscall_ns;
	into->blocked_ns += s->blocked_ns;
	into->serialize_calls += s->serialize_calls;
	into->serialize_ns += s->serialize_ns;
	into->deserialize_calls += s->deserialize_calls;
	into->deserialize_ns += s->deserialize_ns;
	for (int k = 0; k < FT_COUNT; k++)
		into->faults[k] += s->faults[k];
}

/* The row of `c`'s process, file, line and function in rep->sites, or -1. */
static int find_site(const struct report *rep, const struct call_site *c)
{
	for (int i = 0; i < rep->n_sites; i++) {
		const struct call_site *r = &rep->sites[i];

		if (r->pid == c->pid && r->line == c->line && !strcmp(r->file, c->file) &&
		    !strcmp(r->function, c->function))
			return i;
	}
	return -1;
}

static int merge_site(struct report *rep, const struct call_site *c)
{
	struct call_site *tmp;
	int i = find_site(rep, c);

	if (i >= 0) {
		add_stats(&rep->sites[i].s, &c->s);
		return 0;
	}
	tmp = grow_array(rep->sites, (size_t)rep->n_sites, sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	rep->sites = tmp;
	rep->sites[rep->n_sites++] = *c;
	return 0;
}

static int cmp_ipc_time(const void *a, const void *b)
{
	uint64_t x = call_site_ipc_ns(a), y = call_site_ipc_ns(b);

	return x < y ? 1 : x > y ? -1 : 0;
}

int callsites_collect(int stacks_fd, int sites_fd, int codes_fd, struct report *rep)
{
	void *keys = NULL, *vals = NULL;
	struct call_site *resolved = NULL; /* per stack, its user line */
	int n, rc = 0;

	n = map_read_all(stacks_fd, sizeof(struct py_stack), sizeof(__u32), IPCPROF_MAX_SITES,
			 &keys, &vals);
	if (n < 0)
		return n;
	if (n && !(resolved = calloc((size_t)n, sizeof(*resolved))))
		rc = -ENOMEM;
	for (int i = 0; i < n && !rc; i++) {
		const struct py_stack *st = (const struct py_stack *)keys + i;
		struct call_site *c = &resolved[i];
		__u32 idx = ((const __u32 *)vals)[i];

		if (bpf_map_lookup_elem(sites_fd, &idx, &c->s) || !resolve(codes_fd, st, c)) {
			c->pid = 0; /* unresolved: no name */
			continue;
		}
		if (c->s.ipc_calls + c->s.serialize_calls + c->s.deserialize_calls)
			rc = merge_site(rep, c);
	}
	if (!rc && rep->n_sites)
		qsort(rep->sites, (size_t)rep->n_sites, sizeof(*rep->sites), cmp_ipc_time);
	/* each kernel index's place after merging and sorting, for names */
	if (!rc && n && (rep->site_pos = malloc(IPCPROF_MAX_SITES * sizeof(*rep->site_pos)))) {
		for (int i = 0; i < IPCPROF_MAX_SITES; i++)
			rep->site_pos[i] = -1;
		for (int i = 0; i < n; i++) {
			__u32 idx = ((const __u32 *)vals)[i];

			if (idx < IPCPROF_MAX_SITES && resolved[i].pid)
				rep->site_pos[idx] = find_site(rep, &resolved[i]);
		}
	}
	free(resolved);
	free(keys);
	free(vals);
	return rc;
}

/* ---- naming a kernel site index while tracing (Perfetto timeline) ---- */

struct site_names {
	int stacks_fd, codes_fd;
	uint8_t *state; /* per index: SN_* */
	struct call_site *named;
};

enum { SN_UNKNOWN, SN_NAMED, SN_FAILED };

struct site_names *site_names_new(int stacks_fd, int codes_fd)
{
	struct site_names *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->stacks_fd = stacks_fd;
	n->codes_fd = codes_fd;
	return n;
}

void site_names_free(struct site_names *n)
{
	if (!n)
		return;
	free(n->state);
	free(n->named);
	free(n);
}

/* Read the stacks map again and name every index not named yet. */
static void refresh(struct site_names *n)
{
	void *keys = NULL, *vals = NULL;
	int cnt = map_read_all(n->stacks_fd, sizeof(struct py_stack), sizeof(__u32),
			       IPCPROF_MAX_SITES, &keys, &vals);

	for (int i = 0; i < cnt; i++) {
		__u32 idx = ((const __u32 *)vals)[i];

		if (idx < IPCPROF_MAX_SITES && n->state[idx] == SN_UNKNOWN &&
		    resolve(n->codes_fd, (const struct py_stack *)keys + i, &n->named[idx]))
			n->state[idx] = SN_NAMED;
	}
	free(keys);
	free(vals);
}

const struct call_site *site_names_get(struct site_names *n, uint32_t idx)
{
	if (!n || idx >= IPCPROF_MAX_SITES)
		return NULL;
	if (!n->state) { /* ~800 KiB: only once a timeline names a site */
		n->state = calloc(IPCPROF_MAX_SITES, sizeof(*n->state));
		n->named = calloc(IPCPROF_MAX_SITES, sizeof(*n->named));
		if (!n->state || !n->named) {
			free(n->state);
			free(n->named);
			n->state = NULL;
			n->named = NULL;
			return NULL;
		}
	}
	/* a stack is in the map before any record names its index: one
	 * re-read per new index, and an index it cannot name stays unnamed */
	if (n->state[idx] == SN_UNKNOWN) {
		refresh(n);
		if (n->state[idx] == SN_UNKNOWN)
			n->state[idx] = SN_FAILED;
	}
	return n->state[idx] == SN_NAMED ? &n->named[idx] : NULL;
}
