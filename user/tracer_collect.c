// SPDX-License-Identifier: MIT
/*
 * Reading the tracer's counters: exited processes folded out of the
 * kernel's maps as the run goes, and the report rows built from what was
 * folded, what the maps hold and what only the end of tracing settles.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "callsites.h"
#include "map_read.h"
#include "procfs.h"
#include "segments.h"
#include "tracer_priv.h"
#include "util.h"

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

/* Room for one more element of `size` bytes in *v (n used). */
static int grow_one(void **v, int n, size_t size)
{
	void *tmp = grow_array(*v, (size_t)n, size);

	if (!tmp)
		return -ENOMEM;
	*v = tmp;
	return 0;
}

/* a process gone this long has no BPF program left that could update it */
#define FOLD_GRACE_NS 50000000ull

/* a channel end unused this long is folded too (see fold_exited) */
#define CHAN_IDLE_NS 2000000000ull

/*
 * A channel end unused since before `idle_before`. One whose last_ns is
 * still 0 is being made: account_channel() has inserted it zeroed and is
 * filling it in, and deleting it now would lose that call (a fork loop
 * lost one 100-byte write in ~10 runs under load, folding every 100 ms).
 */
static bool chan_idle(const struct chan_stats *s, uint64_t idle_before)
{
	return s->last_ns && s->last_ns < idle_before;
}

/* Delete the entries of `map` whose owner is in `gone` (sorted) and, with
 * `keep` (the channels, kept for the report), those idle since `idle_before`. */
static int forget_tgids(struct bpf_map *map, size_t key_size, size_t value_size, const __u32 *gone,
			int n_gone, uint64_t idle_before, struct folded_chan **keep, int *n_keep)
{
	void *keys = NULL, *vals = NULL;
	int fd = bpf_map__fd(map), rc = 0;
	int n = map_read_all(fd, key_size, value_size, bpf_map__max_entries(map), &keys, &vals);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const char *key = (const char *)keys + (size_t)i * key_size;
		__u32 tgid;

		/* the owner: chan_key's tgid field; shm_key starts with it */
		memcpy(&tgid, key + (keep ? offsetof(struct chan_key, tgid) : 0), sizeof(tgid));
		if (!(n_gone && bsearch(&tgid, gone, n_gone, sizeof(*gone), cmp_u32)) &&
		    !(keep && chan_idle((const struct chan_stats *)vals + i, idle_before)))
			continue;
		if (keep) { /* channels are kept for the report */
			if (grow_one((void **)keep, *n_keep, sizeof(**keep))) {
				rc = -ENOMEM;
				break;
			}
			memcpy(&(*keep)[*n_keep].k, key, sizeof(struct chan_key));
			memcpy(&(*keep)[*n_keep].s, (const char *)vals + (size_t)i * value_size,
			       sizeof(struct chan_stats));
			(*n_keep)++;
		}
		bpf_map_delete_elem(fd, key);
	}
	free(keys);
	free(vals);
	return rc;
}

/*
 * Move the entries of `map` whose owner (the __u32 at tgid_off in the key)
 * is in `gone` (sorted) to *keep, an array of key-then-value elements, and
 * delete them from the map.
 */
static int fold_tgids(struct bpf_map *map, size_t key_size, size_t value_size, size_t tgid_off,
		      const __u32 *gone, int n_gone, void **keep, int *n_keep)
{
	void *keys = NULL, *vals = NULL;
	int fd = bpf_map__fd(map), rc = 0;
	int n = map_read_all(fd, key_size, value_size, bpf_map__max_entries(map), &keys, &vals);
	size_t elem = key_size + value_size;

	if (n < 0)
		return n;
	for (int i = 0; i < n && !rc; i++) {
		const char *key = (const char *)keys + (size_t)i * key_size;
		char *dst;
		__u32 tgid;

		memcpy(&tgid, key + tgid_off, sizeof(tgid));
		if (!bsearch(&tgid, gone, n_gone, sizeof(*gone), cmp_u32))
			continue;
		if (grow_one(keep, *n_keep, elem)) {
			rc = -ENOMEM;
			break;
		}
		dst = (char *)*keep + (size_t)*n_keep * elem;
		memcpy(dst, key, key_size);
		memcpy(dst + key_size, (const char *)vals + (size_t)i * value_size, value_size);
		(*n_keep)++;
		bpf_map_delete_elem(fd, key);
	}
	free(keys);
	free(vals);
	return rc;
}

