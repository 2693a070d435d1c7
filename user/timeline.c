// SPDX-License-Identifier: MIT
#include "timeline.h"

#include <errno.h>
#include <json.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const kind_names[SL_COUNT] = {
    "serialize", "deserialize", "ipc", "blocked", "copy", "fork", "mmap", "faults",
};

static double us(uint64_t ns, uint64_t t0)
{
	return ns > t0 ? (double)(ns - t0) / 1000.0 : 0.0;
}

static json_object *event(const char *ph, const char *name, uint32_t pid, uint32_t tid)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "ph", json_object_new_string(ph));
	json_object_object_add(e, "name", json_object_new_string(name));
	json_object_object_add(e, "pid", json_object_new_int64(pid));
	json_object_object_add(e, "tid", json_object_new_int64(tid));
	return e;
}

static void add_names(json_object *evs, const struct report *rep, const struct slice_event *s,
		      size_t n)
{
	for (int i = 0; i < rep->n_procs; i++) {
		const struct proc_row *r = &rep->procs[i];
		json_object *e = event("M", "process_name", r->pid, r->pid), *args;
		char name[64];

		snprintf(name, sizeof(name), "%u %s", r->pid, r->comm);
		args = json_object_new_object();
		json_object_object_add(args, "name", json_object_new_string(name));
		json_object_object_add(e, "args", args);
		json_object_array_add(evs, e);
	}
	/* a thread track per thread seen; the main thread carries the comm */
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		json_object *e, *args;
		char name[64];

		for (size_t j = 0; j < i && !seen; j++)
			seen = s[j].tid == s[i].tid;
		if (seen)
			continue;
		snprintf(name, sizeof(name), "%s %u", s[i].tid == s[i].tgid ? "main" : "thread",
			 s[i].tid);
		e = event("M", "thread_name", s[i].tgid, s[i].tid);
		args = json_object_new_object();
		json_object_object_add(args, "name", json_object_new_string(name));
		json_object_object_add(e, "args", args);
		json_object_array_add(evs, e);
	}
}

static void chan_label(const struct slice_event *s, char *buf, size_t len)
{
	struct channel c = {.ino = s->chan_ino, .dev = s->chan_dev, .kind = s->chan_kind};

	chan_name(&c, buf, len);
}

/* The Python line behind a slice, when call sites resolved it. */
static const struct call_site *slice_site(const struct report *rep, const struct slice_event *s)
{
	int pos;

	if (!s->site || s->site > IPCPROF_MAX_SITES || !rep->site_pos)
		return NULL;
	pos = rep->site_pos[s->site - 1];
	return pos >= 0 && pos < rep->n_sites ? &rep->sites[pos] : NULL;
}

static json_object *slice_json(const struct report *rep, const struct slice_event *s, uint64_t t0)
{
	const struct call_site *site = slice_site(rep, s);
	char name[320], chan[CHAN_NAME_MAX], where[256];
	json_object *e, *args = json_object_new_object();

	if (s->kind == SL_IPC) {
		chan_label(s, chan, sizeof(chan));
		snprintf(name, sizeof(name), "%s %s", s->dir == DIR_WRITE ? "write" : "read", chan);
		json_object_object_add(args, "channel", json_object_new_string(chan));
		json_object_object_add(args, "bytes",
				       json_object_new_int64(s->ret > 0 ? s->ret : 0));
		if (s->ret < 0)
			json_object_object_add(args, "errno", json_object_new_int64(-s->ret));
		json_object_object_add(args, "blocked_us", json_object_new_double(s->off_ns / 1e3));
	} else {
		snprintf(name, sizeof(name), "%s", kind_names[s->kind < SL_COUNT ? s->kind : 0]);
	}
	if (site) {
		size_t len = strlen(name);

		snprintf(where, sizeof(where), "%s:%d in %s", site->file, site->line,
			 site->function);
		json_object_object_add(args, "call_site", json_object_new_string(where));
		snprintf(name + len, sizeof(name) - len, " @ %s:%d", path_base(site->file),
			 site->line);
	}
	e = event("X", name, s->tgid, s->tid);
	json_object_object_add(
	    e, "cat", json_object_new_string(kind_names[s->kind < SL_COUNT ? s->kind : 0]));
	json_object_object_add(e, "ts", json_object_new_double(us(s->start_ns, t0)));
	json_object_object_add(e, "dur", json_object_new_double(us(s->end_ns, s->start_ns)));
	json_object_object_add(e, "args", args);
	return e;
}

