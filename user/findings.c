// SPDX-License-Identifier: MIT
#include "findings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segments.h"
#include "util.h"

struct rule {
	const char *id;
	/* the share (or rate) above which the rule fires */
	double threshold;
	/* and the least absolute amount worth a sentence (ns, faults, bytes
	 * or calls, per rule): tiny runs say nothing */
	double min_amount;
	/* fills f and returns true when the rule fires */
	bool (*fires)(const struct report *rep, const struct rule *r, struct finding *f);
};

/* Time inside the serializers, their page faults included. */
static uint64_t pickling_ns(const struct proc_row *t)
{
	return t->activity_ns[ACT_SERIALIZE] + t->activity_ns[ACT_DESERIALIZE];
}

/*
 * CPU the transfers cost: pickling plus the IPC syscalls on CPU. Blocked
 * time is left out: it is one side waiting for the other's work, counted
 * already on that side.
 */
static bool serialization_dominates(const struct report *rep, const struct rule *r,
				    struct finding *f)
{
	const struct proc_row *t = &rep->totals;
	uint64_t pick = pickling_ns(t), cpu = pick + t->ipc_oncpu_ns;
	char a[32], b[32], c[32];

	if (!cpu || pick < r->min_amount)
		return false;
	f->value = (double)pick / (double)cpu;
	if (f->value < r->threshold)
		return false;
	snprintf(f->text, sizeof(f->text),
		 "pickling is %.0f%% of the CPU the transfers cost (serialize %s, deserialize %s, "
		 "page faults included, against %s in IPC syscalls): the data's size and shape set "
		 "the cost, not the channel; send less, or let children inherit the data",
		 100 * f->value, fmt_ns(t->activity_ns[ACT_SERIALIZE], a, sizeof(a)),
		 fmt_ns(t->activity_ns[ACT_DESERIALIZE], b, sizeof(b)),
		 fmt_ns(t->ipc_oncpu_ns, c, sizeof(c)));
	return true;
}

/* Copy-on-write faults while pickling: the object lives in pages shared
 * with a forked child, and pickling writes its reference counts. */
static bool cow_while_pickling(const struct report *rep, const struct rule *r, struct finding *f)
{
	const struct proc_row *t = &rep->totals;
	uint64_t cow = t->faults[ACT_SERIALIZE][FT_COW], all = 0;
	char a[32], b[32];

	for (int k = 0; k < FT_COUNT; k++)
		all += t->faults[ACT_SERIALIZE][k];
	if (cow < r->min_amount || !all)
		return false;
	f->value = (double)cow / (double)all;
	if (f->value < r->threshold)
		return false;
	snprintf(f->text, sizeof(f->text),
		 "%llu copy-on-write page faults while pickling (%.0f%% of its faults; ~%s of "
		 "its %s, sampled): the data was built before a fork and pickling writes its "
		 "reference counts into pages shared with the child; build it after forking, or "
		 "let the child inherit it instead of sending it",
		 (unsigned long long)cow, 100 * f->value,
		 fmt_ns(t->fault_ns[ACT_SERIALIZE], a, sizeof(a)),
		 fmt_ns(t->activity_ns[ACT_SERIALIZE], b, sizeof(b)));
	return true;
}

/* The busiest channel's throughput against one pipe's on this machine. */
static bool channel_below_pipe(const struct report *rep, const struct rule *r, struct finding *f)
{
	const struct channel *best = NULL;
	char name[CHAN_NAME_MAX], a[32], b[32], c[32];
	double bps;

	for (int i = 0; i < rep->n_chans; i++)
		if (!best || rep->chans[i].bytes_written > best->bytes_written)
			best = &rep->chans[i];
	if (!best || rep->pipe_bps <= 0 || best->bytes_written < r->min_amount ||
	    best->last_ns <= best->first_ns)
		return false;
	bps = (double)best->bytes_written * 1e9 / (double)(best->last_ns - best->first_ns);
	f->value = bps / rep->pipe_bps;
	if (f->value >= r->threshold)
		return false;
	snprintf(f->text, sizeof(f->text),
		 "%s moved %s at %s, %.1f%% of the %s one pipe sustains on this machine: the "
		 "time goes around the channel, not through it",
		 chan_name(best, name, sizeof(name)), fmt_bytes(best->bytes_written, a, sizeof(a)),
		 fmt_rate(bps, b, sizeof(b)), 100 * f->value,
		 fmt_rate(rep->pipe_bps, c, sizeof(c)));
	return true;
}

