// SPDX-License-Identifier: MIT
#include "tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipcprof.skel.h"
#include "kallsyms.h"
#include "links.h"
#include "map_read.h"
#include "procfs.h"
#include "uprobe_multi.h"
#include "util.h"

struct folded_proc {
	__u32 pid;
	struct proc_stats s;
};

struct folded_chan {
	struct chan_key k;
	struct chan_stats s;
};

struct tracer {
	struct ipcprof_bpf *skel;
	struct ring_buffer *rb;
	struct link_list links; /* uprobes and perf events we attached */
	int *perf_fds;
	int n_perf;
	struct tracer_opts opts;
	struct proc_probes *pp; /* serializer uprobes, per traced process */
	int n_pp;
	struct link_reaper reaper; /* uprobe links being detached */
	bool uprobe_multi;	   /* serializer probes as uprobe_multi links */
	struct ser_demotion *demoted; /* processes whose probes were removed */
	int n_demoted;
	/* exited processes and their channels, moved out of the kernel's
	 * maps so that long runs never fill them (see fold_exited) */
	struct folded_proc *fproc;
	int n_fproc, cap_fproc;
	struct folded_chan *fchan;
	int n_fchan, cap_fchan;
	uint64_t next_fold_ns, next_idle_fold_ns;
	uint64_t next_reap_ns;
	struct probe_plan probes;
	bool closing;		    /* only continue stopped execs, plan nothing */
	bool detached;		    /* tracer_detach() done: counters are final */
	struct slice_event *slices; /* --timeline */
	size_t n_slices, cap_slices;
	bool verbose;
};

static bool verbose_print;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose_print)
		return 0;
	if (level == LIBBPF_INFO && !verbose_print)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* libbpf finds tracepoint IDs through tracefs; mount it like perf does. */
static void ensure_tracefs(void)
{
	struct stat st;

	if (stat("/sys/kernel/tracing/events", &st) == 0 ||
	    stat("/sys/kernel/debug/tracing/events", &st) == 0)
		return;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) && verbose_print)
		fprintf(stderr, "ipcprof: cannot mount tracefs: %s\n", strerror(errno));
}

/* The syscalls the kernel side times, by this architecture's numbers. */
static void fill_syscall_table(volatile __u8 *kinds)
{
	static const struct {
		long nr;
		enum sys_kind kind;
	} table[] = {
	    {SYS_read, SK_READ},	 {SYS_readv, SK_READ},	     {SYS_recvmsg, SK_READ},
	    {SYS_recvfrom, SK_READ},	 {SYS_write, SK_WRITE},	     {SYS_writev, SK_WRITE},
	    {SYS_sendmsg, SK_WRITE},	 {SYS_sendto, SK_WRITE},     {SYS_recvmmsg, SK_RECVMMSG},
	    {SYS_sendmmsg, SK_SENDMMSG}, {SYS_splice, SK_SPLICE},    {SYS_vmsplice, SK_VMSPLICE},
	    {SYS_clone, SK_CLONE},	 {SYS_clone3, SK_CLONE3},    {SYS_mmap, SK_MMAP},
	    {SYS_munmap, SK_MUNMAP},	 {SYS_mremap, SK_MREMAP},
#ifdef SYS_fork /* not on arm64 */
	    {SYS_fork, SK_FORK},
#endif
#ifdef SYS_vfork
	    {SYS_vfork, SK_FORK},
#endif
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].nr >= 0 && table[i].nr < IPCPROF_MAX_SYSCALLS)
			kinds[table[i].nr] = (__u8)table[i].kind;
}