static int by_end(const void *a, const void *b)
{
	const struct slice_event *x = *(const struct slice_event *const *)a;
	const struct slice_event *y = *(const struct slice_event *const *)b;

	return (x->end_ns > y->end_ns) - (x->end_ns < y->end_ns);
}

static bool same_chan(const struct slice_event *a, const struct slice_event *b)
{
	return a->chan_ino == b->chan_ino && a->chan_dev == b->chan_dev &&
	       a->chan_kind == b->chan_kind;
}

static void flow(json_object *evs, const char *ph, const struct slice_event *s, uint64_t t0, int id)
{
	json_object *e = event(ph, "bytes", s->tgid, s->tid);

	json_object_object_add(e, "cat", json_object_new_string("flow"));
	json_object_object_add(e, "id", json_object_new_int(id));
	/* just inside the slice, so the viewer binds the arrow to it: from
	 * the write's start (its first byte) to the read's end, which causality
	 * puts later */
	json_object_object_add(
	    e, "ts",
	    json_object_new_double(ph[0] == 's' ? us(s->start_ns + 1, t0) : us(s->end_ns - 1, t0)));
	if (ph[0] == 'f')
		json_object_object_add(e, "bp", json_object_new_string("e"));
	json_object_array_add(evs, e);
}

/* Per channel, writes and reads in completion order tile the byte stream;
 * each write gets an arrow to the read holding its first byte. */
static int add_flows(json_object *evs, const struct slice_event *s, size_t n, uint64_t t0)
{
	const struct slice_event **w = calloc(n ? n : 1, sizeof(*w));
	const struct slice_event **r = calloc(n ? n : 1, sizeof(*r));
	bool *done = calloc(n ? n : 1, sizeof(*done));
	int id = 0;

	if (!w || !r || !done) {
		free(w);
		free(r);
		free(done);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		size_t nw = 0, nr = 0, j = 0;
		uint64_t woff = 0, roff = 0;

		if (done[i] || s[i].kind != SL_IPC)
			continue;
		for (size_t k = i; k < n; k++) {
			if (s[k].kind != SL_IPC || !same_chan(&s[k], &s[i]))
				continue;
			done[k] = true;
			if (s[k].ret <= 0)
				continue;
			if (s[k].dir == DIR_WRITE)
				w[nw++] = &s[k];
			else
				r[nr++] = &s[k];
		}
		qsort(w, nw, sizeof(*w), by_end);
		qsort(r, nr, sizeof(*r), by_end);
		for (size_t k = 0; k < nw; k++) {
			/* first read whose byte range ends past this write's start */
			while (j < nr && roff + (uint64_t)r[j]->ret <= woff)
				roff += (uint64_t)r[j++]->ret;
			if (j < nr) {
				flow(evs, "s", w[k], t0, ++id);
				flow(evs, "f", r[j], t0, id);
			}
			woff += (uint64_t)w[k]->ret;
		}
	}
	free(w);
	free(r);
	free(done);
	return 0;
}

int timeline_write(FILE *f, const char *path, const struct report *rep, const struct slice_event *s,
		   size_t n, char *err, size_t errlen)
{
	json_object *root = json_object_new_object(), *evs = json_object_new_array();
	uint64_t t0 = rep->start_ns;
	int rc = 0;

	add_names(evs, rep, s, n);
	for (size_t i = 0; i < n; i++)
		if (s[i].kind != SL_FAULTS) /* asked of Perfetto timelines only */
			json_object_array_add(evs, slice_json(rep, &s[i], t0));
	if (add_flows(evs, s, n, t0)) {
		snprintf(err, errlen, "%s: out of memory", path);
		json_object_put(root);
		json_object_put(evs);
		return -ENOMEM;
	}
	json_object_object_add(root, "traceEvents", evs);
	json_object_object_add(root, "displayTimeUnit", json_object_new_string("ns"));
	if (fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN), f) < 0 ||
	    fputc('\n', f) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	}
	json_object_put(root);
	return rc;
}