/* Many small messages: per-call costs dominate. */
static bool small_messages(const struct report *rep, const struct rule *r, struct finding *f)
{
	const struct proc_row *t = &rep->totals;
	uint64_t bytes = t->bytes_read + t->bytes_written;
	char a[32];

	if (t->ipc_calls < r->min_amount)
		return false;
	f->value = (double)bytes / (double)t->ipc_calls;
	if (f->value >= r->threshold)
		return false;
	snprintf(f->text, sizeof(f->text),
		 "%llu IPC calls of %.0f bytes on average (%s on CPU in them): per-call costs "
		 "dominate; send fewer, larger messages (e.g. Pool.map's chunksize)",
		 (unsigned long long)t->ipc_calls, f->value, fmt_ns(t->ipc_oncpu_ns, a, sizeof(a)));
	return true;
}

/* Channels by kind and number, for finding a connection's other direction. */
struct chan_ix {
	uint64_t ino;
	uint8_t kind;
	int idx;
};

static int by_kind_ino(const void *a, const void *b)
{
	const struct chan_ix *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* The channel carrying the other direction of `c`'s connection (a unix
 * socket's pair, a TCP flow's reverse), or NULL (pipes are one-way). */
static const struct channel *reverse_of(const struct report *rep, const struct chan_ix *ix,
					const struct channel *c)
{
	unsigned flags = ipc_kind_flags(c->kind);
	struct chan_ix key = {.kind = c->kind}, *hit;
	const struct channel *r;

	if (flags & KF_FLOW)
		key.ino = (c->ino & 0xffff) << 16 | (c->ino >> 16 & 0xffff);
	else if ((flags & KF_PEER_INODE) && c->peer_ino)
		key.ino = c->peer_ino;
	else
		return NULL;
	hit = bsearch(&key, ix, (size_t)rep->n_chans, sizeof(*ix), by_kind_ino);
	if (!hit || (r = &rep->chans[hit->idx]) == c)
		return NULL;
	return (flags & KF_FLOW) || r->peer_ino == c->ino ? r : NULL;
}

/* Bytes a one-way consumer must have received for its wait to be for data
 * (a Queue's reader) rather than for work that may never come (a helper
 * daemon such as multiprocessing's resource tracker). */
#define BULK_BYTES (1u << 20)

/* Did this read end wait for answers or data? (See waited_for_answers.) */
static bool waits_for_answers(const struct chan_end *e, const struct channel *reverse)
{
	const struct chan_end *mine =
	    reverse ? channel_find_end(reverse, e->tgid, DIR_WRITE) : NULL;

	if (mine)
		return mine->s.first_ns && mine->s.first_ns < e->s.first_ns;
	return e->s.bytes >= BULK_BYTES;
}

/*
 * Each process's blocked time spent waiting for an answer or for data (by
 * the index of its row; NULL when out of memory): on a connection where it
 * sent first (a client waiting for replies), or on a one-way channel that
 * brought it bulk data. A server waiting for the next request (its peer
 * sent first) and an idle helper wait for work, and the other side is no
 * bottleneck of theirs. One pass over the channels, sorted once.
 */
static uint64_t *waited_for_answers(const struct report *rep)
{
	uint64_t *ns = calloc((size_t)rep->n_procs + 1, sizeof(*ns));
	struct chan_ix *ix = malloc(((size_t)rep->n_chans + 1) * sizeof(*ix));

	if (!ns || !ix) {
		free(ns);
		free(ix);
		return NULL;
	}
	for (int i = 0; i < rep->n_chans; i++)
		ix[i] = (struct chan_ix){rep->chans[i].ino, rep->chans[i].kind, i};
	qsort(ix, (size_t)rep->n_chans, sizeof(*ix), by_kind_ino);
	for (int i = 0; i < rep->n_chans; i++) {
		const struct channel *c = &rep->chans[i], *r = reverse_of(rep, ix, c);

		for (int k = 0; k < c->n_ends; k++) {
			const struct chan_end *e = &c->ends[k];
			const struct proc_row *p;

			if (e->dir != DIR_READ || !(p = report_find_proc(rep, e->tgid)) ||
			    !waits_for_answers(e, r))
				continue;
			ns[p - rep->procs] = add_sat(
			    ns[p - rep->procs], add_sat(e->s.blocked_ns, e->s.poll_blocked_ns));
		}
	}
	free(ix);
	return ns;
}

/* The process that waited longest for its peer's answers or data, when that
 * is most of its time. */
