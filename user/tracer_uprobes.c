// SPDX-License-Identifier: MIT
/*
 * Serializer uprobes, attached per traced process (so that no other process
 * carries their breakpoints), inherited by forked children, removed from
 * processes that call their serializer too often, detached in the
 * background when processes exit.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "tracer_priv.h"
#include "uprobe_multi.h"
#include "util.h"

/* When the process began, as the kernel side recorded it (0: unknown). */
static uint64_t proc_start_ns(struct tracer *t, pid_t pid)
{
	struct proc_stats ps;
	__u32 key = (__u32)pid;

	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.procs), &key, &ps))
		return 0;
	return ps.start_ns;
}

/* An entry's links to the reaper (they close in the background). */
static void proc_probes_drop(struct tracer *t, struct proc_probes *pp)
{
	reaper_take(&t->reaper, &pp->links);
	free(pp->idx);
}

/*
 * The probes of process `pid`, which began at `start` (proc_start_ns). An
 * entry left by an earlier process with the same PID (exited, its links not
 * closed yet: they go in batches) is not this one's: it is dropped and
 * starts afresh, or the new process would count as probed already and get
 * no probes.
 */
static struct proc_probes *proc_probes_get(struct tracer *t, pid_t pid, uint64_t start)
{
	struct proc_probes *tmp;

	for (int i = 0; i < t->n_pp; i++) {
		struct proc_probes *pp = &t->pp[i];

		if (pp->pid != pid)
			continue;
		if (!pp->exited && pp->start_ns == start)
			return pp;
		proc_probes_drop(t, pp);
		memset(pp, 0, sizeof(*pp));
		pp->pid = pid;
		pp->start_ns = start;
		return pp;
	}
	tmp = grow_array(t->pp, (size_t)t->n_pp, sizeof(*tmp));
	if (!tmp)
		return NULL;
	t->pp = tmp;
	memset(&tmp[t->n_pp], 0, sizeof(*tmp));
	tmp[t->n_pp].pid = pid;
	tmp[t->n_pp].start_ns = start;
	return &tmp[t->n_pp++];
}

static bool proc_probes_has(const struct proc_probes *pp, int idx)
{
	for (int i = 0; i < pp->n; i++)
		if (pp->idx[i] == idx)
			return true;
	return false;
}

static int proc_probes_note(struct proc_probes *pp, int idx)
{
	int *tmp = grow_array(pp->idx, (size_t)pp->n, sizeof(*tmp));

	if (!tmp)
		return -ENOMEM;
	pp->idx = tmp;
	pp->idx[pp->n++] = idx;
	return 0;
}

/* The hand-off probe serves call sites only. */
static bool wanted(const struct tracer *t, const struct ser_probe *p)
{
	return p->dir != SER_DIR_HANDOFF || t->opts.call_sites;
}

/* uprobe_multi: per file, one link for all entries and one for returns. */
static int attach_multi(struct tracer *t, struct proc_probes *pp)
{
	struct ser_plan *plan = t->opts.plan;
	int entry_fd = bpf_program__fd(t->skel->progs.ser_multi_enter);
	int ret_fd = bpf_program__fd(t->skel->progs.ser_multi_exit);

	for (int s = 0; s < plan->n_sel; s++) {
		const struct ser_probe *first = &plan->probes[plan->sel[s]];
		const char *path = first->path;
		uint64_t off[16], cookie[16];
		int idx[16], n = 0, l1, l2, fd;
		char fd_path[32];

		bool entry_only = first->dir == SER_DIR_HANDOFF;

		if (proc_probes_has(pp, plan->sel[s]) || !wanted(t, first))
			continue;
		/* this file's selected probes not yet attached (first time here),
		 * those with a return probe apart from the entry-only ones */
		for (int j = s; j < plan->n_sel && n < 16; j++) {
			const struct ser_probe *p = &plan->probes[plan->sel[j]];

			if (strcmp(p->path, path) || p->file.dev != first->file.dev ||
			    p->file.ino != first->file.ino || proc_probes_has(pp, plan->sel[j]) ||
			    (p->dir == SER_DIR_HANDOFF) != entry_only || !wanted(t, p))
				continue;
			off[n] = p->offset;
			cookie[n] = p->dir;
			idx[n++] = plan->sel[j];
		}
		fd = file_open_same(path, &first->file);
		snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
		l1 = fd < 0
			 ? fd
			 : uprobe_multi_attach(entry_fd, fd_path, off, cookie, n, false, pp->pid);
		l2 = l1 < 0 ? l1
		     : entry_only
			 ? 0
			 : uprobe_multi_attach(ret_fd, fd_path, off, cookie, n, true, pp->pid);
		if (fd >= 0)
			close(fd);
		if (l1 < 0 || l2 < 0) {
			if (l2 != -ESRCH) /* a process gone meanwhile needs none */
				tracer_warn(t, "pid %d: cannot attach uprobes in %s: %s", pp->pid,
					    path,
					    l2 == -ESTALE ? "the file changed since it was read"
							  : strerror(-l2));
			if (l1 >= 0)
				close(l1);
			/* do not try this file again for this process */
			for (int j = 0; j < n; j++)
				if (proc_probes_note(pp, idx[j]))
					return -ENOMEM;
			continue;
		}
		if (link_list_add_fd(&pp->links, l1) ||
		    (!entry_only && link_list_add_fd(&pp->links, l2)))
			return -ENOMEM;
		for (int j = 0; j < n; j++)
			if (proc_probes_note(pp, idx[j]))
				return -ENOMEM;
		pp->attached = true;
	}
	return 0;
}

