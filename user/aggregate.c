// SPDX-License-Identifier: MIT
/* The report model: rows added, channels merged, sorted, names, freed. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

const char *const phase_names[PH_COUNT] = {
    "serialize", "deserialize", "syscall", "blocked", "copy",  "fault",
    "fork",	 "mmap",	"wait",	   "compute", "other",
};
const char *const phase_fields[PH_COUNT] = {
    "serialize_ns", "deserialize_ns", "syscall_ns", "blocked_ns", "copy_ns",  "fault_ns",
    "fork_ns",	    "mmap_ns",	      "wait_ns",    "compute_ns", "other_ns",
};
const char *const activity_names[ACT_COUNT] = {
    "serialize", "deserialize", "ipc", "post_fork", "other", "shared",
};

/* Room for one more element in arr (n used): grow_array() in place. */
#define GROW(arr, n)                                                                               \
	({                                                                                         \
		void *_p = grow_array((arr), (size_t)(n), sizeof(*(arr)));                         \
		if (_p)                                                                            \
			(arr) = _p;                                                                \
		_p != NULL;                                                                        \
	})

int report_add_proc(struct report *rep, const struct proc_row *row)
{
	if (!GROW(rep->procs, rep->n_procs))
		return -ENOMEM;
	rep->procs[rep->n_procs++] = *row;
	return 0;
}

/*
 * What one end knows of a flow's addresses, added to what the others knew:
 * an unconnected UDP sender knows its peer's address and not its own, its
 * receiver the reverse.
 */
void inet_ends_merge(struct inet_ends *into, const struct inet_ends *from)
{
	static const uint8_t any[16];

	if (!memcmp(into->src_addr, any, sizeof(any)))
		memcpy(into->src_addr, from->src_addr, sizeof(into->src_addr));
	if (!memcmp(into->dst_addr, any, sizeof(any)))
		memcpy(into->dst_addr, from->dst_addr, sizeof(into->dst_addr));
	if (!into->src_port)
		into->src_port = from->src_port;
	if (!into->dst_port)
		into->dst_port = from->dst_port;
}

static int chan_add_end(struct channel *c, uint32_t tgid, uint8_t dir, const struct chan_stats *s);

int report_add_chan(struct report *rep, const struct chan_key *k, const struct chan_stats *s)
{
	struct channel *c = NULL;

	for (int i = 0; i < rep->n_chans && !c; i++)
		if (rep->chans[i].ino == k->ino && rep->chans[i].dev == k->dev &&
		    rep->chans[i].kind == k->kind)
			c = &rep->chans[i];
	if (!c) {
		if (!GROW(rep->chans, rep->n_chans))
			return -ENOMEM;
		c = &rep->chans[rep->n_chans++];
		memset(c, 0, sizeof(*c));
		c->ino = k->ino;
		c->dev = k->dev;
		c->kind = k->kind;
	}
	return chan_add_end(c, k->tgid, k->dir, s);
}

/* One process's end of a channel, or more of an end it has already. */
static int chan_add_end(struct channel *c, uint32_t tgid, uint8_t dir, const struct chan_stats *s)
{
	struct chan_end *e;

	if (s->peer_ino)
		c->peer_ino = s->peer_ino;
	inet_ends_merge(&c->flow, &s->flow);
	/* the same end again: the tracer folded an idle entry out of the
	 * kernel and the process used the channel after that */
	for (int i = 0; i < c->n_ends; i++) {
		e = &c->ends[i];
		if (e->tgid != tgid || e->dir != dir)
			continue;
		chan_stats_merge(&e->s, s);
		channel_account(c, &(struct chan_end){.tgid = tgid, .dir = dir, .s = *s});
		return 0;
	}
	if (!GROW(c->ends, c->n_ends))
		return -ENOMEM;
	e = &c->ends[c->n_ends++];
	e->tgid = tgid;
	e->dir = dir;
	e->s = *s;
	channel_account(c, e);
	return 0;
}

static int by_end(const void *a, const void *b);

/* `from`'s ends added to `to`, as they are (merge_same_ends() joins an
 * end that `to` had already): no scan per end, whatever their number. */
static int chan_append_ends(struct channel *to, const struct channel *from)
{
	for (int i = 0; i < from->n_ends; i++) {
		if (!GROW(to->ends, to->n_ends))
			return -ENOMEM;
		to->ends[to->n_ends++] = from->ends[i];
		channel_account(to, &from->ends[i]);
		inet_ends_merge(&to->flow, &from->ends[i].s.flow);
	}
	return 0;
}