static bool blocked_on_peer(const struct report *rep, const struct rule *r, struct finding *f)
{
	uint64_t *waited = waited_for_answers(rep), most = 0;
	const struct proc_row *worst = NULL;
	char a[32];

	for (int i = 0; waited && i < rep->n_procs; i++)
		if (rep->procs[i].thread_ns && waited[i] > most) {
			most = waited[i];
			worst = &rep->procs[i];
		}
	free(waited);
	if (!worst || most < r->min_amount)
		return false;
	if (most > worst->thread_ns) /* only a crafted recording */
		most = worst->thread_ns;
	f->value = (double)most / (double)worst->thread_ns;
	if (f->value < r->threshold)
		return false;
	snprintf(f->text, sizeof(f->text),
		 "pid %u (%.*s) spent %s, %.0f%% of its time, blocked waiting for its peer's "
		 "answers or data: the other side's work (see its serialize and compute) is the "
		 "bottleneck",
		 worst->pid, IPCPROF_COMM_LEN, worst->comm, fmt_ns(most, a, sizeof(a)),
		 100 * f->value);
	return true;
}

/* What crossed in shared segments rather than through channels: bytes the
 * processes that did not make a segment touched in it. */
struct shared_sums {
	uint64_t read, makers_ns, readers_ns;
	int segments;
};

static void shared_sums(const struct report *rep, struct shared_sums *s)
{
	struct segment *v;
	int n = segments_build(rep, &v);

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < n; i++) {
		uint64_t read = 0;

		for (int u = 0; u < v[i].n_uses; u++) {
			const struct seg_use *use = v[i].uses[u];
			uint64_t ns = seg_use_fault_ns(rep, use, NULL);

			if (use->pid == v[i].creator_pid) {
				s->makers_ns += ns;
			} else {
				read += use->bytes_touched;
				s->readers_ns += ns;
			}
		}
		s->read += read;
		s->segments += read > 0;
	}
	segments_free(v, n > 0 ? n : 0);
}

/* Most of the data crossed in shared memory: say so, and what it cost. */
static bool shared_memory_carries(const struct report *rep, const struct rule *r, struct finding *f)
{
	uint64_t chan_bytes = 0, fds = 0, handoff_ns = 0;
	struct shared_sums s;
	char a[32], b[32], c[32], d[32], e[32];

	shared_sums(rep, &s);
	for (int i = 0; i < rep->n_chans; i++) {
		const struct channel *ch = &rep->chans[i];

		chan_bytes +=
		    ch->bytes_written > ch->bytes_read ? ch->bytes_written : ch->bytes_read;
		if (channel_fds_passed(ch)) {
			fds += channel_fds_passed(ch);
			handoff_ns += ch->oncpu_ns + ch->blocked_ns;
		}
	}
	if ((double)s.read < r->min_amount)
		return false;
	f->value = (double)s.read / (double)(s.read + chan_bytes);
	if (f->value < r->threshold)
		return false;
	snprintf(f->text, sizeof(f->text),
		 "%s went through %d shared segment%s (bytes touched by the processes that did not "
		 "make them) and %s through channels: the cost is first-touch faults by the makers "
		 "(~%s, sampled) and by the readers (~%s, sampled), and %llu descriptor hand-off%s "
		 "(%s in their channels' calls)",
		 fmt_bytes(s.read, a, sizeof(a)), s.segments, s.segments == 1 ? "" : "s",
		 fmt_bytes(chan_bytes, b, sizeof(b)), fmt_ns(s.makers_ns, c, sizeof(c)),
		 fmt_ns(s.readers_ns, d, sizeof(d)), (unsigned long long)fds, fds == 1 ? "" : "s",
		 fmt_ns(handoff_ns, e, sizeof(e)));
	return true;
}

/* The rules, in the order their findings are printed. */
static const struct rule rules[] = {
    /* share of pickling in the transfers' CPU; at least 10 ms of it */
    {"serialization-dominates", 0.5, 10e6, serialization_dominates},
    /* share of copy-on-write among the serializer's faults; >= 1000 */
    {"cow-while-pickling", 0.25, 1000, cow_while_pickling},
    /* busiest channel's rate below this share of one pipe's; >= 1 MB */
    {"channel-below-pipe", 0.10, 1e6, channel_below_pipe},
    /* average bytes per IPC call below this; >= 10,000 calls */
    {"small-messages", 1024, 10000, small_messages},
    /* one process's blocked share of its time; at least 100 ms */
    {"blocked-on-peer", 0.5, 100e6, blocked_on_peer},
    /* share of shared memory in the bytes that crossed; at least 1 MB */
    {"shared-memory-carries", 0.5, 1e6, shared_memory_carries},
};

int findings_derive(const struct report *rep, struct finding *out, int max)
{
	int n = 0;

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && n < max; i++) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].rule = rules[i].id;
		out[n].threshold = rules[i].threshold;
		if (rules[i].fires(rep, &rules[i], &out[n]))
			n++;
	}
	return n;
}