static int open_samplers(struct tracer *t, char *err, size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0) {
		snprintf(err, errlen, "cannot count CPUs: %s", strerror(-ncpu));
		return -1;
	}
	t->perf_fds = calloc(ncpu, sizeof(int));
	if (!t->perf_fds)
		return -1;
	for (int cpu = 0; cpu < ncpu; cpu++) {
		struct perf_event_attr attr = {
		    .type = PERF_TYPE_SOFTWARE,
		    .config = PERF_COUNT_SW_CPU_CLOCK,
		    .size = sizeof(attr),
		    .freq = 1,
		    .sample_freq = t->opts.sample_hz,
		};
		struct bpf_link *l;
		int fd =
		    (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			if (errno == ENODEV) /* possible but offline CPU */
				continue;
			snprintf(err, errlen, "perf_event_open(cpu-clock, cpu %d): %s", cpu,
				 strerror(errno));
			return -1;
		}
		t->perf_fds[t->n_perf++] = fd;
		l = bpf_program__attach_perf_event(t->skel->progs.sample_cpu, fd);
		if (!l) {
			snprintf(err, errlen, "attaching the copy sampler: %s", strerror(errno));
			return -1;
		}
		if (link_list_add(&t->links, l))
			return -1;
	}
	return 0;
}

/* The serializer uprobes attached for one traced process. */
struct proc_probes {
	pid_t pid;
	int *idx; /* indices into opts.plan->probes, attached or tried */
	int n;
	bool attached; /* at least one probe is in place */
	bool demoted;  /* probes removed: called too often */
	uint64_t last_calls, last_ns; /* serializer calls at the last check */
	struct link_list links;
};

static struct proc_probes *proc_probes_get(struct tracer *t, pid_t pid)
{
	struct proc_probes *tmp;

	for (int i = 0; i < t->n_pp; i++)
		if (t->pp[i].pid == pid)
			return &t->pp[i];
	tmp = realloc(t->pp, (t->n_pp + 1) * sizeof(*tmp));
	if (!tmp)
		return NULL;
	t->pp = tmp;
	memset(&tmp[t->n_pp], 0, sizeof(*tmp));
	tmp[t->n_pp].pid = pid;
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
	int *tmp = realloc(pp->idx, (pp->n + 1) * sizeof(*tmp));

	if (!tmp)
		return -ENOMEM;
	pp->idx = tmp;
	pp->idx[pp->n++] = idx;
	return 0;
}