/* One entry per process and direction: sorted, then neighbours merged. */
static void merge_same_ends(struct channel *c)
{
	int kept = 0;

	if (c->n_ends < 2)
		return;
	qsort(c->ends, (size_t)c->n_ends, sizeof(*c->ends), by_end);
	for (int i = 0; i < c->n_ends; i++) {
		if (kept && !by_end(&c->ends[kept - 1], &c->ends[i]))
			chan_stats_merge(&c->ends[kept - 1].s, &c->ends[i].s);
		else
			c->ends[kept++] = c->ends[i];
	}
	c->n_ends = kept;
}

/* A flow channel by its kind and receiving port (join_unnamed_flows). */
struct flow_ix {
	uint32_t key; /* kind << 16 | receiver's port */
	int idx;      /* in rep->chans */
};

static int by_flow_key(const void *a, const void *b)
{
	uint32_t x = ((const struct flow_ix *)a)->key, y = ((const struct flow_ix *)b)->key;

	return x < y ? -1 : x > y;
}

/*
 * UDP datagrams read with no address on a socket bound to loopback: the
 * kernel side knew the peer was local but not its port, so they sit on a
 * flow from port 0. When exactly one traced flow ends at that port, they
 * were its datagrams: join them to it. (More than one: they stay apart,
 * said as "?" for the sender.) Sorted once, so that a recording crafted
 * with thousands of such flows costs n log n, not n squared.
 */