/*
 * Move the entries of processes that exited (and of their channels, shared
 * mappings and sampled serializer code) from the kernel's maps into our
 * memory. The maps are sized for the processes alive at once, not for all
 * that ever ran: a run through thousands of processes (a test suite) keeps
 * every number. Returns the number of processes folded, or -errno.
 */
int tracer_fold_exited(struct tracer *t, uint64_t now)
{
	int pfd = bpf_map__fd(t->skel->maps.procs), first = t->n_fproc, n, rc = 0;
	uint64_t exits = __atomic_load_n(&t->skel->bss->proc_exits, __ATOMIC_RELAXED);
	void *keys = NULL, *vals = NULL;
	__u32 *gone = NULL;
	bool pending = false;

	/* the process table is read only when processes exited since (and
	 * not yet folded: the grace period) */
	if (exits == t->folded_exits && now < t->next_idle_fold_ns)
		return 0;

	n = map_read_all(pfd, sizeof(__u32), sizeof(struct proc_stats),
			 bpf_map__max_entries(t->skel->maps.procs), &keys, &vals);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const struct proc_stats *ps = (const struct proc_stats *)vals + i;
		__u32 pid = ((const __u32 *)keys)[i];

		if (!ps->exit_ns)
			continue;
		if (now < ps->exit_ns + FOLD_GRACE_NS) {
			pending = true; /* next time */
			continue;
		}
		if (grow_one((void **)&t->fproc, t->n_fproc, sizeof(*t->fproc))) {
			rc = -ENOMEM;
			break;
		}
		t->fproc[t->n_fproc].pid = pid;
		t->fproc[t->n_fproc++].s = *ps;
		bpf_map_delete_elem(pfd, &pid);
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.ser_code), &pid);
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.py_procs), &pid);
	}
	free(keys);
	free(vals);
	if (!pending)
		t->folded_exits = exits;
	/*
	 * Channels: those of the processes just folded, and those idle for
	 * CHAN_IDLE_NS: a long-lived process that opens pipes and sockets
	 * by the thousand (a test runner, a server) would fill the map with
	 * closed ones. An idle end used again gets a new kernel entry, and
	 * the report merges the two. Scanned every CHAN_IDLE_NS at most.
	 */
	if (t->n_fproc > first) {
		gone = malloc((size_t)(t->n_fproc - first) * sizeof(*gone));
		if (!gone)
			return -ENOMEM;
		for (int i = first; i < t->n_fproc; i++)
			gone[i - first] = t->fproc[i].pid;
		qsort(gone, t->n_fproc - first, sizeof(*gone), cmp_u32);
	} else if (now < t->next_idle_fold_ns) {
		return rc;
	}
	t->next_idle_fold_ns = now + CHAN_IDLE_NS;
	if (!rc)
		rc = forget_tgids(t->skel->maps.chans, sizeof(struct chan_key),
				  sizeof(struct chan_stats), gone, t->n_fproc - first,
				  now > CHAN_IDLE_NS ? now - CHAN_IDLE_NS : 0, &t->fchan,
				  &t->n_fchan);
	if (!rc && gone)
		rc = forget_tgids(t->skel->maps.shm, sizeof(struct shm_key), sizeof(__u64), gone,
				  t->n_fproc - first, 0, NULL, NULL);
	if (!rc && gone)
		rc = fold_tgids(t->skel->maps.segs, sizeof(struct seg_key),
				sizeof(struct seg_stats), offsetof(struct seg_key, tgid), gone,
				t->n_fproc - first, (void **)&t->fseg, &t->n_fseg);
	if (!rc && gone)
		rc = fold_tgids(t->skel->maps.passes, sizeof(struct pass_key), sizeof(__u64),
				offsetof(struct pass_key, tgid), gone, t->n_fproc - first,
				(void **)&t->fpass, &t->n_fpass);
	free(gone);
	return rc ? rc : t->n_fproc - first;
}

bool tracer_exited(struct tracer *t, pid_t pid)
{
	struct proc_stats ps;
	__u32 key = (__u32)pid;

	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.procs), &key, &ps))
		return true; /* never traced: nothing to wait for */
	return ps.exit_ns != 0;
}

/* An IPC call still in flight when tracing ends, closed there: its
 * channel end's share, booked as for a call that returned. */
struct inflight {
	struct chan_key k;
	struct chan_stats s;
};

struct live_proc {
	__u32 tgid;
	bool alive; /* its row took these (it had not exited) */
	struct live_threads live;
	/* page faults and IPC totals are counted per thread and folded in
	 * at thread exit */
	__u64 faults[ACT_COUNT][FT_COUNT];
	__u64 faults_kernel;
	struct ipc_acc ipc;
};

