// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "perfetto_priv.h"
#include "util.h"

static const char *const categories[SL_COUNT] = {
    "serialize", "deserialize", "ipc", "blocked", "copy", "fork", "mmap", "faults",
};
static const char *const annotations[ANN_COUNT] = {
    NULL, "channel", "bytes", "errno", "blocked_ns", "call_site",
};

bool perfetto_wanted(const char *path)
{
	static const char *const ext[] = {".perfetto-trace", ".pftrace", ".perfetto"};
	size_t len = path ? strlen(path) : 0;

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t n = strlen(ext[i]);

		if (len > n && !strcmp(path + len - n, ext[i]))
			return true;
	}
	return false;
}

void pf_fail(struct perfetto *p, int err)
{
	if (!p->err)
		p->err = err;
}

/* Start a TracePacket on the one sequence this writer has. */
struct pb_buf *pf_packet(struct perfetto *p, uint64_t ts)
{
	pb_reset(&p->pkt);
	if (ts)
		pb_varint_field(&p->pkt, TP_TIMESTAMP, ts);
	pb_varint_field(&p->pkt, TP_SEQUENCE_ID, SEQUENCE_ID);
	return &p->pkt;
}

/* Append it to the file as one Trace.packet. */
void pf_emit(struct perfetto *p)
{
	uint8_t head[11];
	size_t n;

	if (p->pkt.failed) {
		pf_fail(p, -ENOMEM);
		return;
	}
	head[0] = (TRACE_PACKET << 3) | 2;
	n = 1 + pb_varint(head + 1, p->pkt.len);
	if (fwrite(head, 1, n, p->f) != n || fwrite(p->pkt.p, 1, p->pkt.len, p->f) != p->pkt.len)
		pf_fail(p, -EIO);
}

static void interned_entry(struct pb_buf *b, uint32_t field, uint64_t iid, const char *name)
{
	size_t m = pb_begin(b, field);

	pb_varint_field(b, IID, iid);
	pb_string_field(b, IID_NAME, name);
	pb_end(b, m);
}

static uint64_t remember_name(struct perfetto *p, const char *name);

/* The first packet: clears the sequence's state, sets its clock, interns
 * the constant names and ties CLOCK_MONOTONIC to BOOTTIME. */
