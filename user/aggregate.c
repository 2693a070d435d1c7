// SPDX-License-Identifier: MIT
/* The report model: rows added, channels merged, sorted, names, freed. */
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

int report_add_chan(struct report *rep, const struct chan_key *k, const struct chan_stats *s)
{
	struct channel *c = NULL;
	struct chan_end *e;

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
	if (s->peer_ino)
		c->peer_ino = s->peer_ino;
	/* the same end again: the tracer folded an idle entry out of the
	 * kernel and the process used the channel after that */
	for (int i = 0; i < c->n_ends; i++) {
		struct chan_end add = {.tgid = k->tgid, .dir = k->dir, .s = *s};

		e = &c->ends[i];
		if (e->tgid != k->tgid || e->dir != k->dir)
			continue;
		chan_stats_merge(&e->s, s);
		channel_account(c, &add);
		return 0;
	}
	if (!GROW(c->ends, c->n_ends))
		return -ENOMEM;
	e = &c->ends[c->n_ends++];
	e->tgid = k->tgid;
	e->dir = k->dir;
	e->s = *s;
	channel_account(c, e);
	return 0;
}

void chan_stats_merge(struct chan_stats *into, const struct chan_stats *s)
{
	into->calls += s->calls;
	into->bytes += s->bytes;
	into->oncpu_ns += s->oncpu_ns;
	into->blocked_ns += s->blocked_ns;
	into->fds_passed += s->fds_passed;
	if (s->peer_ino)
		into->peer_ino = s->peer_ino;
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
	switch (kind) {
	case IPC_PIPE:
		return "pipe";
	case IPC_FIFO:
		return "fifo";
	case IPC_UNIX_STREAM:
		return "unix-stream";
	case IPC_UNIX_DGRAM:
		return "unix-dgram";
	default:
		return "unknown";
	}
}

const char *chan_name(const struct channel *c, char *buf, size_t len)
{
	unsigned long long ino = (unsigned long long)c->ino;

	switch (c->kind) {
	case IPC_PIPE:
		snprintf(buf, len, "pipe:[%llu]", ino);
		break;
	case IPC_FIFO:
		snprintf(buf, len, "fifo:[%u:%u:%llu]", c->dev >> 20, c->dev & 0xfffff, ino);
		break;
	default:
		if (c->peer_ino)
			snprintf(buf, len, "socket:[%llu]->[%llu]", ino,
				 (unsigned long long)c->peer_ino);
		else
			snprintf(buf, len, "socket:[%llu]", ino);
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

const struct proc_row *report_find_proc(const struct report *rep, uint32_t pid)
{
	struct proc_row key = {.pid = pid};

	/* sorted by report_finish: a recording's 65536 channel ends against
	 * 32768 processes stay fast */
	if (!rep->n_procs)
		return NULL;
	return bsearch(&key, rep->procs, rep->n_procs, sizeof(*rep->procs), by_pid);
}
