// SPDX-License-Identifier: MIT
#include "tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
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
#include "procfs.h"
#include "util.h"

struct tracer {
	struct ipcprof_bpf *skel;
	struct ring_buffer *rb;
	struct link_list links; /* uprobes and perf events we attached */
	int *perf_fds;
	int n_perf;
	struct tracer_opts opts;
	int n_attached; /* probes of opts.plan already attached */
	struct probe_plan probes;
	bool closing;		    /* only continue stopped execs, plan nothing */
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

static int attach_new_probes(struct tracer *t)
{
	struct ser_plan *plan = t->opts.plan;

	for (; t->n_attached < plan->n; t->n_attached++) {
		const struct ser_probe *p = &plan->probes[t->n_attached];
		struct bpf_program *entry = p->dir == SER_DIR_SERIALIZE
						? t->skel->progs.serialize_enter
						: t->skel->progs.deserialize_enter;
		struct bpf_program *ret = p->dir == SER_DIR_SERIALIZE
					      ? t->skel->progs.serialize_exit
					      : t->skel->progs.deserialize_exit;
		struct bpf_link *l1, *l2;

		/* pid -1: one probe per file serves every process; the BPF side
		 * ignores threads it does not trace. */
		l1 = bpf_program__attach_uprobe(entry, false, -1, p->path, p->offset);
		l2 = l1 ? bpf_program__attach_uprobe(ret, true, -1, p->path, p->offset) : NULL;
		if (!l1 || !l2) {
			fprintf(stderr, "ipcprof: cannot attach uprobe %s:%s: %s\n", p->path,
				p->symbol, strerror(errno));
			bpf_link__destroy(l1);
			continue;
		}
		if (link_list_add(&t->links, l1) || link_list_add(&t->links, l2))
			return -ENOMEM;
	}
	return 0;
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
	if (e->type == EV_EXEC) {
		if (!t->closing)
			tracer_plan_process(t, (pid_t)e->tgid);
		/* the kernel side stopped it at exec until its probes exist */
		kill((pid_t)e->tgid, SIGCONT);
	}
	return 0;
}

int tracer_open(struct tracer **out, const struct tracer_opts *o, char *err, size_t errlen)
{
	struct code_range ranges[IPCPROF_MAX_COPY_RANGES];
	struct tracer *t = calloc(1, sizeof(*t));
	int n, rc;

	*out = NULL;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->opts = *o;
	verbose_print = o->verbose;
	libbpf_set_print(libbpf_print);
	ensure_tracefs();

	n = kallsyms_code_ranges("/proc/kallsyms", ranges, IPCPROF_MAX_COPY_RANGES);
	if (n < 0) {
		snprintf(err, errlen, "reading /proc/kallsyms: %s", strerror(-n));
		goto fail;
	}

	t->skel = ipcprof_bpf__open();
	if (!t->skel) {
		snprintf(err, errlen, "opening BPF object: %s", strerror(errno));
		goto fail;
	}
	t->skel->rodata->follow_children = o->follow;
	t->skel->rodata->stop_on_exec = true;
	t->skel->rodata->n_code_ranges = (__u32)n;
	memcpy((void *)t->skel->rodata->code_ranges, ranges, n * sizeof(ranges[0]));
	probe_plan_prepare(&t->probes, t->skel, o->probe_mode);
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
	if (attach_new_probes(t)) {
		snprintf(err, errlen, "attaching uprobes: out of memory");
		goto fail;
	}
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
	return attach_new_probes(t);
}

int tracer_poll(struct tracer *t, int timeout_ms)
{
	int rc = ring_buffer__poll(t->rb, timeout_ms);

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
};

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
	}
	*out = v;
	return n;
}

int tracer_collect(struct tracer *t, struct report *rep)
{
	int pfd = bpf_map__fd(t->skel->maps.procs), cfd = bpf_map__fd(t->skel->maps.chans);
	struct chan_key ck, cnext, *cprev = NULL;
	__u32 key, next, *prev = NULL;
	struct live_proc *lp = NULL;
	struct chan_stats cs;
	struct proc_stats ps;
	uint64_t last_exit = 0;
	bool all_exited = true;
	int rc, n_live;

	rep->measure = tracer_measure(t);
	/* events still queued, so every exec has been seen */
	ring_buffer__consume(t->rb);
	rep->end_ns = now_ns();
	n_live = live_threads(t, rep->end_ns, &lp);
	if (n_live < 0)
		return n_live;
	while (!bpf_map_get_next_key(pfd, prev, &next)) {
		struct live_threads live = {0};
		struct proc_row row;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(pfd, &key, &ps))
			continue;
		for (int i = 0; i < n_live && !ps.exit_ns; i++)
			if (lp[i].tgid == key)
				live = lp[i].live;
		proc_row_from_stats(&row, key, &ps, &live, rep->end_ns, &rep->measure);
		rc = report_add_proc(rep, &row);
		if (rc) {
			free(lp);
			return rc;
		}
		all_exited = all_exited && ps.exit_ns;
		if (ps.exit_ns > last_exit)
			last_exit = ps.exit_ns;
	}
	free(lp);
	/* The trace ended when its last process did, not when we noticed. */
	if (all_exited && last_exit > rep->start_ns)
		rep->end_ns = last_exit;
	while (!bpf_map_get_next_key(cfd, cprev, &cnext)) {
		ck = cnext;
		cprev = &ck;
		if (bpf_map_lookup_elem(cfd, &ck, &cs))
			continue;
		rc = report_add_chan(rep, &ck, &cs);
		if (rc)
			return rc;
	}
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

void tracer_close(struct tracer *t)
{
	if (!t)
		return;
	/* Stop holding execs, then release every process still held: no
	 * traced process is ever left stopped behind us. */
	if (t->skel && t->skel->links.handle_exec) {
		bpf_link__destroy(t->skel->links.handle_exec);
		t->skel->links.handle_exec = NULL;
	}
	t->closing = true;
	if (t->rb)
		ring_buffer__consume(t->rb);
	probe_plan_free(&t->probes);
	free(t->slices);
	ring_buffer__free(t->rb);
	link_list_destroy(&t->links);
	for (int i = 0; i < t->n_perf; i++)
		close(t->perf_fds[i]);
	free(t->perf_fds);
	ipcprof_bpf__destroy(t->skel);
	free(t);
}
