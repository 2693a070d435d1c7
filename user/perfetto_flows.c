// SPDX-License-Identifier: MIT
/* Channels in the Perfetto timeline: bytes/s counters and the arrows from
 * each write to the read that received its first byte. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "perfetto_priv.h"
#include "util.h"

static bool chan_eq(const void *ctx, uint32_t pos)
{
	const struct perfetto *p = ctx;
	const struct pf_chan *a = &p->chans[pos], *k = &p->chans[p->n_chans];

	return a->ino == k->ino && a->dev == k->dev && a->kind == k->kind;
}

static struct pf_chan *channel(struct perfetto *p, const struct slice_event *s)
{
	struct pf_chan *v = grow_array(p->chans, p->n_chans, sizeof(*v)), *c;
	struct channel key = {.ino = s->chan_ino, .dev = s->chan_dev, .kind = s->chan_kind};
	uint64_t h = hindex_hash(HINDEX_SEED, &s->chan_ino, sizeof(s->chan_ino));
	long pos;

	h = hindex_hash(h, &s->chan_dev, sizeof(s->chan_dev));
	h = hindex_hash(h, &s->chan_kind, sizeof(s->chan_kind));
	if (!v) {
		pf_fail(p, -ENOMEM);
		return NULL;
	}
	p->chans = v;
	c = &v[p->n_chans];
	memset(c, 0, sizeof(*c));
	c->ino = s->chan_ino;
	c->dev = s->chan_dev;
	c->kind = s->chan_kind;
	pos = hindex_find(&p->chan_ix, h, chan_eq, p);
	if (pos >= 0)
		return &v[pos];
	if (p->n_chans >= MAX_PF_CHANS)
		return NULL;
	if (hindex_add(&p->chan_ix, h, (uint32_t)p->n_chans)) {
		pf_fail(p, -ENOMEM);
		return NULL;
	}
	chan_name(&key, c->name, sizeof(c->name));
	for (int d = 0; d < 2; d++)
		c->rate[d].uuid = UUID_CHANNEL_RATE | (p->n_chans * 2 + (uint64_t)d);
	p->n_chans++;
	return c;
}

/* An arrow from the write's first byte to the read that got it: instants
 * just inside both slices, so that the viewer orders them by time (the
 * write starts before the read ends, whichever started first). */
