// SPDX-License-Identifier: MIT
#include "metrics.h"
#include "segments.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breakdown.h"
#include "hindex.h"
#include "util.h"

enum family {
	MF_PHASE,
	MF_MEASURED,
	MF_BYTES,
	MF_CALLS,
	MF_FAULTS,
	MF_SHARED,
	MF_FDS,
	MF_LOST,
	MF_PROCS,
	MF_COUNT
};

static const struct {
	const char *name; /* the family, as OpenMetrics names it */
	const char *unit; /* OpenMetrics UNIT: a suffix of name, or NULL */
	bool counter;	  /* else a gauge */
	bool integer;
	const char *help;
} families[MF_COUNT] = {
    [MF_PHASE] = {"ipcprof_phase_seconds", "seconds", true, false,
		  "Time of traced threads by phase (see the report's methods: sampled phases are "
		  "estimates)"},
    [MF_MEASURED] =
	{"ipcprof_measured_seconds", "seconds", true, false,
	 "Time of traced threads that a hook of its own measured exactly: inside "
	 "serializers, on CPU inside IPC calls, blocked in them, fork, shared mmap, wait "
	 "(ipcprof_phase_seconds cuts sampled shares out of these)"},
    [MF_BYTES] = {"ipcprof_ipc_bytes", "bytes", true, true,
		  "Bytes moved by IPC syscalls, per channel end"},
    [MF_CALLS] = {"ipcprof_ipc_calls", NULL, true, true, "IPC syscalls, per channel end"},
    [MF_FAULTS] = {"ipcprof_page_faults", NULL, true, true,
		   "Page faults of traced processes, by kind and by what the thread was doing"},
    [MF_SHARED] = {"ipcprof_shared_touched_bytes", "bytes", true, true,
		   "Bytes of shared segments brought into traced processes' page tables, by "
		   "segment kind and by whether the process made the segment or only used it"},
    [MF_FDS] = {"ipcprof_fds_passed", NULL, true, true,
		"Descriptors carried over unix sockets (SCM_RIGHTS), by channel kind"},
    [MF_LOST] = {"ipcprof_lost_events", NULL, true, true,
		 "Records the kernel side could not deliver or store (the report is incomplete "
		 "by these)"},
    [MF_PROCS] = {"ipcprof_traced_processes", NULL, false, true,
		  "Traced processes alive at the snapshot"},
};

struct series {
	enum family fam;
	char labels[320];
	double value, high; /* this snapshot's, the highest exported */
	bool present;	    /* in this snapshot */
};

/* Who gets series of their own: processes by pid, channel ends by key. */
struct owner {
	uint64_t key[3];
	bool own;
	bool alive; /* processes: in this snapshot, not exited */
};

struct metrics {
	unsigned max_procs, max_ends;
	struct series *series;
	size_t n_series;
	struct hindex series_ix;
	struct owner *owners; /* processes and channel ends */
	size_t n_owners;
	struct hindex owner_ix;
};

struct metrics *metrics_new(unsigned max_procs, unsigned max_ends)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m) {
		m->max_procs = max_procs;
		m->max_ends = max_ends;
	}
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->series);
	free(m->owners);
	hindex_free(&m->series_ix);
	hindex_free(&m->owner_ix);
	free(m);
}

void metrics_label_value(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p && o + 3 < len;
	     p++) {
		if (*p == '\\' || *p == '"') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *p < 0x20 || *p >= 0x7f ? '?' : (char)*p;
		}
	}
	out[o] = '\0';
}

static bool series_eq(const void *ctx, uint32_t pos)
{
	const struct metrics *m = ctx;
	const struct series *a = &m->series[pos], *k = &m->series[m->n_series];

	return a->fam == k->fam && !strcmp(a->labels, k->labels);
}