static void ipc_acc_add(struct ipc_acc *into, const struct ipc_acc *a)
{
	into->calls += a->calls;
	into->oncpu_ns += a->oncpu_ns;
	into->blocked_ns += a->blocked_ns;
	into->bytes_read += a->bytes_read;
	into->bytes_written += a->bytes_written;
	into->copy_exact_ns += a->copy_exact_ns;
	into->kernel_ns += a->kernel_ns;
	for (int f = 0; f < FAM_COUNT; f++) {
		into->copy_exact_fam_ns[f] += a->copy_exact_fam_ns[f];
		into->oncpu_fam_ns[f] += a->oncpu_fam_ns[f];
	}
}

/* A live process's counters: its own plus its live threads' (as BPF's
 * fold_ipc and the fault fold do when they exit). */
static void add_live(struct proc_stats *ps, const struct live_proc *lp)
{
	for (int a = 0; a < ACT_COUNT; a++)
		for (int f = 0; f < FT_COUNT; f++)
			ps->faults[a][f] += lp->faults[a][f];
	ps->faults_kernel += lp->faults_kernel;
	ps->ipc_calls += lp->ipc.calls;
	ps->ipc_oncpu_ns += lp->ipc.oncpu_ns;
	ps->ipc_blocked_ns += lp->ipc.blocked_ns;
	ps->bytes_read += lp->ipc.bytes_read;
	ps->bytes_written += lp->ipc.bytes_written;
	ps->copy_exact_ns += lp->ipc.copy_exact_ns;
	ps->ipc_kernel_ns += lp->ipc.kernel_ns;
	for (int f = 0; f < FAM_COUNT; f++) {
		ps->copy_exact_fam_ns[f] += lp->ipc.copy_exact_fam_ns[f];
		ps->ipc_oncpu_fam_ns[f] += lp->ipc.oncpu_fam_ns[f];
	}
}

/*
 * What only the end of tracing settles for threads still alive, summed per
 * process in one pass over the threads map (collect runs every second
 * under --live or the progress line). Returns the count, or -ENOMEM.
 */
/*
 * A live thread inside an IPC call at `end` (asleep in read() for the whole
 * window, say): the call closes there, its time so far on CPU or off it,
 * as handle_sys_exit would have booked it. Fills *fl with its channel end.
 */
static bool inflight_ipc(const struct thread_state *ts, uint64_t end, struct ipc_acc *acc,
			 struct inflight *fl)
{
	uint64_t dur, off;
	unsigned fam;

	if (ts->sys_class != SYS_IPC || ts->peer_at_exit || end <= ts->sys_start)
		return false;
	dur = end - ts->sys_start;
	off = ts->off_ns + (ts->off_start && end > ts->off_start ? end - ts->off_start : 0);
	if (off > dur)
		off = dur;
	fam = ipc_kind_family(ts->ep.kind);
	acc->calls++;
	acc->oncpu_ns += dur - off;
	acc->blocked_ns += off;
	acc->oncpu_fam_ns[fam] += dur - off;
	memset(fl, 0, sizeof(*fl));
	fl->k.ino = chan_ino_of(&ts->ep, ts->dir);
	fl->k.dev = ts->ep.dev;
	fl->k.tgid = ts->tgid;
	fl->k.dir = ts->dir;
	fl->k.kind = ts->ep.kind;
	fl->s.calls = 1;
	fl->s.oncpu_ns = dur - off;
	fl->s.blocked_ns = off;
	fl->s.first_ns = ts->sys_start;
	fl->s.last_ns = end;
	fl->s.peer_ino = chan_peer_ino_of(&ts->ep, ts->dir);
	if (ipc_kind_flags(ts->ep.kind) & KF_FLOW)
		inet_flow_of(&fl->s.flow, &ts->ep.inet, ts->dir);
	return true;
}

/* What a live thread adds to its process until `end`. */
static void live_thread_add(struct live_proc *p, const struct thread_state *ts, uint64_t end)
{
	if (end > ts->start_ns)
		p->live.thread_ns += end - ts->start_ns;
	/* asleep outside any syscall we time: waiting until now */
	if (ts->off_start && !ts->sys_class && !ts->ser_depth && end > ts->off_start)
		p->live.wait_ns += end - ts->off_start;
	/* in a poll/epoll wait nothing has ended yet: wait, as a timeout is */
	if (ts->sys_class == SYS_POLL)
		p->live.wait_ns +=
		    ts->off_ns + (ts->off_start && end > ts->off_start ? end - ts->off_start : 0);
	for (int a = 0; a < ACT_COUNT; a++)
		for (int f = 0; f < FT_COUNT; f++)
			p->faults[a][f] += ts->faults[a][f];
	p->faults_kernel += ts->faults_kernel;
	ipc_acc_add(&p->ipc, &ts->ipc);
}