static int join_unnamed_flows(struct report *rep)
{
	struct flow_ix *ix;
	int n = 0, unnamed = 0, rc = 0, kept = 0;

	for (int i = 0; i < rep->n_chans; i++)
		if (ipc_kind_flags(rep->chans[i].kind) & KF_FLOW)
			*(rep->chans[i].ino >> 16 ? &n : &unnamed) += 1;
	if (!unnamed || !n)
		return 0;
	ix = malloc((size_t)n * sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	n = 0;
	for (int i = 0; i < rep->n_chans; i++) {
		const struct channel *c = &rep->chans[i];

		if ((ipc_kind_flags(c->kind) & KF_FLOW) && c->ino >> 16)
			ix[n++] = (struct flow_ix){(uint32_t)c->kind << 16 | (c->ino & 0xffff), i};
	}
	qsort(ix, (size_t)n, sizeof(*ix), by_flow_key);
	for (int i = 0; i < rep->n_chans && !rc; i++) {
		struct channel *c = &rep->chans[i];
		struct flow_ix key = {(uint32_t)c->kind << 16 | (c->ino & 0xffff), 0};
		int lo = 0, hi = n;

		if (!(ipc_kind_flags(c->kind) & KF_FLOW) || c->ino >> 16)
			continue;
		while (lo < hi) { /* the first entry not below key */
			int mid = lo + (hi - lo) / 2;

			if (by_flow_key(&ix[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= n || ix[lo].key != key.key || (lo + 1 < n && ix[lo + 1].key == key.key))
			continue; /* none, or more than one */
		rc = chan_append_ends(&rep->chans[ix[lo].idx], c);
		free(c->ends);
		c->ends = NULL;
		c->n_ends = -1; /* joined: dropped below */
	}
	free(ix);
	for (int i = 0; i < rep->n_chans; i++) {
		if (rep->chans[i].n_ends < 0)
			continue;
		merge_same_ends(&rep->chans[i]);
		rep->chans[kept++] = rep->chans[i];
	}
	rep->n_chans = kept;
	return rc;
}

void chan_stats_merge(struct chan_stats *into, const struct chan_stats *s)
{
	into->calls += s->calls;
	into->bytes += s->bytes;
	into->oncpu_ns += s->oncpu_ns;
	into->blocked_ns += s->blocked_ns;
	into->fds_passed += s->fds_passed;
	into->poll_blocked_ns = add_sat(into->poll_blocked_ns, s->poll_blocked_ns);
	if (s->peer_ino)
		into->peer_ino = s->peer_ino;
	inet_ends_merge(&into->flow, &s->flow);
	if (s->first_ns && (!into->first_ns || s->first_ns < into->first_ns))
		into->first_ns = s->first_ns;
	if (s->last_ns > into->last_ns)
		into->last_ns = s->last_ns;
	for (int i = 0; i < IPCPROF_HIST_SLOTS; i++) {
		into->size_hist[i] += s->size_hist[i];
		into->latency_hist[i] += s->latency_hist[i];
	}
}

void channel_account(struct channel *c, const struct chan_end *e)
{
	const struct chan_stats *s = &e->s;

	if (e->dir == DIR_WRITE) {
		c->bytes_written += s->bytes;
		c->write_calls += s->calls;
	} else {
		c->bytes_read += s->bytes;
		c->read_calls += s->calls;
	}
	c->oncpu_ns += s->oncpu_ns;
	c->blocked_ns += s->blocked_ns;
	c->blocked_poll_ns = add_sat(c->blocked_poll_ns, s->poll_blocked_ns);
	if (e->dir == DIR_WRITE)
		c->fds_sent += s->fds_passed;
	else
		c->fds_received += s->fds_passed;
	if (s->first_ns && (!c->first_ns || s->first_ns < c->first_ns))
		c->first_ns = s->first_ns;
	if (s->last_ns > c->last_ns)
		c->last_ns = s->last_ns;
}

static int add_str(char ***v, int *n, const char *s)
{
	char *dup = strdup(s);

	if (!dup || !GROW(*v, *n)) {
		free(dup);
		return -ENOMEM;
	}
	(*v)[(*n)++] = dup;
	return 0;
}

int report_add_note(struct report *rep, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return add_str(&rep->notes, &rep->n_notes, buf);
}

int report_add_probe(struct report *rep, const char *desc)
{
	return add_str(&rep->probes, &rep->n_probes, desc);
}

static int by_pid(const void *a, const void *b)
{
	const struct proc_row *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int by_bytes(const void *a, const void *b)
{
	const struct channel *x = a, *y = b;
	uint64_t bx = x->bytes_written + x->bytes_read, by = y->bytes_written + y->bytes_read;

	if (bx != by)
		return bx < by ? 1 : -1;
	return (x->ino > y->ino) - (x->ino < y->ino);
}

static int by_end(const void *a, const void *b)
{
	const struct chan_end *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir > y->dir ? -1 : 1; /* writers first */
	return (x->tgid > y->tgid) - (x->tgid < y->tgid);
}

void report_finish(struct report *rep)
{
	struct proc_row *t = &rep->totals;

	/* out of memory: the datagrams stay on their own channel */
	(void)join_unnamed_flows(rep);
	/* libc declares the array nonnull even when empty */
	if (rep->n_procs)
		qsort(rep->procs, rep->n_procs, sizeof(*rep->procs), by_pid);
	if (rep->n_chans)
		qsort(rep->chans, rep->n_chans, sizeof(*rep->chans), by_bytes);
	for (int i = 0; i < rep->n_chans; i++)
		if (rep->chans[i].n_ends)
			qsort(rep->chans[i].ends, rep->chans[i].n_ends, sizeof(struct chan_end),
			      by_end);

	memset(t, 0, sizeof(*t));
	t->start_ns = rep->start_ns;
	t->end_ns = rep->end_ns;
	t->wall_ns = rep->end_ns > rep->start_ns ? rep->end_ns - rep->start_ns : 0;
	/* timed for the whole only where timed for every process */
	t->copy_timed = t->faults_timed = rep->n_procs > 0;
	for (int i = 0; i < rep->n_procs; i++) {
		const struct proc_row *r = &rep->procs[i];

		t->thread_ns += r->thread_ns;
		t->copy_timed &= r->copy_timed;
		t->faults_timed &= r->faults_timed;
		t->ser_partial |= r->ser_partial;
		for (int p = 0; p < PH_COUNT; p++) {
			t->phase_ns[p] += r->phase_ns[p];
			/* independent per process: add in quadrature */
			t->ci95_ns[p] = ci95_combine((double)t->ci95_ns[p], (double)r->ci95_ns[p]);
		}
		t->serialize_calls += r->serialize_calls;
		t->deserialize_calls += r->deserialize_calls;
		t->ipc_calls += r->ipc_calls;
		t->ipc_oncpu_ns += r->ipc_oncpu_ns;
		t->blocked_poll_ns = add_sat(t->blocked_poll_ns, r->blocked_poll_ns);
		for (int f = 0; f < FAM_COUNT; f++)
			t->ipc_oncpu_fam_ns[f] += r->ipc_oncpu_fam_ns[f];
		t->bytes_read += r->bytes_read;
		t->bytes_written += r->bytes_written;
		t->fork_calls += r->fork_calls;
		t->first_run_ns += r->first_run_ns;
		t->mmap_calls += r->mmap_calls;
		t->mmap_bytes += r->mmap_bytes;
		t->ipc_kernel_ns += r->ipc_kernel_ns;
		t->copy_sampled_ns += r->copy_sampled_ns;
		t->ser_sampled_ns += r->ser_sampled_ns;
		t->samples_total += r->samples_total;
		t->samples_ipc += r->samples_ipc;
		t->samples_copy += r->samples_copy;
		t->faults_kernel += r->faults_kernel;
		for (int a = 0; a < ACT_COUNT; a++) {
			for (int f = 0; f < FT_COUNT; f++)
				t->faults[a][f] += r->faults[a][f];
			t->fault_samples[a] += r->fault_samples[a];
			t->user_samples[a] += r->user_samples[a];
			t->act_samples[a] += r->act_samples[a];
			t->fault_ns[a] += r->fault_ns[a];
			t->fault_ci95_ns[a] =
			    ci95_combine((double)t->fault_ci95_ns[a], (double)r->fault_ci95_ns[a]);
			t->activity_ns[a] += r->activity_ns[a];
		}
	}
}

void report_free(struct report *rep)
{
	for (int i = 0; i < rep->n_chans; i++)
		free(rep->chans[i].ends);
	free(rep->chans);
	free(rep->procs);
	for (int i = 0; i < rep->n_notes; i++)
		free(rep->notes[i]);
	free(rep->notes);
	for (int i = 0; i < rep->n_probes; i++)
		free(rep->probes[i]);
	free(rep->probes);
	free(rep->sites);
	free(rep->site_pos);
	free(rep->seg_uses);
	free(rep->fd_passes);
	for (int i = 0; i < rep->n_owned; i++)
		free(rep->owned[i]);
	free(rep->owned);
	memset(rep, 0, sizeof(*rep));
}

char *report_own(struct report *rep, char *s)
{
	if (!s)
		return NULL;
	if (!GROW(rep->owned, rep->n_owned)) {
		free(s);
		return NULL;
	}
	rep->owned[rep->n_owned++] = s;
	return s;
}

const char *chan_kind_name(uint8_t kind)
{
#define KIND_NAME(id, value, name, fam, flags) [id] = name,
	static const char *const names[IPC_KIND_END] = {IPC_KINDS(KIND_NAME)};
#undef KIND_NAME

	return kind < IPC_KIND_END && names[kind] ? names[kind] : "unknown";
}

/* "127.0.0.1:6379", "[::1]:6379", "*:6379" (address not known), "?" */
const char *inet_end_name(const uint8_t addr[16], uint16_t port, char *buf, size_t len)
{
	static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t any[16];
	char a[INET6_ADDRSTRLEN] = "*";

	if (!memcmp(addr, v4_mapped, sizeof(v4_mapped)))
		inet_ntop(AF_INET, addr + 12, a, sizeof(a));
	else if (memcmp(addr, any, sizeof(any)))
		inet_ntop(AF_INET6, addr, a, sizeof(a));
	if (!port && !strcmp(a, "*"))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, strchr(a, ':') ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}

const char *chan_name(const struct channel *c, char *buf, size_t len)
{
	unsigned long long ino = (unsigned long long)c->ino;
	unsigned int flags = ipc_kind_flags(c->kind);
	char src[64], dst[64];

	if (flags & KF_FLOW) {
		/* a timeline's channel has only its number: the flow's ports */
		uint16_t sport = c->flow.src_port ? c->flow.src_port : (uint16_t)(c->ino >> 16);
		uint16_t dport = c->flow.dst_port ? c->flow.dst_port : (uint16_t)c->ino;

		snprintf(buf, len, "%s:%s->%s", chan_kind_name(c->kind),
			 inet_end_name(c->flow.src_addr, sport, src, sizeof(src)),
			 inet_end_name(c->flow.dst_addr, dport, dst, sizeof(dst)));
	} else if (flags & KF_SOCKET) {
		if (c->peer_ino)
			snprintf(buf, len, "socket:[%llu]->[%llu]", ino,
				 (unsigned long long)c->peer_ino);
		else
			snprintf(buf, len, "socket:[%llu]", ino);
	} else if (c->kind == IPC_FIFO) {
		snprintf(buf, len, "fifo:[%u:%u:%llu]", c->dev >> 20, c->dev & 0xfffff, ino);
	} else {
		snprintf(buf, len, "pipe:[%llu]", ino);
	}
	return buf;
}

double chan_rate(const struct channel *c)
{
	uint64_t bytes = c->bytes_read ? c->bytes_read : c->bytes_written;

	if (c->last_ns <= c->first_ns)
		return 0;
	return (double)bytes / ((double)(c->last_ns - c->first_ns) / 1e9);
}

const struct chan_end *channel_find_end(const struct channel *c, uint32_t tgid, uint8_t dir)
{
	struct chan_end key = {.tgid = tgid, .dir = dir};

	/* sorted by report_finish (by_end) */
	if (c->n_ends <= 0)
		return NULL;
	return bsearch(&key, c->ends, (size_t)c->n_ends, sizeof(*c->ends), by_end);
}

const struct proc_row *report_find_proc(const struct report *rep, uint32_t pid)
{
	struct proc_row key = {.pid = pid};

	/* sorted by report_finish: a recording's 65536 channel ends against
	 * 32768 processes stay fast */
	if (!rep->n_procs)
		return NULL;
	return bsearch(&key, rep->procs, rep->n_procs, sizeof(*rep->procs), by_pid);
}