/* Add v to the series of family fam with these labels (made on first use). */
static int add(struct metrics *m, enum family fam, const char *labels, double v)
{
	struct series *s = grow_array(m->series, m->n_series, sizeof(*s));
	uint64_t h;
	long pos;

	if (!s)
		return -ENOMEM;
	m->series = s;
	memset(&s[m->n_series], 0, sizeof(*s));
	s[m->n_series].fam = fam;
	snprintf(s[m->n_series].labels, sizeof(s->labels), "%s", labels);
	h = hindex_hash(HINDEX_SEED, &fam, sizeof(fam));
	h = hindex_hash(h, s[m->n_series].labels, strlen(s[m->n_series].labels));
	pos = hindex_find(&m->series_ix, h, series_eq, m);
	if (pos < 0) {
		if (hindex_add(&m->series_ix, h, (uint32_t)m->n_series))
			return -ENOMEM;
		pos = (long)m->n_series++;
	}
	s[pos].value += v;
	s[pos].present = true;
	return 0;
}

static bool owner_eq(const void *ctx, uint32_t pos)
{
	const struct metrics *m = ctx;

	return !memcmp(m->owners[pos].key, m->owners[m->n_owners].key, sizeof(m->owners[0].key));
}

/* The owner entry of key; *fresh when first seen. NULL: no memory. */
static struct owner *owner(struct metrics *m, uint64_t k0, uint64_t k1, uint64_t k2, bool *fresh)
{
	struct owner *o = grow_array(m->owners, m->n_owners, sizeof(*o));
	uint64_t h;
	long pos;

	*fresh = false;
	if (!o)
		return NULL;
	m->owners = o;
	memset(&o[m->n_owners], 0, sizeof(*o));
	o[m->n_owners].key[0] = k0;
	o[m->n_owners].key[1] = k1;
	o[m->n_owners].key[2] = k2;
	h = hindex_hash(HINDEX_SEED, o[m->n_owners].key, sizeof(o->key));
	pos = hindex_find(&m->owner_ix, h, owner_eq, m);
	if (pos >= 0)
		return &o[pos];
	if (hindex_add(&m->owner_ix, h, (uint32_t)m->n_owners))
		return NULL;
	*fresh = true;
	return &o[m->n_owners++];
}

#define KEY_PROC 1ull
#define KEY_END	 2ull

/* Whether pid's series are its own in this snapshot; counts live owners. */
static struct owner *proc_owner(struct metrics *m, const struct proc_row *r, unsigned *n_own)
{
	bool fresh;
	struct owner *o = owner(m, KEY_PROC, r->pid, 0, &fresh);

	if (!o)
		return NULL;
	/* a slot only for a process never counted in "other" before: its
	 * move out of "other" would make those counters go down */
	if (fresh && !r->exited && *n_own < m->max_procs)
		o->own = true;
	o->alive = !r->exited;
	if (o->own && o->alive)
		(*n_own)++;
	return o;
}

/*
 * The exactly measured quantities (those before MS_COMPUTE). A serializer
 * whose probes were removed mid-run is part sampled or unmeasured after
 * that: the part its probes timed is what is exported (it only grows).
 */
static int add_measured(struct metrics *m, const struct report *rep, const struct proc_row *r,
			bool mine, const char *comm)
{
	struct measured ms[MS_COUNT];
	char labels[160];
	int rc = 0;

	breakdown_of(r, rep->methods, ms);
	for (int i = 0; i < MS_COMPUTE && !rc; i++) {
		if (ms[i].e.unavailable) /* no series for what was not measured */
			continue;
		if (mine)
			snprintf(labels, sizeof(labels), "quantity=\"%s\",pid=\"%u\",comm=\"%s\"",
				 measured_defs[i].name, r->pid, comm);
		else
			snprintf(labels, sizeof(labels),
				 "quantity=\"%s\",pid=\"other\",comm=\"other\"",
				 measured_defs[i].name);
		rc = add(m, MF_MEASURED, labels, (double)ms[i].timed_ns / 1e9);
	}
	return rc;
}