static int live_threads(struct tracer *t, uint64_t end, struct live_proc **out,
			struct inflight **fl_out, int *n_fl)
{
	struct bpf_map *map = t->skel->maps.threads;
	struct live_proc *v = NULL;
	struct inflight *fl = NULL, one;
	void *keys = NULL, *vals = NULL;
	int n = 0, n_threads;

	/* one batch read: walking keys while threads exit would restart the
	 * walk (a deleted key) and count threads twice */
	n_threads = map_read_all(bpf_map__fd(map), sizeof(__u32), sizeof(struct thread_state),
				 bpf_map__max_entries(map), &keys, &vals);
	if (n_threads < 0)
		return n_threads;
	for (int i = 0; i < n_threads; i++) {
		const struct thread_state *ts = (const struct thread_state *)vals + i;
		struct live_proc *p = NULL;

		for (int j = n - 1; j >= 0 && !p; j--)
			if (v[j].tgid == ts->tgid)
				p = &v[j];
		if (!p) {
			struct live_proc *tmp = grow_array(v, (size_t)n, sizeof(*v));

			if (!tmp) {
				n = -ENOMEM;
				break;
			}
			v = tmp;
			p = &v[n++];
			memset(p, 0, sizeof(*p));
			p->tgid = ts->tgid;
		}
		live_thread_add(p, ts, end);
		if (inflight_ipc(ts, end, &p->ipc, &one)) {
			if (grow_one((void **)&fl, *n_fl, sizeof(*fl))) {
				n = -ENOMEM;
				break;
			}
			fl[(*n_fl)++] = one;
		}
	}
	free(keys);
	free(vals);
	if (n < 0) {
		free(v);
		free(fl);
		*n_fl = 0;
	} else {
		*out = v;
		*fl_out = fl;
	}
	return n;
}

/* Processes whose serializer probes were removed with no module to sample
 * in: their serializer time after that is not measured, so what was timed
 * is a lower bound (breakdown.c). */
static void mark_unmeasured_serializers(const struct tracer *t, struct report *rep)
{
	for (int i = 0; i < t->n_demoted; i++)
		for (int k = 0; k < rep->n_procs && !t->demoted[i].module; k++)
			if (rep->procs[k].pid == (uint32_t)t->demoted[i].pid)
				rep->procs[k].ser_partial = true;
}

/* One process's row: its kernel counters plus what only now settles. */
static int add_proc(struct report *rep, __u32 pid, struct proc_stats ps, struct live_proc *lp,
		    int n_live)
{
	struct live_threads live = {0};
	struct proc_row row;

	for (int i = 0; i < n_live && !ps.exit_ns; i++) {
		if (lp[i].tgid != pid)
			continue;
		live = lp[i].live;
		add_live(&ps, &lp[i]);
		lp[i].alive = true;
	}
	proc_row_from_stats(&row, pid, &ps, &live, rep->end_ns, &rep->measure);
	return report_add_proc(rep, &row);
}

void tracer_flush_timeline(struct tracer *t)
{
	void *keys = NULL, *vals = NULL;
	int n;

	if (!t->opts.on_slice || !t->opts.timeline_faults || !t->detached)
		return;
	n = map_read_all(bpf_map__fd(t->skel->maps.fault_buckets), sizeof(__u32),
			 sizeof(struct fault_bucket),
			 bpf_map__max_entries(t->skel->maps.fault_buckets), &keys, &vals);
	for (int i = 0; i < n; i++) {
		const struct fault_bucket *b = (const struct fault_bucket *)vals + i;
		struct slice_event s = {
		    .type = EV_SLICE,
		    .kind = SL_FAULTS,
		    .tgid = ((const __u32 *)keys)[i],
		    .start_ns = b->bucket * IPCPROF_FAULT_BUCKET_NS,
		    .end_ns = (b->bucket + 1) * IPCPROF_FAULT_BUCKET_NS,
		    .ret = (__s64)b->count,
		};

		if (b->count)
			t->opts.on_slice(t->opts.slice_ctx, &s);
	}
	free(keys);
	free(vals);
}

static bool seg_site_name(void *ctx, uint32_t site, char *where, size_t len)
{
	char at[8];

	return tracer_site_name(ctx, site, where, len, at, sizeof(at));
}