/*
 * Attach the probes the plan selected for `pid`, with `pid` as filter: the
 * kernel then puts breakpoints only into that process's memory, and other
 * processes mapping the same file (any Python on the machine) run
 * untouched. Its threads share its memory and are covered; forked children
 * are held by the BPF side until this has run for them.
 */
static int attach_probes(struct tracer *t, pid_t pid, uint64_t start)
{
	struct ser_plan *plan = t->opts.plan;
	struct proc_probes *pp;
	__u32 key = (__u32)pid;
	__u8 one = 1;

	pp = proc_probes_get(t, pid, start);
	if (!pp)
		return -ENOMEM;
	for (int s = 0; s < plan->n_sel; s++) {
		const struct ser_probe *p = &plan->probes[plan->sel[s]];
		bool ser = p->dir == SER_DIR_SERIALIZE, handoff = p->dir == SER_DIR_HANDOFF;
		struct bpf_program *entry = handoff ? t->skel->progs.handoff_enter
					    : ser   ? t->skel->progs.serialize_enter
						    : t->skel->progs.deserialize_enter;
		struct bpf_program *ret = handoff ? NULL
					  : ser	  ? t->skel->progs.serialize_exit
						  : t->skel->progs.deserialize_exit;
		struct bpf_link *l1, *l2;
		char fd_path[32];
		int fd, err;

		if (proc_probes_has(pp, plan->sel[s]) || !wanted(t, p))
			continue;
		if (t->uprobe_multi)
			continue; /* attached per file below */
		l1 = l2 = NULL;
		fd = file_open_same(p->path, &p->file);
		if (fd < 0) {
			errno = -fd;
		} else {
			snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
			l1 = bpf_program__attach_uprobe(entry, false, pid, fd_path, p->offset);
			l2 = l1 && ret
				 ? bpf_program__attach_uprobe(ret, true, pid, fd_path, p->offset)
				 : NULL;
			err = errno;
			close(fd);
			errno = err;
		}
		if (!l1 || (ret && !l2)) {
			if (errno != ESRCH) /* a process gone meanwhile needs none */
				tracer_warn(t, "pid %d: cannot attach uprobe %s:%s: %s", pid,
					    p->path, p->symbol,
					    errno == ESTALE ? "the file changed since it was read"
							    : strerror(errno));
			bpf_link__destroy(l1);
			continue;
		}
		if (link_list_add(&pp->links, l1) || (l2 && link_list_add(&pp->links, l2)) ||
		    proc_probes_note(pp, plan->sel[s]))
			return -ENOMEM;
		pp->attached = true;
	}
	if (t->uprobe_multi) {
		int rc = attach_multi(t, pp);

		if (rc)
			return rc;
	}
	if (pp->attached) {
		bpf_map_update_elem(bpf_map__fd(t->skel->maps.probed), &key, &one, BPF_ANY);
		if (!pp->last_ns)
			pp->last_ns = now_ns(); /* the call rate counts from here */
	}
	return 0;
}

/* (the plan selected nothing for most processes: no lookup for them) */
int tracer_attach_probes(struct tracer *t, pid_t pid)
{
	return t->opts.plan->n_sel ? attach_probes(t, pid, proc_start_ns(t, pid)) : 0;
}

/*
 * A uprobe + uretprobe pair costs ~8 us in this VM (two traps): a process
 * calling its serializer more often than this loses more than ~2% to them,
 * and short calls are timed mostly as trap overhead. Such a process gets its
 * probes removed; from then on the sampler counts its samples in the
 * serializer module's code instead.
 */
#define HOT_SER_MIN_CALLS 50

static bool is_module(const char *path)
{
	return !strncmp(path_base(path), "_pickle", 7);
}