/* uprobe_multi: per file, one link for all entries and one for returns. */
static int attach_multi(struct tracer *t, struct proc_probes *pp)
{
	struct ser_plan *plan = t->opts.plan;
	int entry_fd = bpf_program__fd(t->skel->progs.ser_multi_enter);
	int ret_fd = bpf_program__fd(t->skel->progs.ser_multi_exit);

	for (int s = 0; s < plan->n_sel; s++) {
		const char *path = plan->probes[plan->sel[s]].path;
		uint64_t off[16], cookie[16];
		int idx[16], n = 0, l1, l2;

		if (proc_probes_has(pp, plan->sel[s]))
			continue;
		/* this file's selected probes not yet attached (first time here) */
		for (int j = s; j < plan->n_sel && n < 16; j++) {
			const struct ser_probe *p = &plan->probes[plan->sel[j]];

			if (strcmp(p->path, path) || proc_probes_has(pp, plan->sel[j]))
				continue;
			off[n] = p->offset;
			cookie[n] = p->dir;
			idx[n++] = plan->sel[j];
		}
		l1 = uprobe_multi_attach(entry_fd, path, off, cookie, n, false, pp->pid);
		l2 = l1 >= 0 ? uprobe_multi_attach(ret_fd, path, off, cookie, n, true, pp->pid)
			     : l1;
		if (l1 < 0 || l2 < 0) {
			if (l2 != -ESRCH) /* a process gone meanwhile needs none */
				fprintf(stderr, "ipcprof: cannot attach uprobes in %s: %s\n", path,
					strerror(-l2));
			if (l1 >= 0)
				close(l1);
			/* do not try this file again for this process */
			for (int j = 0; j < n; j++)
				if (proc_probes_note(pp, idx[j]))
					return -ENOMEM;
			continue;
		}
		if (link_list_add_fd(&pp->links, l1) || link_list_add_fd(&pp->links, l2))
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
static int attach_selected_probes(struct tracer *t, pid_t pid)
{
	struct ser_plan *plan = t->opts.plan;
	struct proc_probes *pp;
	__u32 key = (__u32)pid;
	__u8 one = 1;

	if (!plan->n_sel)
		return 0;
	pp = proc_probes_get(t, pid);
	if (!pp)
		return -ENOMEM;
	for (int s = 0; s < plan->n_sel; s++) {
		const struct ser_probe *p = &plan->probes[plan->sel[s]];
		bool ser = p->dir == SER_DIR_SERIALIZE;
		struct bpf_program *entry =
		    ser ? t->skel->progs.serialize_enter : t->skel->progs.deserialize_enter;
		struct bpf_program *ret =
		    ser ? t->skel->progs.serialize_exit : t->skel->progs.deserialize_exit;
		struct bpf_link *l1, *l2;

		if (proc_probes_has(pp, plan->sel[s]))
			continue;
		if (t->uprobe_multi)
			continue; /* attached per file below */
		l1 = bpf_program__attach_uprobe(entry, false, pid, p->path, p->offset);
		l2 = l1 ? bpf_program__attach_uprobe(ret, true, pid, p->path, p->offset) : NULL;
		if (!l1 || !l2) {
			if (errno != ESRCH) /* a process gone meanwhile needs none */
				fprintf(stderr, "ipcprof: cannot attach uprobe %s:%s: %s\n",
					p->path, p->symbol, strerror(errno));
			bpf_link__destroy(l1);
			continue;
		}
		if (link_list_add(&pp->links, l1) || link_list_add(&pp->links, l2) ||
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

/*
 * A uprobe + uretprobe pair costs ~8 us in this VM (two traps): a process
 * calling its serializer more often than this loses more than ~2% to them,
 * and short calls are timed mostly as trap overhead. Such a process gets its
 * probes removed; from then on the sampler counts its samples in the
 * serializer module's code instead.
 */
#define HOT_SER_MIN_CALLS 50
#define HOT_CHECK_MS	  25

static bool is_module(const char *path)
{
	const char *b = strrchr(path, '/');

	return !strncmp(b ? b + 1 : path, "_pickle", 7);
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
	tmp = realloc(t->demoted, (t->n_demoted + 1) * sizeof(*tmp));
	if (!tmp)
		return;
	t->demoted = tmp;
	d = &tmp[t->n_demoted++];
	d->pid = pp->pid;
	d->calls = calls;
	d->module = module ? strdup(module) : NULL;
}

/* Demote the processes whose serializer calls come too fast (see above). */
static void check_hot_serializers(struct tracer *t, uint64_t now)
{
	int fd = bpf_map__fd(t->skel->maps.procs);

	for (int i = 0; i < t->n_pp; i++) {
		struct proc_probes *pp = &t->pp[i];
		__u32 key = (__u32)pp->pid;
		struct proc_stats ps;
		uint64_t calls, dc;

		if (!pp->attached || pp->demoted || bpf_map_lookup_elem(fd, &key, &ps))
			continue;
		calls = ps.serialize_calls + ps.deserialize_calls;
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
static void reap_proc_probes(struct tracer *t, bool all)
{
	int kept = 0;

	for (int i = 0; i < t->n_pp; i++) {
		struct proc_probes *pp = &t->pp[i];
		__u32 key = (__u32)pp->pid;

		if (!all && !tracer_exited(t, pp->pid) && proc_alive("/proc", pp->pid)) {
			t->pp[kept++] = *pp;
			continue;
		}
		reaper_take(&t->reaper, &pp->links);
		free(pp->idx);
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
static bool inherit_probes(struct tracer *t, pid_t pid)
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
	sel = realloc(plan->sel, parent->n * sizeof(*sel));
	if (!sel)
		return false;
	memcpy(sel, parent->idx, parent->n * sizeof(*sel));
	plan->sel = sel;
	plan->n_sel = parent->n;
	return attach_selected_probes(t, pid) == 0;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	const struct event *e = data;

	if (size < sizeof(*e))
		return 0;
	if (e->type == EV_SLICE && size >= sizeof(struct slice_event)) {
		if (t->n_slices == t->cap_slices) {
			size_t cap = t->cap_slices ? t->cap_slices * 2 : 4096;
			struct slice_event *p = realloc(t->slices, cap * sizeof(*p));

			if (!p) /* keep draining: exec events may follow */
				return 0;
			t->slices = p;
			t->cap_slices = cap;
		}
		t->slices[t->n_slices++] = *(const struct slice_event *)data;
		return 0;
	}
	if (e->type == EV_EXEC || e->type == EV_FORK) {
		if (!t->closing && !(e->type == EV_FORK && inherit_probes(t, (pid_t)e->tgid)))
			tracer_plan_process(t, (pid_t)e->tgid);
		/* the kernel side stopped it at exec or fork until its probes
		 * exist */
		kill((pid_t)e->tgid, SIGCONT);
	}
	return 0;
}

/* /proc/kallsyms takes ~45 ms to generate: read it on the other CPU while
 * this one parses BTF for the probe plan. */
struct kallsyms_job {
	struct code_range ranges[IPCPROF_MAX_COPY_RANGES];
	int n;
};

static void *read_kallsyms(void *arg)
{
	struct kallsyms_job *job = arg;

	job->n = kallsyms_code_ranges("/proc/kallsyms", job->ranges, IPCPROF_MAX_COPY_RANGES);
	return NULL;
}

int tracer_open(struct tracer **out, const struct tracer_opts *o, char *err, size_t errlen)
{
	struct tracer *t = calloc(1, sizeof(*t));
	struct kallsyms_job ks = {.n = -EINVAL};
	bool ks_running;
	pthread_t ks_thread;
	int rc;

	*out = NULL;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->opts = *o;
	verbose_print = o->verbose;
	libbpf_set_print(libbpf_print);
	ensure_tracefs();

	ks_running = pthread_create(&ks_thread, NULL, read_kallsyms, &ks) == 0;
	if (!ks_running)
		read_kallsyms(&ks);

	t->skel = ipcprof_bpf__open();
	if (t->skel)
		probe_plan_prepare(&t->probes, t->skel, o->probe_mode);
	if (ks_running)
		pthread_join(ks_thread, NULL);
	if (!t->skel) {
		snprintf(err, errlen, "opening BPF object: %s", strerror(errno));
		goto fail;
	}
	if (ks.n < 0) {
		snprintf(err, errlen, "reading /proc/kallsyms: %s", strerror(-ks.n));
		goto fail;
	}
	/* uprobe_multi where the kernel has it, else one perf uprobe each */
	t->uprobe_multi = uprobe_multi_supported();
	bpf_program__set_autoload(t->skel->progs.ser_multi_enter, t->uprobe_multi);
	bpf_program__set_autoload(t->skel->progs.ser_multi_exit, t->uprobe_multi);
	bpf_program__set_expected_attach_type(t->skel->progs.ser_multi_enter,
					      IPCPROF_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(t->skel->progs.ser_multi_exit,
					      IPCPROF_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_autoload(t->skel->progs.serialize_enter, !t->uprobe_multi);
	bpf_program__set_autoload(t->skel->progs.serialize_exit, !t->uprobe_multi);
	bpf_program__set_autoload(t->skel->progs.deserialize_enter, !t->uprobe_multi);
	bpf_program__set_autoload(t->skel->progs.deserialize_exit, !t->uprobe_multi);
	t->skel->rodata->follow_children = o->follow;
	t->skel->rodata->stop_on_exec = true;
	t->skel->rodata->n_code_ranges = (__u32)ks.n;
	memcpy((void *)t->skel->rodata->code_ranges, ks.ranges, ks.n * sizeof(ks.ranges[0]));
	fill_syscall_table(t->skel->rodata->sys_kinds);
	t->skel->rodata->timeline = o->timeline;
	if (o->timeline) /* room for bursts of per-call records */
		bpf_map__set_max_entries(t->skel->maps.events, 16 << 20);

	rc = ipcprof_bpf__load(t->skel);
	if (rc) {
		if (rc == -EPERM)
			snprintf(err, errlen,
				 "loading BPF programs: %s (run as root, or grant CAP_BPF, "
				 "CAP_PERFMON and CAP_SYS_ADMIN)",
				 strerror(-rc));
		else
			snprintf(err, errlen, "loading BPF programs: %s (run with -v for details)",
				 strerror(-rc));
		goto fail;
	}
	rc = ipcprof_bpf__attach(t->skel);
	if (rc) {
		snprintf(err, errlen, "attaching tracepoints: %s", strerror(-rc));
		goto fail;
	}
	probe_plan_attach(&t->probes, t->skel);
	if (open_samplers(t, err, errlen))
		goto fail;
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), handle_event, t, NULL);
	if (!t->rb) {
		snprintf(err, errlen, "creating ring buffer: %s", strerror(errno));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	tracer_close(t);
	return -1;
}

int tracer_add_process(struct tracer *t, pid_t pid, pid_t ppid, uint64_t start_ns)
{
	struct proc_stats ps = {0};
	struct pid_list tids = {0};
	__u32 key = (__u32)pid;
	__u64 now = start_ns;
	__u8 one = 1;
	int rc;

	ps.start_ns = now;
	ps.ppid = (__u32)ppid;
	proc_comm("/proc", pid, ps.comm, sizeof(ps.comm));
	rc = bpf_map_update_elem(bpf_map__fd(t->skel->maps.procs), &key, &ps, BPF_ANY);
	if (!rc)
		rc = bpf_map_update_elem(bpf_map__fd(t->skel->maps.traced), &key, &one, BPF_ANY);
	if (rc)
		return -errno;
	rc = proc_tasks("/proc", pid, &tids);
	if (rc == -ENOENT) {
		/* gone between finding it and registering it: forget it */
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.traced), &key);
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.procs), &key);
		return -ESRCH;
	}
	for (size_t i = 0; !rc && i < tids.n; i++) {
		struct thread_state ts = {.start_ns = now, .tgid = (__u32)pid};
		__u32 tid = (__u32)tids.pids[i];

		if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.threads), &tid, &ts, BPF_ANY))
			rc = -errno;
	}
	pid_list_free(&tids);
	return rc;
}

int tracer_plan_process(struct tracer *t, pid_t pid)
{
	int rc = ser_plan_for_process(t->opts.plan, "/proc", pid);

	if (rc < 0)
		return rc;
	return attach_selected_probes(t, pid);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

/* Make room for one more element of `size` bytes in *v (n used, *cap). */
static int grow_one(void **v, int n, int *cap, size_t size)
{
	void *tmp;

	if (n < *cap)
		return 0;
	tmp = realloc(*v, (size_t)(*cap ? *cap * 2 : 256) * size);
	if (!tmp)
		return -ENOMEM;
	*v = tmp;
	*cap = *cap ? *cap * 2 : 256;
	return 0;
}

/* a process gone this long has no BPF program left that could update it */
#define FOLD_GRACE_NS 50000000ull
#define FOLD_EVERY_NS 250000000ull

/* a channel end unused this long is folded too (see fold_exited) */
#define CHAN_IDLE_NS 2000000000ull

/* Delete the entries of `map` whose owner is in `gone` (sorted) and, with
 * `keep` (the channels, kept for the report), those idle since `idle_before`. */
static int forget_tgids(struct bpf_map *map, size_t key_size, size_t value_size,
			const __u32 *gone, int n_gone, uint64_t idle_before,
			struct folded_chan **keep, int *n_keep, int *cap_keep)
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
		    !(keep && ((const struct chan_stats *)vals)[i].last_ns < idle_before))
			continue;
		if (keep) { /* channels are kept for the report */
			if (grow_one((void **)keep, *n_keep, cap_keep, sizeof(**keep))) {
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
 * Move the entries of processes that exited (and of their channels, shared
 * mappings and sampled serializer code) from the kernel's maps into our
 * memory. The maps are sized for the processes alive at once, not for all
 * that ever ran: a run through thousands of processes (a test suite) keeps
 * every number. Returns the number of processes folded, or -errno.
 */
static int fold_exited(struct tracer *t, uint64_t now)
{
	int pfd = bpf_map__fd(t->skel->maps.procs), first = t->n_fproc, n, rc = 0;
	void *keys = NULL, *vals = NULL;
	__u32 *gone = NULL;

	n = map_read_all(pfd, sizeof(__u32), sizeof(struct proc_stats),
			 bpf_map__max_entries(t->skel->maps.procs), &keys, &vals);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const struct proc_stats *ps = (const struct proc_stats *)vals + i;
		__u32 pid = ((const __u32 *)keys)[i];

		if (!ps->exit_ns || now < ps->exit_ns + FOLD_GRACE_NS)
			continue;
		if (grow_one((void **)&t->fproc, t->n_fproc, &t->cap_fproc, sizeof(*t->fproc))) {
			rc = -ENOMEM;
			break;
		}
		t->fproc[t->n_fproc].pid = pid;
		t->fproc[t->n_fproc++].s = *ps;
		bpf_map_delete_elem(pfd, &pid);
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.ser_code), &pid);
	}
	free(keys);
	free(vals);
	/*
	 * Channels: those of the processes just folded, and those idle for
	 * CHAN_IDLE_NS: a long-lived process that opens pipes and sockets
	 * by the thousand (a test runner, a server) would fill the map with
	 * closed ones. An idle end used again gets a new kernel entry, and
	 * the report merges the two. Scanned once a second at most.
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
	t->next_idle_fold_ns = now + 1000000000ull;
	if (!rc)
		rc = forget_tgids(t->skel->maps.chans, sizeof(struct chan_key),
				  sizeof(struct chan_stats), gone, t->n_fproc - first,
				  now > CHAN_IDLE_NS ? now - CHAN_IDLE_NS : 0, &t->fchan, &t->n_fchan,
				  &t->cap_fchan);
	if (!rc && gone)
		rc = forget_tgids(t->skel->maps.shm, sizeof(struct shm_key), sizeof(__u64), gone,
				  t->n_fproc - first, 0, NULL, NULL, NULL);
	free(gone);
	return rc ? rc : t->n_fproc - first;
}

int tracer_poll(struct tracer *t, int wake_fd, int timeout_ms)
{
	struct pollfd fds[2] = {
	    {.fd = ring_buffer__epoll_fd(t->rb), .events = POLLIN},
	    {.fd = wake_fd, .events = POLLIN}, /* poll() skips a negative fd */
	};
	int rc;

	/* serializer call rates are checked every HOT_CHECK_MS while some
	 * process has probes: a hot one pays ~8 us a call until then */
	if (t->n_pp && timeout_ms > HOT_CHECK_MS)
		timeout_ms = HOT_CHECK_MS;
	/* our own poll around the ring buffer's epoll fd, so that a pidfd
	 * can end the wait the moment the command exits */
	if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	rc = ring_buffer__consume(t->rb);
	if (now_ns() >= t->next_fold_ns) {
		fold_exited(t, now_ns());
		t->next_fold_ns = now_ns() + FOLD_EVERY_NS;
	}
	if (t->n_pp && now_ns() >= t->next_reap_ns) {
		check_hot_serializers(t, now_ns());
		reap_proc_probes(t, false);
		t->next_reap_ns = now_ns() + HOT_CHECK_MS * 1000000ull;
	}
	return rc == -EINTR ? 0 : rc;
}