static void start_sequence(struct perfetto *p)
{
	struct pb_buf *b = pf_packet(p, 0);
	struct timespec mono, boot;
	size_t m, c;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	pb_varint_field(b, TP_SEQUENCE_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED);
	m = pb_begin(b, TP_DEFAULTS);
	pb_varint_field(b, TP_TIMESTAMP_CLOCK_ID, CLOCK_ID_MONOTONIC);
	pb_end(b, m);
	m = pb_begin(b, TP_INTERNED_DATA);
	for (uint32_t k = 0; k < SL_COUNT; k++)
		interned_entry(b, ID_CATEGORIES, k + 1, categories[k]);
	interned_entry(b, ID_CATEGORIES, CAT_FLOW, "flow");
	for (uint32_t a = 1; a < ANN_COUNT; a++)
		interned_entry(b, ID_ANNOTATION_NAMES, a, annotations[a]);
	p->iid_sent = remember_name(p, "first byte sent");
	p->iid_received = remember_name(p, "first byte received");
	interned_entry(b, ID_EVENT_NAMES, p->iid_sent, "first byte sent");
	interned_entry(b, ID_EVENT_NAMES, p->iid_received, "first byte received");
	pb_end(b, m);
	pf_emit(p);

	b = pf_packet(p, 0);
	m = pb_begin(b, TP_CLOCK_SNAPSHOT);
	c = pb_begin(b, CS_CLOCKS);
	pb_varint_field(b, CS_CLOCK_ID, CLOCK_ID_MONOTONIC);
	pb_varint_field(b, CS_CLOCK_TIMESTAMP,
			(uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec);
	pb_end(b, c);
	c = pb_begin(b, CS_CLOCKS);
	pb_varint_field(b, CS_CLOCK_ID, CLOCK_ID_BOOTTIME);
	pb_varint_field(b, CS_CLOCK_TIMESTAMP,
			(uint64_t)boot.tv_sec * 1000000000ull + (uint64_t)boot.tv_nsec);
	pb_end(b, c);
	pb_end(b, m);
	pf_emit(p);
}

int perfetto_open(struct perfetto **out, FILE *f)
{
	struct perfetto *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->f = f;
	start_sequence(p);
	if (p->err) {
		pb_free(&p->pkt);
		free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void perfetto_set_site_namer(struct perfetto *p, perfetto_site_fn fn, void *ctx)
{
	if (p) {
		p->site_fn = fn;
		p->site_ctx = ctx;
	}
}

static bool name_eq(const void *ctx, uint32_t pos)
{
	const struct perfetto *p = ctx;

	return !strcmp(p->names[pos], p->names[p->n_names]);
}

/* The iid of an event name, and whether it is new (*added). 0: no memory. */
static uint64_t lookup_name(struct perfetto *p, const char *name, bool *added)
{
	char **v = grow_array(p->names, p->n_names, sizeof(*v));
	uint64_t h = hindex_hash(HINDEX_SEED, name, strlen(name));
	long pos;

	*added = false;
	if (!v) {
		pf_fail(p, -ENOMEM);
		return 0;
	}
	p->names = v;
	v[p->n_names] = (char *)name; /* the probe key, past the end */
	pos = hindex_find(&p->name_ix, h, name_eq, p);
	if (pos >= 0)
		return (uint64_t)pos + 1;
	if (!(v[p->n_names] = strdup(name)) || hindex_add(&p->name_ix, h, (uint32_t)p->n_names)) {
		free(v[p->n_names]);
		pf_fail(p, -ENOMEM);
		return 0;
	}
	*added = true;
	return ++p->n_names;
}

static uint64_t remember_name(struct perfetto *p, const char *name)
{
	bool added;

	return lookup_name(p, name, &added);
}

/* The iid of an event name; a new one is interned in packet b. */
static uint64_t intern(struct perfetto *p, struct pb_buf *b, const char *name)
{
	bool added;
	uint64_t iid = lookup_name(p, name, &added);

	if (added) {
		size_t m = pb_begin(b, TP_INTERNED_DATA);

		interned_entry(b, ID_EVENT_NAMES, iid, name);
		pb_end(b, m);
	}
	return iid;
}

static void annotation_uint(struct pb_buf *b, uint32_t name, uint64_t v)
{
	size_t m = pb_begin(b, TE_DEBUG_ANNOTATIONS);

	pb_varint_field(b, DA_NAME_IID, name);
	pb_varint_field(b, DA_UINT, v);
	pb_end(b, m);
}

static void annotation_string(struct pb_buf *b, uint32_t name, const char *v)
{
	size_t m = pb_begin(b, TE_DEBUG_ANNOTATIONS);

	pb_varint_field(b, DA_NAME_IID, name);
	pb_string_field(b, DA_STRING, v);
	pb_end(b, m);
}

static void slice_begin(struct perfetto *p, const struct slice_event *s, uint64_t track)
{
	char name[320] = "", chan[CHAN_NAME_MAX] = "", where[256] = "", at[128] = "";
	bool site = s->site && p->site_fn &&
		    p->site_fn(p->site_ctx, s->site, where, sizeof(where), at, sizeof(at));
	struct pb_buf *b = pf_packet(p, s->start_ns);
	uint64_t iid;
	size_t m;

	if (s->kind == SL_IPC) {
		struct channel key = {.ino = s->chan_ino, .dev = s->chan_dev, .kind = s->chan_kind};

		chan_name(&key, chan, sizeof(chan));
		snprintf(name, sizeof(name), "%s %s", s->dir == DIR_WRITE ? "write" : "read", chan);
	} else {
		snprintf(name, sizeof(name), "%s", categories[s->kind]);
	}
	if (site)
		snprintf(name + strlen(name), sizeof(name) - strlen(name), " @ %s", at);
	pb_varint_field(b, TP_SEQUENCE_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
	iid = intern(p, b, name);
	m = pb_begin(b, TP_TRACK_EVENT);
	pb_varint_field(b, TE_TYPE, TYPE_SLICE_BEGIN);
	pb_varint_field(b, TE_TRACK_UUID, track);
	pb_varint_field(b, TE_CATEGORY_IIDS, s->kind + 1);
	pb_varint_field(b, TE_NAME_IID, iid);
	if (s->kind == SL_IPC) {
		annotation_string(b, ANN_CHANNEL, chan);
		annotation_uint(b, ANN_BYTES, s->ret > 0 ? (uint64_t)s->ret : 0);
		if (s->ret < 0) {
			size_t e = pb_begin(b, TE_DEBUG_ANNOTATIONS);

			pb_varint_field(b, DA_NAME_IID, ANN_ERRNO);
			pb_sint_field(b, DA_INT, -s->ret);
			pb_end(b, e);
		}
		annotation_uint(b, ANN_BLOCKED_NS, s->off_ns);
	}
	if (site)
		annotation_string(b, ANN_CALL_SITE, where);
	pb_end(b, m);
	pf_emit(p);
}

void perfetto_slice(struct perfetto *p, const struct slice_event *s)
{
	struct pb_buf *b;
	uint64_t track;
	size_t m;

	if (!p || !p->f || s->kind >= SL_COUNT || s->end_ns < s->start_ns)
		return;
	if (s->kind == SL_FAULTS) { /* the kernel's count for one bucket */
		struct pf_proc *pr = pf_process(p, s->tgid);

		if (!pr)
			return;
		if (!pr->faults.announced && (pr->faults.announced = true))
			pf_counter_descriptor(p, pr->faults.uuid, UUID_PROCESS | s->tgid,
					      "page faults/s", "faults/s");
		pf_rate_add(p, &pr->faults, s->start_ns, (uint64_t)s->ret);
		return;
	}
	track = pf_thread_track(p, s->tgid, s->tid);
	slice_begin(p, s, track);
	b = pf_packet(p, s->end_ns);
	m = pb_begin(b, TP_TRACK_EVENT);
	pb_varint_field(b, TE_TYPE, TYPE_SLICE_END);
	pb_varint_field(b, TE_TRACK_UUID, track);
	pb_end(b, m);
	pf_emit(p);
	if (s->kind == SL_IPC && s->ret > 0)
		pf_ipc_bytes(p, s);
}

void perfetto_free(struct perfetto *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_chans; i++) {
		free(p->chans[i].waiting[0]);
		free(p->chans[i].waiting[1]);
	}
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	free(p->chans);
	free(p->threads);
	free(p->procs);
	hindex_free(&p->name_ix);
	hindex_free(&p->chan_ix);
	hindex_free(&p->thread_ix);
	hindex_free(&p->proc_ix);
	pb_free(&p->pkt);
	free(p);
}

int perfetto_finish(struct perfetto *p, const struct report *rep, char *err, size_t errlen)
{
	int rc;

	if (!p || !p->f)
		return 0;
	for (size_t i = 0; i < p->n_chans; i++)
		for (int d = 0; d < 2; d++)
			pf_rate_close(p, &p->chans[i].rate[d]);
	for (size_t i = 0; i < p->n_procs; i++) {
		pf_rate_close(p, &p->procs[i].faults);
		if (p->procs[i].named || !rep)
			continue;
		/* gone before /proc could name it: the report knows its comm */
		for (int r = 0; r < rep->n_procs; r++)
			if (rep->procs[r].pid == p->procs[i].pid)
				pf_process_descriptor(p, p->procs[i].pid, rep->procs[r].comm);
	}
	if (rep)
		pf_segment_counters(p, rep);
	rc = p->err;
	if (rc)
		snprintf(err, errlen, "%s", rc == -ENOMEM ? "out of memory" : strerror(-rc));
	p->f = NULL;
	return rc;
}