static void demote(struct tracer *t, struct proc_probes *pp, uint64_t calls)
{
	struct ser_plan *plan = t->opts.plan;
	struct ser_demotion *d, *tmp;
	struct code_span span = {0};
	__u32 key = (__u32)pp->pid;
	const char *module = NULL;
	uint64_t lo = 0, hi = 0;

	/* the serializer's own module, where it is one (not built in) */
	for (int i = 0; i < pp->n && !module; i++) {
		const char *path = plan->probes[pp->idx[i]].path;

		if (is_module(path) && !proc_exec_span("/proc", pp->pid, path, &lo, &hi))
			module = path;
	}
	span.start = lo;
	span.end = hi;
	if (module)
		bpf_map_update_elem(bpf_map__fd(t->skel->maps.ser_code), &key, &span, BPF_ANY);
	reaper_take(&t->reaper, &pp->links);
	pp->demoted = true;
	tmp = grow_array(t->demoted, (size_t)t->n_demoted, sizeof(*tmp));
	if (!tmp)
		return;
	t->demoted = tmp;
	d = &tmp[t->n_demoted++];
	d->pid = pp->pid;
	d->calls = calls;
	d->module = module ? strdup(module) : NULL;
}

/* Demote the processes whose serializer calls come too fast (see above). */
void tracer_check_hot(struct tracer *t, uint64_t now)
{
	int fd = bpf_map__fd(t->skel->maps.procs);

	for (int i = 0; i < t->n_pp; i++) {
		struct proc_probes *pp = &t->pp[i];
		__u32 key = (__u32)pp->pid;
		struct proc_stats ps;
		uint64_t calls, dc;

		if (!pp->attached || pp->demoted || pp->exited)
			continue;
		/* gone (or folded out): its links wait for the next batch of
		 * closes, up to a second, and need no look every HOT_CHECK_MS */
		if (bpf_map_lookup_elem(fd, &key, &ps) || ps.exit_ns) {
			pp->exited = true;
			continue;
		}
		calls = ps.serialize_calls + ps.deserialize_calls + ps.handoff_calls;
		dc = calls - pp->last_calls;
		if (dc >= HOT_SER_MIN_CALLS &&
		    dc * 1000000000ull > HOT_SER_RATE * (now - pp->last_ns))
			demote(t, pp, calls);
		pp->last_calls = calls;
		pp->last_ns = now;
	}
}

const struct ser_demotion *tracer_demotions(const struct tracer *t, int *n)
{
	*n = t->n_demoted;
	return t->demoted;
}

/* Give the uprobes of processes that exited to the reaper (all of them
 * with `all`): detaching takes ~55 ms a link and must not wait for the end. */
void tracer_reap_probes(struct tracer *t, bool all)
{
	int kept = 0;

	for (int i = 0; i < t->n_pp; i++) {
		struct proc_probes *pp = &t->pp[i];
		__u32 key = (__u32)pp->pid;

		if (!all && !pp->exited && !tracer_exited(t, pp->pid) &&
		    proc_alive("/proc", pp->pid)) {
			t->pp[kept++] = *pp;
			continue;
		}
		proc_probes_drop(t, pp);
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.probed), &key);
	}
	t->n_pp = kept;
	if (all) {
		free(t->pp);
		t->pp = NULL;
	}
}

/*
 * A forked child runs what its parent ran: give it the parent's probes
 * without planning again (no ELF or /proc reading while it is held).
 * False when the parent's probes are unknown: plan from scratch then.
 */
bool tracer_inherit_probes(struct tracer *t, pid_t pid)
{
	struct ser_plan *plan = t->opts.plan;
	struct proc_probes *parent = NULL;
	__u32 key = (__u32)pid;
	struct proc_stats ps;
	int *sel;

	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.procs), &key, &ps))
		return false;
	for (int i = 0; i < t->n_pp && !parent; i++)
		if (t->pp[i].pid == (pid_t)ps.ppid && t->pp[i].n)
			parent = &t->pp[i];
	if (!parent)
		return false;
	/* sized as grow_array() expects: select_probe() may add more */
	sel = realloc(plan->sel, array_cap((size_t)parent->n) * sizeof(*sel));
	if (!sel)
		return false;
	memcpy(sel, parent->idx, parent->n * sizeof(*sel));
	plan->sel = sel;
	plan->n_sel = parent->n;
	return attach_probes(t, pid, ps.start_ns) == 0;
}

int tracer_plan_process(struct tracer *t, pid_t pid)
{
	int rc = ser_plan_for_process(t->opts.plan, "/proc", pid);

	tracer_find_python(t, pid);
	if (rc < 0)
		return rc;
	return tracer_attach_probes(t, pid);
}