bool tracer_exited(struct tracer *t, pid_t pid)
{
	struct proc_stats ps;
	__u32 key = (__u32)pid;

	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.procs), &key, &ps))
		return true; /* never traced: nothing to wait for */
	return ps.exit_ns != 0;
}

struct live_proc {
	__u32 tgid;
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
static int live_threads(struct tracer *t, uint64_t end, struct live_proc **out)
{
	int fd = bpf_map__fd(t->skel->maps.threads), n = 0;
	struct live_proc *v = NULL;
	struct thread_state ts;
	__u32 key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct live_proc *p = NULL;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &ts))
			continue;
		for (int i = n - 1; i >= 0 && !p; i--)
			if (v[i].tgid == ts.tgid)
				p = &v[i];
		if (!p) {
			struct live_proc *tmp = realloc(v, (n + 1) * sizeof(*v));

			if (!tmp) {
				free(v);
				return -ENOMEM;
			}
			v = tmp;
			p = &v[n++];
			memset(p, 0, sizeof(*p));
			p->tgid = ts.tgid;
		}
		if (end > ts.start_ns)
			p->live.thread_ns += end - ts.start_ns;
		/* asleep outside any syscall we time: waiting until now */
		if (ts.off_start && !ts.sys_class && !ts.ser_depth && end > ts.off_start)
			p->live.wait_ns += end - ts.off_start;
		for (int a = 0; a < ACT_COUNT; a++)
			for (int f = 0; f < FT_COUNT; f++)
				p->faults[a][f] += ts.faults[a][f];
		p->faults_kernel += ts.faults_kernel;
		ipc_acc_add(&p->ipc, &ts.ipc);
	}
	*out = v;
	return n;
}

