// SPDX-License-Identifier: MIT
/* Building the report model from the kernel's per-process/channel maps. */
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
    "serialize", "deserialize", "ipc", "post_fork", "other",
};

static uint64_t share(uint64_t total, uint64_t part, uint64_t whole)
{
	return whole ? (uint64_t)((double)total * (double)part / (double)whole) : 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Fault time is sampled. Inside IPC syscalls the samples' shares split the
 * exactly measured on-CPU time (like copy); elsewhere each sample stands for
 * one sampling period, capped by the activity's measured time.
 */
static void estimate_faults(struct proc_row *r, const struct proc_stats *s, const struct measure *m)
{
	uint64_t period = m->sample_hz ? 1000000000ull / m->sample_hz : 0;

	if (m->exact_fault) {
		for (int a = 0; a < ACT_COUNT; a++)
			r->fault_ns[a] = s->fault_exact_ns[a];
	} else {
		r->fault_ns[ACT_IPC] =
		    share(s->ipc_oncpu_ns, s->fault_samples[ACT_IPC], s->samples_ipc);
		for (int a = 0; a < ACT_COUNT; a++)
			if (a != ACT_IPC)
				r->fault_ns[a] = s->fault_samples[a] * period;
	}
	/* never more than the activity's exactly measured time */
	r->fault_ns[ACT_SERIALIZE] = min_u64(r->fault_ns[ACT_SERIALIZE], s->serialize_ns);
	r->fault_ns[ACT_DESERIALIZE] = min_u64(r->fault_ns[ACT_DESERIALIZE], s->deserialize_ns);
	r->fault_ns[ACT_IPC] = min_u64(r->fault_ns[ACT_IPC], s->ipc_oncpu_ns);
	r->activity_ns[ACT_SERIALIZE] = s->serialize_ns;
	r->activity_ns[ACT_DESERIALIZE] = s->deserialize_ns;
	r->activity_ns[ACT_IPC] = s->ipc_oncpu_ns;
}

/*
 * Uncertainty of sampled estimates, 95% (z = 1.96).
 * A share k/n of samples (copy within IPC time): the Wilson score interval,
 * which stays honest for k = 0 or k = n and small n; returned as the larger
 * distance of its bounds from k/n. With no samples at all, the share is
 * anything in [0, 1].
 */
static double share_halfwidth(uint64_t k, uint64_t n)
{
	const double z = 1.96;
	double p, denom, centre, spread;

	if (!n)
		return 1.0;
	p = (double)k / (double)n;
	denom = 1 + z * z / (double)n;
	centre = (p + z * z / (2.0 * (double)n)) / denom;
	spread = z * sqrt(p * (1 - p) / (double)n + z * z / (4.0 * (double)n * (double)n)) / denom;
	return fmax(fabs(centre + spread - p), fabs(p - (centre - spread)));
}

/* k samples standing for k periods (a Poisson count): 1.96 sqrt(k), and 3
 * for k = 0 (the 95% upper bound when nothing was seen). */
static double count_halfwidth(uint64_t k)
{
	return k ? 1.96 * sqrt((double)k) : 3.0;
}

static uint64_t quad(double a, double b)
{
	return (uint64_t)sqrt(a * a + b * b);
}

static void estimate_ci95(struct proc_row *r, const struct proc_stats *s, const struct measure *m)
{
	double period = m->sample_hz ? 1e9 / m->sample_hz : 0, copy = 0, fault[ACT_COUNT] = {0};
	double compute;

	for (int f = 0; f < FAM_COUNT; f++) {
		double u;

		if (m->exact_copy[f] || !s->ipc_oncpu_fam_ns[f])
			continue;
		u = (double)s->ipc_oncpu_fam_ns[f] *
		    share_halfwidth(s->samples_copy_fam[f], s->samples_ipc_fam[f]);
		copy = sqrt(copy * copy + u * u);
	}
	if (!m->exact_fault) {
		if (s->ipc_oncpu_ns)
			fault[ACT_IPC] = (double)s->ipc_oncpu_ns *
					 share_halfwidth(s->fault_samples[ACT_IPC], s->samples_ipc);
		for (int a = 0; a < ACT_COUNT; a++)
			if (a != ACT_IPC &&
			    (a == ACT_POST_FORK || a == ACT_OTHER || r->activity_ns[a]))
				fault[a] = fmin(count_halfwidth(s->fault_samples[a]) * period,
						a == ACT_POST_FORK || a == ACT_OTHER
						    ? (double)r->thread_ns
						    : (double)r->activity_ns[a]);
	}
	compute =
	    count_halfwidth(s->user_samples[ACT_POST_FORK] + s->user_samples[ACT_OTHER]) * period;
	compute = fmin(compute, (double)r->thread_ns);
	r->ci95_ns[PH_COPY] = (uint64_t)copy;
	r->ci95_ns[PH_SYSCALL] = quad(copy, fault[ACT_IPC]);
	r->ci95_ns[PH_SERIALIZE] = (uint64_t)fault[ACT_SERIALIZE];
	r->ci95_ns[PH_DESERIALIZE] = (uint64_t)fault[ACT_DESERIALIZE];
	if (s->ser_ip_samples) {
		double u = count_halfwidth(s->ser_ip_samples) * period;

		r->ci95_ns[PH_SERIALIZE] = quad((double)r->ci95_ns[PH_SERIALIZE], u);
		r->ci95_ns[PH_DESERIALIZE] = quad((double)r->ci95_ns[PH_DESERIALIZE], u);
	}
	r->ci95_ns[PH_FAULT] = 0;
	for (int a = 0; a < ACT_COUNT; a++)
		r->ci95_ns[PH_FAULT] = quad((double)r->ci95_ns[PH_FAULT], fault[a]);
	r->ci95_ns[PH_COMPUTE] = (uint64_t)compute;
	r->ci95_ns[PH_OTHER] = quad(quad(compute, fault[ACT_POST_FORK]), fault[ACT_OTHER]);
}

void proc_row_from_stats(struct proc_row *r, uint32_t pid, const struct proc_stats *s,
			 const struct live_threads *live, uint64_t end_ns, const struct measure *m)
{
	uint64_t period = m->sample_hz ? 1000000000ull / m->sample_hz : 0;
	uint64_t copy, sum = 0, rest, loose, ser_sampled;

	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->ppid = s->ppid;
	memcpy(r->comm, s->comm, sizeof(r->comm));
	r->comm[sizeof(r->comm) - 1] = '\0';
	r->exited = s->exit_ns != 0;
	r->exit_code = s->exit_code;
	r->start_ns = s->start_ns;
	r->end_ns = r->exited ? s->exit_ns : end_ns;
	r->wall_ns = r->end_ns > r->start_ns ? r->end_ns - r->start_ns : 0;
	r->thread_ns = s->thread_ns + (live ? live->thread_ns : 0);
	estimate_faults(r, s, m);

	/* Precise probes time the copies; otherwise the sampler says which
	 * share of the (exact) on-CPU syscall time was copying. */
	copy = 0;
	for (int f = 0; f < FAM_COUNT; f++) {
		if (m->exact_copy[f])
			copy += s->copy_exact_fam_ns[f];
		else
			copy += share(s->ipc_oncpu_fam_ns[f], s->samples_copy_fam[f],
				      s->samples_ipc_fam[f]);
	}
	copy = min_u64(copy, s->ipc_oncpu_ns - r->fault_ns[ACT_IPC]);
	/* kept side by side with exact copy times, to check the sampler */
	r->copy_sampled_ns = share(s->ipc_oncpu_ns, s->samples_copy, s->samples_ipc);
	r->phase_ns[PH_SERIALIZE] = s->serialize_ns - r->fault_ns[ACT_SERIALIZE];
	r->phase_ns[PH_DESERIALIZE] = s->deserialize_ns - r->fault_ns[ACT_DESERIALIZE];
	r->phase_ns[PH_COPY] = copy;
	r->phase_ns[PH_SYSCALL] = s->ipc_oncpu_ns - copy - r->fault_ns[ACT_IPC];
	r->phase_ns[PH_BLOCKED] = s->ipc_blocked_ns;
	r->phase_ns[PH_FORK] = (m->exact_fork ? s->fork_kernel_ns : s->fork_ns) + s->first_run_ns;
	r->phase_ns[PH_MMAP] = (m->exact_mmap ? s->mmap_kernel_ns : s->mmap_ns) + s->unmap_ns;
	r->ipc_kernel_ns = m->ipc_kernel ? s->ipc_kernel_ns : 0;
	r->phase_ns[PH_WAIT] = s->wait_ns + (live ? live->wait_ns : 0);
	for (int p = 0; p < PH_COUNT; p++)
		sum += r->phase_ns[p];
	/* fault time carved out of the timed activities above */
	sum += r->fault_ns[ACT_SERIALIZE] + r->fault_ns[ACT_DESERIALIZE] + r->fault_ns[ACT_IPC];
	/* Sampled time outside timed activities (faults, the program's own
	 * code) comes out of what is left; scaled down should sampling noise
	 * ever make it exceed that. */
	r->phase_ns[PH_COMPUTE] =
	    (s->user_samples[ACT_POST_FORK] + s->user_samples[ACT_OTHER]) * period;
	/* serializer time sampled in its module once its probes were removed */
	ser_sampled = s->ser_ip_samples * period;
	rest = r->thread_ns > sum ? r->thread_ns - sum : 0;
	loose = r->fault_ns[ACT_POST_FORK] + r->fault_ns[ACT_OTHER] + r->phase_ns[PH_COMPUTE] +
		ser_sampled;
	if (loose > rest) {
		uint64_t pf = share(rest, r->fault_ns[ACT_POST_FORK], loose);
		uint64_t other = share(rest, r->fault_ns[ACT_OTHER], loose);
		uint64_t ser = share(rest, ser_sampled, loose);

		r->phase_ns[PH_COMPUTE] = rest - pf - other - ser;
		r->fault_ns[ACT_POST_FORK] = pf;
		r->fault_ns[ACT_OTHER] = other;
		ser_sampled = ser;
	}
	sum += r->phase_ns[PH_COMPUTE] + ser_sampled;
	if (ser_sampled) {
		/* samples cannot tell pickling from unpickling: split them as
		 * the exactly timed calls before were split */
		uint64_t ser =
		    s->serialize_ns + s->deserialize_ns
			? share(ser_sampled, s->serialize_ns, s->serialize_ns + s->deserialize_ns)
			: ser_sampled / 2;

		r->phase_ns[PH_SERIALIZE] += ser;
		r->phase_ns[PH_DESERIALIZE] += ser_sampled - ser;
		r->ser_sampled_ns = ser_sampled;
	}
	for (int a = 0; a < ACT_COUNT; a++)
		r->phase_ns[PH_FAULT] += r->fault_ns[a];
	sum += r->fault_ns[ACT_POST_FORK] + r->fault_ns[ACT_OTHER];
	r->phase_ns[PH_OTHER] = r->thread_ns > sum ? r->thread_ns - sum : 0;

	r->serialize_calls = s->serialize_calls;
	r->deserialize_calls = s->deserialize_calls;
	r->ipc_calls = s->ipc_calls;
	r->ipc_oncpu_ns = s->ipc_oncpu_ns;
	memcpy(r->ipc_oncpu_fam_ns, s->ipc_oncpu_fam_ns, sizeof(r->ipc_oncpu_fam_ns));
	r->bytes_read = s->bytes_read;
	r->bytes_written = s->bytes_written;
	r->fork_calls = s->fork_calls;
	r->first_run_ns = s->first_run_ns;
	r->mmap_calls = s->mmap_calls;
	r->mmap_bytes = s->mmap_bytes;
	r->samples_total = s->samples_total;
	r->samples_ipc = s->samples_ipc;
	r->samples_copy = s->samples_copy;
	memcpy(r->faults, s->faults, sizeof(r->faults));
	r->faults_kernel = s->faults_kernel;
	memcpy(r->fault_samples, s->fault_samples, sizeof(r->fault_samples));
	memcpy(r->user_samples, s->user_samples, sizeof(r->user_samples));
	estimate_ci95(r, s, m);
}

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

	qsort(rep->procs, rep->n_procs, sizeof(*rep->procs), by_pid);
	qsort(rep->chans, rep->n_chans, sizeof(*rep->chans), by_bytes);
	for (int i = 0; i < rep->n_chans; i++)
		qsort(rep->chans[i].ends, rep->chans[i].n_ends, sizeof(struct chan_end), by_end);

	memset(t, 0, sizeof(*t));
	t->start_ns = rep->start_ns;
	t->end_ns = rep->end_ns;
	t->wall_ns = rep->end_ns > rep->start_ns ? rep->end_ns - rep->start_ns : 0;
	for (int i = 0; i < rep->n_procs; i++) {
		const struct proc_row *r = &rep->procs[i];

		t->thread_ns += r->thread_ns;
		for (int p = 0; p < PH_COUNT; p++) {
			t->phase_ns[p] += r->phase_ns[p];
			/* independent per process: add in quadrature */
			t->ci95_ns[p] = quad((double)t->ci95_ns[p], (double)r->ci95_ns[p]);
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
			t->fault_ns[a] += r->fault_ns[a];
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
	for (int i = 0; i < rep->n_procs; i++)
		if (rep->procs[i].pid == pid)
			return &rep->procs[i];
	return NULL;
}

uint64_t proc_row_faults(const struct proc_row *r, int type)
{
	uint64_t n = 0;

	for (int a = 0; a < ACT_COUNT; a++)
		n += r->faults[a][type];
	return n;
}