int tracer_collect(struct tracer *t, struct report *rep)
{
	void *keys = NULL, *vals = NULL;
	struct live_proc *lp = NULL;
	struct inflight *fl = NULL;
	uint64_t last_exit = 0;
	bool all_exited = true;
	int rc = 0, n_live, n, n_fl = 0;

	rep->measure = tracer_measure(t);
	/* events still queued, so every exec has been seen */
	ring_buffer__consume(t->rb);
	rep->end_ns = now_ns();
	n_live = live_threads(t, rep->end_ns, &lp, &fl, &n_fl);
	if (n_live < 0)
		return n_live;
	for (int i = 0; i < t->n_fproc && !rc; i++) {
		rc = add_proc(rep, t->fproc[i].pid, t->fproc[i].s, NULL, 0);
		if (t->fproc[i].s.exit_ns > last_exit)
			last_exit = t->fproc[i].s.exit_ns;
	}
	n = map_read_all(bpf_map__fd(t->skel->maps.procs), sizeof(__u32), sizeof(struct proc_stats),
			 bpf_map__max_entries(t->skel->maps.procs), &keys, &vals);
	if (n < 0)
		rc = rc ? rc : n;
	for (int i = 0; i < n && !rc; i++) {
		const struct proc_stats *ps = (const struct proc_stats *)vals + i;

		rc = add_proc(rep, ((const __u32 *)keys)[i], *ps, lp, n_live);
		all_exited = all_exited && ps->exit_ns;
		if (ps->exit_ns > last_exit)
			last_exit = ps->exit_ns;
	}
	free(keys);
	free(vals);
	/* calls in flight, of processes that had not exited (a thread of one
	 * that had is only not yet gone) */
	for (int i = 0; i < n_fl && !rc; i++)
		for (int j = 0; j < n_live; j++)
			if (lp[j].tgid == fl[i].k.tgid && lp[j].alive) {
				rc = report_add_chan(rep, &fl[i].k, &fl[i].s);
				break;
			}
	free(fl);
	free(lp);
	if (rc)
		return rc;
	/* The trace ended when its last process did, not when we noticed. */
	if (all_exited && last_exit > rep->start_ns)
		rep->end_ns = last_exit;
	for (int i = 0; i < t->n_fchan && !rc; i++)
		rc = report_add_chan(rep, &t->fchan[i].k, &t->fchan[i].s);
	n = map_read_all(bpf_map__fd(t->skel->maps.chans), sizeof(struct chan_key),
			 sizeof(struct chan_stats), bpf_map__max_entries(t->skel->maps.chans),
			 &keys, &vals);
	if (n < 0)
		return rc ? rc : n;
	for (int i = 0; i < n && !rc; i++)
		rc = report_add_chan(rep, (const struct chan_key *)keys + i,
				     (const struct chan_stats *)vals + i);
	free(keys);
	free(vals);
	if (rc)
		return rc;
	rc = segments_collect(bpf_map__fd(t->skel->maps.segs), bpf_map__fd(t->skel->maps.passes),
			      seg_site_name, t, rep);
	for (int i = 0; i < t->n_fseg && !rc; i++)
		rc = segments_add_use(rep, &t->fseg[i].k, &t->fseg[i].s, seg_site_name, t);
	for (int i = 0; i < t->n_fpass && !rc; i++)
		rc = segments_add_pass(rep, &t->fpass[i].k, t->fpass[i].n);
	if (rc)
		return rc;
	if (t->skel->bss->seg_ranges_full)
		tracer_warn(t,
			    "%llu shared mappings found no room (%d tracked per process at once): "
			    "faults on them count as other",
			    (unsigned long long)t->skel->bss->seg_ranges_full, IPCPROF_SEG_RANGES);
	rc = callsites_collect(bpf_map__fd(t->skel->maps.py_stacks),
			       bpf_map__fd(t->skel->maps.sites),
			       bpf_map__fd(t->skel->maps.py_codes), rep);
	if (rc)
		return rc;
	if (t->skel->bss->py_sites_full)
		tracer_warn(t, "%llu Python call sites or code objects found no room (%d kept)",
			    (unsigned long long)t->skel->bss->py_sites_full, IPCPROF_MAX_SITES);
	rep->lost_events = t->skel->bss->lost_events;
	rep->map_full = t->skel->bss->map_full;
	rep->sample_hz = t->opts.sample_hz;
	rep->thread_sample_hz = t->opts.thread_sample_hz;
	mark_unmeasured_serializers(t, rep);
	return 0;
}