/* One process's row: its kernel counters plus what only now settles. */
static int add_proc(struct report *rep, __u32 pid, struct proc_stats ps,
		    const struct live_proc *lp, int n_live)
{
	struct live_threads live = {0};
	struct proc_row row;

	for (int i = 0; i < n_live && !ps.exit_ns; i++) {
		if (lp[i].tgid != pid)
			continue;
		live = lp[i].live;
		add_live(&ps, &lp[i]);
	}
	proc_row_from_stats(&row, pid, &ps, &live, rep->end_ns, &rep->measure);
	return report_add_proc(rep, &row);
}

int tracer_collect(struct tracer *t, struct report *rep)
{
	void *keys = NULL, *vals = NULL;
	struct live_proc *lp = NULL;
	uint64_t last_exit = 0;
	bool all_exited = true;
	int rc = 0, n_live, n;

	rep->measure = tracer_measure(t);
	/* events still queued, so every exec has been seen */
	ring_buffer__consume(t->rb);
	rep->end_ns = now_ns();
	n_live = live_threads(t, rep->end_ns, &lp);
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
	free(lp);
	if (rc)
		return rc;
	/* The trace ended when its last process did, not when we noticed. */
	if (all_exited && last_exit > rep->start_ns)
		rep->end_ns = last_exit;
	for (int i = 0; i < t->n_fchan && !rc; i++)
		rc = report_add_chan(rep, &t->fchan[i].k, &t->fchan[i].s);
	n = map_read_all(bpf_map__fd(t->skel->maps.chans), sizeof(struct chan_key),
			 sizeof(struct chan_stats), bpf_map__max_entries(t->skel->maps.chans), &keys,
			 &vals);
	if (n < 0)
		return rc ? rc : n;
	for (int i = 0; i < n && !rc; i++)
		rc = report_add_chan(rep, (const struct chan_key *)keys + i,
				     (const struct chan_stats *)vals + i);
	free(keys);
	free(vals);
	if (rc)
		return rc;
	rep->lost_events = t->skel->bss->lost_events;
	rep->map_full = t->skel->bss->map_full;
	rep->sample_hz = t->opts.sample_hz;
	return 0;
}