static int add_procs(struct metrics *m, const struct report *rep)
{
	unsigned n_own = 0, alive = 0;
	int rc = 0;

	for (size_t i = 0; i < m->n_owners; i++)
		if (m->owners[i].key[0] == KEY_PROC && m->owners[i].own && m->owners[i].alive)
			n_own++;
	for (int i = 0; i < rep->n_procs && !rc; i++) {
		const struct proc_row *r = &rep->procs[i];
		struct owner *o;
		char comm[64], labels[160];
		bool mine;

		if ((o = proc_owner(m, r, &n_own)) == NULL)
			return -ENOMEM;
		mine = o->own && o->alive;
		alive += o->alive;
		metrics_label_value(r->comm, comm, sizeof(comm));
		for (int p = 0; p < PH_COUNT && !rc; p++) {
			if (mine)
				snprintf(labels, sizeof(labels),
					 "phase=\"%s\",pid=\"%u\",comm=\"%s\"", phase_names[p],
					 r->pid, comm);
			else
				snprintf(labels, sizeof(labels),
					 "phase=\"%s\",pid=\"other\",comm=\"other\"",
					 phase_names[p]);
			rc = add(m, MF_PHASE, labels, (double)r->phase_ns[p] / 1e9);
		}
		rc = rc ? rc : add_measured(m, rep, r, mine, comm);
	}
	return rc ? rc : add(m, MF_PROCS, "", alive);
}

static bool tgid_alive(struct metrics *m, uint32_t tgid)
{
	bool fresh;
	struct owner *o = owner(m, KEY_PROC, tgid, 0, &fresh);

	if (o && fresh) { /* not a traced process: never its own series */
		o->alive = false;
	}
	return o && o->alive;
}

static int add_ends(struct metrics *m, const struct report *rep)
{
	unsigned n_own = 0;
	int rc = 0;

	for (size_t i = 0; i < m->n_owners; i++)
		if (m->owners[i].key[0] == KEY_END && m->owners[i].own &&
		    tgid_alive(m, (uint32_t)(m->owners[i].key[2] >> 8)))
			n_own++;
	for (int i = 0; i < rep->n_chans && !rc; i++) {
		const struct channel *c = &rep->chans[i];
		char name[CHAN_NAME_MAX], chan[2 * CHAN_NAME_MAX], labels[320];

		chan_name(c, name, sizeof(name));
		metrics_label_value(name, chan, sizeof(chan));
		for (int j = 0; j < c->n_ends && !rc; j++) {
			const struct chan_end *e = &c->ends[j];
			bool fresh, alive = tgid_alive(m, e->tgid);
			struct owner *o = owner(m, KEY_END | ((uint64_t)c->kind << 8), c->ino,
						((uint64_t)e->tgid << 8) | e->dir, &fresh);
			const char *dir = e->dir == DIR_WRITE ? "write" : "read";

			if (!o)
				return -ENOMEM;
			if (fresh && alive && n_own < m->max_ends && (o->own = true))
				n_own++;
			if (o->own && alive)
				snprintf(labels, sizeof(labels),
					 "channel=\"%s\",kind=\"%s\",direction=\"%s\",pid=\"%u\"",
					 chan, chan_kind_name(c->kind), dir, e->tgid);
			else
				snprintf(
				    labels, sizeof(labels),
				    "channel=\"other\",kind=\"%s\",direction=\"%s\",pid=\"other\"",
				    chan_kind_name(c->kind), dir);
			rc = add(m, MF_BYTES, labels, (double)e->s.bytes);
			if (!rc)
				rc = add(m, MF_CALLS, labels, (double)e->s.calls);
		}
	}
	return rc;
}

/* Shared memory by segment kind and role: a bounded set of series, however
 * many segments come and go (a DataLoader makes one per batch). */