static void flow(struct perfetto *p, const struct pending *w, const struct pending *r)
{
	uint64_t id = ++p->next_flow;
	uint64_t wts = w->start_ns + 1 < w->end_ns ? w->start_ns + 1 : w->end_ns;
	uint64_t rts = r->end_ns - 1 > r->start_ns ? r->end_ns - 1 : r->start_ns;
	const struct pending *ends[2] = {w, r};

	for (int i = 0; i < 2; i++) {
		uint64_t track = pf_thread_track(p, ends[i]->tgid, ends[i]->tid);
		struct pb_buf *b = pf_packet(p, i ? rts : wts);
		size_t m;

		pb_varint_field(b, TP_SEQUENCE_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
		m = pb_begin(b, TP_TRACK_EVENT);
		pb_varint_field(b, TE_TYPE, TYPE_INSTANT);
		pb_varint_field(b, TE_TRACK_UUID, track);
		pb_varint_field(b, TE_CATEGORY_IIDS, CAT_FLOW);
		pb_varint_field(b, TE_NAME_IID, i ? p->iid_received : p->iid_sent);
		pb_fixed64_field(b, i ? TE_TERMINATING_FLOW_IDS : TE_FLOW_IDS, id);
		pb_end(b, m);
		pf_emit(p);
	}
}

static void drop_waiting(struct perfetto *p, struct pf_chan *c, int dir, unsigned i)
{
	memmove(&c->waiting[dir][i], &c->waiting[dir][i + 1],
		(--c->n_waiting[dir] - i) * sizeof(c->waiting[dir][0]));
	p->n_pending_all--;
	if (!c->n_waiting[dir]) { /* an idle channel holds no memory */
		free(c->waiting[dir]);
		c->waiting[dir] = NULL;
	}
}

/* All ends taken: drop those older than PENDING_MAX_AGE_NS before `now`,
 * at most once a second of trace time (a sweep visits every channel). */
static void sweep_old(struct perfetto *p, uint64_t now)
{
	if (now < p->last_sweep_ns + 1000000000ull || now < PENDING_MAX_AGE_NS)
		return;
	p->last_sweep_ns = now;
	for (size_t i = 0; i < p->n_chans; i++)
		for (int d = 0; d < 2; d++) {
			struct pf_chan *c = &p->chans[i];
			unsigned old = 0;

			/* waiting ends are in completion order: the old ones first */
			while (old < c->n_waiting[d] &&
			       c->waiting[d][old].end_ns + PENDING_MAX_AGE_NS < now)
				old++;
			while (old--)
				drop_waiting(p, c, d, 0);
		}
}

static void wait_for_partner(struct perfetto *p, struct pf_chan *c, int dir,
			     const struct pending *e)
{
	struct pending *q;

	if (p->n_pending_all >= MAX_PENDING_ALL)
		sweep_old(p, e->end_ns);
	if (c->n_waiting[dir] == MAX_PENDING || p->n_pending_all >= MAX_PENDING_ALL)
		return;
	q = grow_array(c->waiting[dir], c->n_waiting[dir], sizeof(*q));
	if (!q) {
		pf_fail(p, -ENOMEM);
		return;
	}
	c->waiting[dir] = q;
	q[c->n_waiting[dir]++] = *e;
	p->n_pending_all++;
}

/*
 * Per channel, writes and reads in completion order tile its byte stream
 * (as in the JSON timeline): a write's first byte is at the stream offset
 * where it starts; the read whose range holds that offset received it.
 * Either may arrive first; the one that does waits (bounded) for the other.
 */
static void match_write(struct perfetto *p, struct pf_chan *c, struct pending *w)
{
	for (unsigned i = 0; i < c->n_waiting[DIR_READ];) {
		struct pending *r = &c->waiting[DIR_READ][i];

		if (r->end <= w->off) { /* no later write can start inside it */
			drop_waiting(p, c, DIR_READ, i);
			continue;
		}
		if (r->off <= w->off) {
			flow(p, w, r);
			return;
		}
		i++;
	}
	wait_for_partner(p, c, DIR_WRITE, w);
}

static void match_read(struct perfetto *p, struct pf_chan *c, struct pending *r)
{
	for (unsigned i = 0; i < c->n_waiting[DIR_WRITE];) {
		struct pending *w = &c->waiting[DIR_WRITE][i];

		if (w->off < r->off) { /* its read went by unseen */
			drop_waiting(p, c, DIR_WRITE, i);
		} else if (w->off < r->end) {
			flow(p, w, r);
			drop_waiting(p, c, DIR_WRITE, i);
		} else {
			i++;
		}
	}
	if (r->end > c->stream_off[DIR_WRITE]) /* writes still to come land here */
		wait_for_partner(p, c, DIR_READ, r);
}

void pf_ipc_bytes(struct perfetto *p, const struct slice_event *s)
{
	struct pf_chan *c = channel(p, s);
	int dir = s->dir == DIR_WRITE ? DIR_WRITE : DIR_READ;
	struct pending e = {
	    .start_ns = s->start_ns, .end_ns = s->end_ns, .tgid = s->tgid, .tid = s->tid};

	if (!c)
		return;
	if (!c->rate[dir].announced) {
		char name[96];

		c->rate[dir].announced = true;
		snprintf(name, sizeof(name), "%s %s", c->name,
			 dir == DIR_WRITE ? "written" : "read");
		pf_counter_descriptor(p, c->rate[dir].uuid, 0, name, "bytes/s");
	}
	pf_rate_add(p, &c->rate[dir], s->end_ns, (uint64_t)s->ret);
	e.off = c->stream_off[dir];
	e.end = e.off + (uint64_t)s->ret;
	c->stream_off[dir] = e.end;
	if (dir == DIR_WRITE)
		match_write(p, c, &e);
	else
		match_read(p, c, &e);
}