const struct slice_event *tracer_slices(const struct tracer *t, size_t *n)
{
	*n = t->n_slices;
	return t->slices;
}

const struct probe_plan *tracer_probe_plan(const struct tracer *t)
{
	return &t->probes;
}

struct measure tracer_measure(const struct tracer *t)
{
	struct measure m = {
	    .sample_hz = t->opts.sample_hz,
	    .exact_copy = {probe_plan_copy_covers(&t->probes, FAM_PIPE),
			   probe_plan_copy_covers(&t->probes, FAM_SOCK)},
	    .exact_fault = probe_plan_method(&t->probes, GROUP_FAULT) != METHOD_NONE,
	    .exact_fork = probe_plan_method(&t->probes, GROUP_FORK) != METHOD_NONE,
	    .exact_mmap = probe_plan_method(&t->probes, GROUP_MMAP) != METHOD_NONE,
	    .ipc_kernel = probe_plan_method(&t->probes, GROUP_KFN) != METHOD_NONE,
	};

	return m;
}

/* IDs of the programs we loaded, to see them gone at the end. */
static int loaded_prog_ids(struct ipcprof_bpf *skel, __u32 **out)
{
	struct bpf_program *p;
	__u32 *ids = NULL;
	int n = 0;

	bpf_object__for_each_program(p, skel->obj)
	{
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		__u32 *tmp;

		if (bpf_program__fd(p) < 0 || bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			continue;
		tmp = realloc(ids, (n + 1) * sizeof(*ids));
		if (!tmp)
			break;
		ids = tmp;
		ids[n++] = info.id;
	}
	*out = ids;
	return n;
}

/*
 * Links to tracepoints are freed after an RCU grace period (RCU tasks trace
 * for the faultable syscall tracepoints), so our programs outlive their
 * last fd by a few ms. Wait for that: nothing of ours stays loaded once
 * ipcprof has exited. Bounded, in case something else holds them.
 */
static void wait_programs_gone(const __u32 *ids, int n)
{
	uint64_t deadline = now_ns() + 2000000000ull;

	for (int i = 0; i < n; i++) {
		int fd;

		while ((fd = bpf_prog_get_fd_by_id(ids[i])) >= 0) {
			close(fd);
			if (now_ns() > deadline)
				return;
			usleep(2000);
		}
	}
}

void tracer_detach(struct tracer *t)
{
	if (!t || t->detached)
		return;
	/* Stop holding execs, then release every process still held: no
	 * traced process is ever left stopped behind us. */
	if (t->skel && t->skel->links.handle_exec) {
		bpf_link__destroy(t->skel->links.handle_exec);
		t->skel->links.handle_exec = NULL;
	}
	t->closing = true;
	if (t->skel && t->skel->bss)
		t->skel->bss->release_all = 1;
	if (t->rb)
		ring_buffer__consume(t->rb);
	link_list_destroy(&t->links);
	reap_proc_probes(t, true);
	probe_plan_free(&t->probes);
	if (t->skel)
		ipcprof_bpf__detach(t->skel);
	for (int i = 0; i < t->n_perf; i++)
		close(t->perf_fds[i]);
	t->n_perf = 0;
	t->detached = true;
}

void tracer_close(struct tracer *t)
{
	__u32 *ids = NULL;
	int n_ids = 0;

	if (!t)
		return;
	tracer_detach(t);
	reaper_join(&t->reaper);
	free(t->perf_fds);
	if (t->skel)
		n_ids = loaded_prog_ids(t->skel, &ids);
	ipcprof_bpf__destroy(t->skel);
	wait_programs_gone(ids, n_ids);
	/* a program still running while we detached may have held one more
	 * process: with the programs gone, this is the last word (the ring
	 * buffer's memory stays mapped until ring_buffer__free) */
	if (t->rb)
		ring_buffer__consume(t->rb);
	ring_buffer__free(t->rb);
	free(t->slices);
	free(t->fproc);
	free(t->fchan);
	for (int i = 0; i < t->n_demoted; i++)
		free(t->demoted[i].module);
	free(t->demoted);
	free(ids);
	free(t);
}