static int add_shared(struct metrics *m, const struct report *rep)
{
	uint64_t touched[SEGK_COUNT][2] = {{0}}, fds[IPC_KIND_END] = {0};
	struct segment *v;
	char labels[96];
	int n = segments_build(rep, &v), rc = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		for (int u = 0; u < v[i].n_uses; u++)
			touched[v[i].kind % SEGK_COUNT][v[i].uses[u]->pid != v[i].creator_pid] +=
			    v[i].uses[u]->bytes_touched;
	segments_free(v, n);
	for (int i = 0; i < rep->n_chans; i++)
		if (rep->chans[i].kind < IPC_KIND_END)
			fds[rep->chans[i].kind] += channel_fds_passed(&rep->chans[i]);
	for (int k = 0; k < SEGK_COUNT && !rc; k++)
		for (int r = 0; r < 2 && !rc; r++) {
			snprintf(labels, sizeof(labels), "kind=\"%s\",role=\"%s\"",
				 seg_kind_names[k], r ? "user" : "maker");
			rc = add(m, MF_SHARED, labels, (double)touched[k][r]);
		}
	for (int k = 1; k < IPC_KIND_END && !rc; k++) {
		if (!(ipc_kind_flags(k) & KF_RIGHTS)) /* kinds that can carry them */
			continue;
		snprintf(labels, sizeof(labels), "kind=\"%s\"", chan_kind_name(k));
		rc = add(m, MF_FDS, labels, (double)fds[k]);
	}
	return rc;
}

static int add_totals(struct metrics *m, const struct report *rep)
{
	static const char *const kinds[FT_COUNT] = {
	    [FT_COW] = "cow", [FT_NOT_PRESENT] = "first_touch", [FT_OTHER] = "other"};
	char labels[96];
	int rc = 0;

	for (int a = 0; a < ACT_COUNT && !rc; a++)
		for (int k = 0; k < FT_COUNT && !rc; k++) {
			snprintf(labels, sizeof(labels), "kind=\"%s\",activity=\"%s\"", kinds[k],
				 activity_names[a]);
			rc = add(m, MF_FAULTS, labels, (double)rep->totals.faults[a][k]);
		}
	if (!rc)
		rc = add_shared(m, rep);
	if (!rc)
		rc = add(m, MF_LOST, "reason=\"ring_buffer\"", (double)rep->lost_events);
	if (!rc)
		rc = add(m, MF_LOST, "reason=\"map_full\"", (double)rep->map_full);
	return rc;
}

int metrics_update(struct metrics *m, const struct report *rep)
{
	int rc;

	for (size_t i = 0; i < m->n_series; i++) {
		m->series[i].value = 0;
		m->series[i].present = false;
	}
	rc = add_procs(m, rep);
	if (!rc)
		rc = add_ends(m, rep);
	if (!rc)
		rc = add_totals(m, rep);
	for (size_t i = 0; i < m->n_series; i++) {
		struct series *s = &m->series[i];

		if (!families[s->fam].counter || !s->present)
			continue;
		if (s->value < s->high) /* a revised estimate: hold */
			s->value = s->high;
		s->high = s->value;
	}
	return rc;
}

static void header(FILE *f, enum family fam, bool om)
{
	const char *suffix = families[fam].counter && !om ? "_total" : "";

	fprintf(f, "# HELP %s%s %s.\n", families[fam].name, suffix, families[fam].help);
	fprintf(f, "# TYPE %s%s %s\n", families[fam].name, suffix,
		families[fam].counter ? "counter" : "gauge");
	if (om && families[fam].unit)
		fprintf(f, "# UNIT %s %s\n", families[fam].name, families[fam].unit);
}

char *metrics_format(const struct metrics *m, bool openmetrics, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	for (int fam = 0; fam < MF_COUNT; fam++) {
		header(f, fam, openmetrics);
		for (size_t i = 0; i < m->n_series; i++) {
			const struct series *s = &m->series[i];

			if (s->fam != (enum family)fam || !s->present)
				continue;
			fprintf(f, "%s%s", families[fam].name,
				families[fam].counter ? "_total" : "");
			if (s->labels[0])
				fprintf(f, "{%s}", s->labels);
			fprintf(f, families[fam].integer ? " %.0f\n" : " %.9f\n", s->value);
		}
	}
	if (openmetrics)
		fputs("# EOF\n", f);
	if (ferror(f)) {
		fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}
