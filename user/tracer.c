// SPDX-License-Identifier: MIT
#include "tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "callsites.h"
#include "heap.h"
#include "kallsyms.h"
#include "local_addrs.h"
#include "map_prealloc.h"
#include "procfs.h"
#include "tasks_trace.h"
#include "tracer_priv.h"
#include "uprobe_multi.h"
#include "util.h"
#include "watchdog.h"

static bool verbose_print;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose_print)
		return 0;
	if (level == LIBBPF_INFO && !verbose_print)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void tracer_warn(struct tracer *t, const char *fmt, ...)
{
	char **tmp = grow_array(t->warnings, (size_t)t->n_warnings, sizeof(*t->warnings));
	va_list ap;
	char *msg;
	int n;

	if (!tmp)
		return;
	t->warnings = tmp;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n >= 0)
		t->warnings[t->n_warnings++] = msg;
}

/* The syscalls the kernel side times, by this architecture's numbers. */
static void fill_syscall_table(volatile __u8 *kinds)
{
	static const struct {
		long nr;
		enum sys_kind kind;
	} table[] = {
	    {SYS_read, SK_READ},
	    {SYS_readv, SK_READ},
	    {SYS_recvmsg, SK_RECVMSG},
	    {SYS_recvfrom, SK_RECVFROM},
	    {SYS_write, SK_WRITE},
	    {SYS_writev, SK_WRITE},
	    {SYS_sendmsg, SK_SENDMSG},
	    {SYS_sendto, SK_SENDTO},
	    {SYS_recvmmsg, SK_RECVMMSG},
	    {SYS_shmat, SK_SHMAT},
	    {SYS_shmdt, SK_SHMDT},
	    {SYS_madvise, SK_POPULATE},
	    {SYS_mlock, SK_POPULATE},
	    {SYS_mlock2, SK_POPULATE},
	    {SYS_mlockall, SK_POPULATE},
	    {SYS_sendmmsg, SK_SENDMMSG},
	    {SYS_splice, SK_SPLICE},
	    {SYS_vmsplice, SK_VMSPLICE},
	    {SYS_clone, SK_CLONE},
	    {SYS_clone3, SK_CLONE3},
	    {SYS_mmap, SK_MMAP},
	    {SYS_munmap, SK_MUNMAP},
	    {SYS_mremap, SK_MREMAP},
	    {SYS_epoll_pwait, SK_EPOLL_WAIT},
	    {SYS_ppoll, SK_POLL},
#ifdef SYS_epoll_wait /* not on arm64 */
	    {SYS_epoll_wait, SK_EPOLL_WAIT},
#endif
#ifdef SYS_epoll_pwait2
	    {SYS_epoll_pwait2, SK_EPOLL_WAIT},
#endif
#ifdef SYS_poll
	    {SYS_poll, SK_POLL},
#endif
	    {SYS_pselect6, SK_SELECT},
#ifdef SYS_select
	    {SYS_select, SK_SELECT},
#endif
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

/*
 * One cpu-clock event (pid, cpu as perf_event_open takes them) driving
 * `prog`. It is opened disabled and enabled by the attach, so that an event
 * whose program could not be attached never ticks; its fd is kept until
 * tracer_detach, whose close also frees the copies the kernel made of an
 * inherited event for children.
 */
static int open_sampler(struct tracer *t, struct perf_event_attr *attr, pid_t pid, int cpu,
			struct bpf_program *prog)
{
	struct bpf_link *l;
	int *fds, fd, rc;

	fds = grow_array(t->perf_fds, (size_t)t->n_perf, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	t->perf_fds = fds;
	attr->disabled = 1;
	fd = (int)syscall(__NR_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	l = bpf_program__attach_perf_event(prog, fd);
	if (!l) {
		rc = -errno;
		close(fd);
		return rc;
	}
	t->perf_fds[t->n_perf++] = fd;
	return link_list_add(&t->links, l); /* destroys l when it fails */
}

/* The per-CPU sampler: everything traced threads do, at --sample-hz. */
static int open_samplers(struct tracer *t, char *err, size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus(), rc;

	if (ncpu <= 0) {
		snprintf(err, errlen, "cannot count CPUs: %s", strerror(-ncpu));
		return ncpu ? ncpu : -EINVAL;
	}
	for (int cpu = 0; cpu < ncpu; cpu++) {
		struct perf_event_attr attr = {
		    .type = PERF_TYPE_SOFTWARE,
		    .config = PERF_COUNT_SW_CPU_CLOCK,
		    .size = sizeof(attr),
		    .freq = 1,
		    .sample_freq = t->opts.sample_hz,
		};

		rc = open_sampler(t, &attr, -1, cpu, t->skel->progs.sample_cpu);
		if (rc == -ENODEV) /* possible but offline CPU */
			continue;
		if (rc) {
			snprintf(err, errlen, "the cpu-clock sampler on cpu %d: %s", cpu,
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/*
 * --thread-sample-hz: a cpu-clock event per thread of a process added here,
 * inherited by the threads and processes it creates later. It ticks only
 * while they run (each tick costs a timer interrupt, ~45 us in this VM), and
 * its program keeps only the ticks that land inside serializers and IPC
 * calls, so that their copy and fault shares get enough samples. The period
 * is fixed (not perf's frequency mode): the shares need none, and the cost
 * stays what was asked for.
 */
static void open_thread_samplers(struct tracer *t, pid_t pid, const struct pid_list *tids)
{
	struct perf_event_attr attr = {
	    .type = PERF_TYPE_SOFTWARE,
	    .config = PERF_COUNT_SW_CPU_CLOCK,
	    .size = sizeof(attr),
	    .sample_period = 1000000000ull / t->opts.thread_sample_hz,
	    .inherit = 1,
	    /* --no-follow: new threads only, not the children it does not trace */
	    .inherit_thread = !t->opts.follow,
	};
	int failed = 0, first = 0;

	for (size_t i = 0; i < tids->n; i++) {
		int rc = open_sampler(t, &attr, tids->pids[i], -1, t->skel->progs.sample_task);

		if (rc == -EINVAL && attr.inherit_thread) { /* before 5.13: children too */
			attr.inherit_thread = 0;
			rc = open_sampler(t, &attr, tids->pids[i], -1, t->skel->progs.sample_task);
		}
		/* a thread that exited since its list was read has nothing to sample */
		if (rc && rc != -ESRCH && !failed++)
			first = rc;
	}
	/* one note per process, however many threads (e.g. out of descriptors) */
	if (failed)
		tracer_warn(
		    t,
		    "per-thread sampler of pid %d: %d of %zu threads not sampled (%s); their "
		    "serializer and IPC splits rest on the per-CPU samples",
		    pid, failed, tids->n, strerror(-first));
}

/* The map's words are shared with the BPF side, which changes them with
 * compare-and-swap: so do we (no libbpf call does that on a map value). */
static size_t gate_bytes(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (FORK_GATE_SLOTS * sizeof(__u64) + page - 1) / page * page;
}

/*
 * Continue a process our programs stopped, then drop its `held` entry, but
 * only if it is still the one we saw: continued, the process may exec and
 * be held again at once. A process the watchdog let go first (held over
 * its limit) may have run before its probes existed: say so.
 */
static void continue_held(struct tracer *t, __u32 tgid, const char *comm)
{
	int fd = t->skel ? bpf_map__fd(t->skel->maps.held) : -1;
	__u64 since = 0, again = 0;
	bool had = fd >= 0 && !bpf_map_lookup_elem(fd, &tgid, &since);

	if (fd >= 0 && !had && watchdog_was_released(fd, (pid_t)tgid))
		tracer_warn(t,
			    "pid %u (%.16s) was released after %llu s on hold, before its "
			    "serializer probes were attached: its first calls may be missing",
			    tgid, comm, WATCHDOG_HOLD_LIMIT_NS / 1000000000ull);
	kill((pid_t)tgid, SIGCONT);
	if (had && !bpf_map_lookup_elem(fd, &tgid, &again) && again == since)
		bpf_map_delete_elem(fd, &tgid);
}

/*
 * Answer a forked child's gate: its uprobes exist now (or never will, when
 * tracing ends). If it got to its first return before us, it stopped itself
 * there: continue it once its stop is queued.
 */
static void gate_answer(struct tracer *t, __u32 tgid, const char *comm)
{
	const __u64 stopped = GATE_WORD(tgid, GATE_STOPPED);
	uint64_t give_up = now_ns() + 1000000000ull;
	__u64 *w, expect = GATE_WORD(tgid, GATE_ATTACHING);

	if (!t->gate)
		return;
	w = &t->gate[GATE_SLOT(tgid)];
	if (__atomic_compare_exchange_n(w, &expect, GATE_WORD(tgid, GATE_ATTACHED), false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return; /* it goes on by itself */
	/* STOPPING lasts the rest of one run of a BPF program (the watchdog
	 * covers a child that is preempted there for longer) */
	while (expect == GATE_WORD(tgid, GATE_STOPPING) && now_ns() < give_up) {
		sched_yield();
		expect = __atomic_load_n(w, __ATOMIC_SEQ_CST);
	}
	/* anything else: it is gone and its slot was freed */
	if (expect == stopped &&
	    __atomic_compare_exchange_n(w, &expect, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		continue_held(t, tgid, comm);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	const struct event *e = data;

	if (size < sizeof(*e))
		return 0;
	if (e->type == EV_SLICE && size >= sizeof(struct slice_event) && t->opts.on_slice) {
		t->opts.on_slice(t->opts.slice_ctx, (const struct slice_event *)data);
		return 0;
	}
	if (e->type == EV_SLICE && size >= sizeof(struct slice_event)) {
		struct slice_event *p = grow_array(t->slices, t->n_slices, sizeof(*p));

		if (!p) /* keep draining: exec events may follow */
			return 0;
		t->slices = p;
		t->slices[t->n_slices++] = *(const struct slice_event *)data;
		return 0;
	}
	if (e->type == EV_EXEC || e->type == EV_FORK) {
		if (!t->closing &&
		    !(e->type == EV_FORK && tracer_inherit_probes(t, (pid_t)e->tgid)))
			tracer_plan_process(t, (pid_t)e->tgid);
		/* the kernel side stopped it at exec or fork until its probes
		 * exist, or left the decision to the child's gate */
		if (e->gated)
			gate_answer(t, e->tgid, e->comm);
		else if (e->held)
			continue_held(t, e->tgid, e->comm);
	}
	return 0;
}

/* what libbpf's vmlinux BTF parse allocates, with room (user/heap.c) */
#define HEAP_HUGE_BYTES (16u << 20)

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

/* Before load: which serializer programs, and the rodata configuration. */
static void configure(struct tracer *t, const struct tracer_opts *o)
{
	struct ipcprof_bpf *skel = t->skel;

	/* uprobe_multi where the kernel has it, else one perf uprobe each */
	t->uprobe_multi = uprobe_multi_supported();
	bpf_program__set_autoload(skel->progs.ser_multi_enter, t->uprobe_multi);
	bpf_program__set_autoload(skel->progs.ser_multi_exit, t->uprobe_multi);
	bpf_program__set_expected_attach_type(skel->progs.ser_multi_enter,
					      IPCPROF_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(skel->progs.ser_multi_exit,
					      IPCPROF_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_autoload(skel->progs.serialize_enter, !t->uprobe_multi);
	bpf_program__set_autoload(skel->progs.serialize_exit, !t->uprobe_multi);
	bpf_program__set_autoload(skel->progs.deserialize_enter, !t->uprobe_multi);
	bpf_program__set_autoload(skel->progs.deserialize_exit, !t->uprobe_multi);
	/* run by hand, once, in attach mode only */
	bpf_program__set_autoload(skel->progs.seed_threads, o->seed_threads);
	bpf_program__set_autoattach(skel->progs.seed_threads, false);
	if (perf_event_takes_dynamic_maps()) {
		bpf_map__set_map_flags(skel->maps.threads, BPF_F_NO_PREALLOC);
		bpf_map__set_map_flags(skel->maps.procs, BPF_F_NO_PREALLOC);
	}
	skel->rodata->follow_children = o->follow;
	skel->rodata->stop_on_exec = true;
	fill_syscall_table(skel->rodata->sys_kinds);
	skel->rodata->timeline = o->timeline;
	skel->rodata->timeline_faults = o->timeline && o->timeline_faults;
	if (o->timeline) /* room for bursts of per-call records */
		bpf_map__set_max_entries(skel->maps.events, 16 << 20);
}

static int load(struct tracer *t, char *err, size_t errlen)
{
	int rc = ipcprof_bpf__load(t->skel);

	if (!rc) {
		/* a peer at one of these is a local process (none: loopback only) */
		if (local_addrs_fill(bpf_map__fd(t->skel->maps.local_addrs)) < 0)
			tracer_warn(t, "this host's addresses unknown: TCP and UDP peers count "
				       "as local only on loopback");
		/* before anything is attached (it must not inherit links) */
		rc = watchdog_start(&t->wd, bpf_map__fd(t->skel->maps.held));
		if (rc) {
			snprintf(err, errlen, "starting the watchdog: %s", strerror(-rc));
			return rc;
		}
	}
	if (rc) {
		if (rc == -EPERM)
			snprintf(err, errlen,
				 "loading BPF programs: %s (run as root, or grant CAP_BPF, "
				 "CAP_PERFMON and CAP_SYS_ADMIN)",
				 strerror(-rc));
		else
			snprintf(err, errlen, "loading BPF programs: %s (run with -v for details)",
				 strerror(-rc));
		return rc;
	}
	return 0;
}

static int open_and_load(struct tracer *t, const struct tracer_opts *o, char *err, size_t errlen)
{
	t->skel = ipcprof_bpf__open();
	if (!t->skel) {
		int rc = -errno;

		snprintf(err, errlen, "opening BPF object: %s", strerror(-rc));
		return rc;
	}
	probe_plan_prepare(&t->probes, t->skel, o->probe_mode);
	configure(t, o);
	return load(t, err, errlen);
}

static int attach(struct tracer *t, char *err, size_t errlen)
{
	int rc = ipcprof_bpf__attach(t->skel);

	if (rc) {
		snprintf(err, errlen, "attaching tracepoints: %s", strerror(-rc));
		return rc;
	}
	probe_plan_attach(&t->probes, t->skel);
	rc = open_samplers(t, err, errlen);
	if (rc)
		return rc;
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), handle_event, t, NULL);
	if (!t->rb) {
		rc = -errno;
		snprintf(err, errlen, "creating ring buffer: %s", strerror(-rc));
		return rc;
	}
	t->gate = mmap(NULL, gate_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(t->skel->maps.fork_gate), 0);
	if (t->gate == MAP_FAILED) {
		t->gate = NULL;
		rc = -errno;
		snprintf(err, errlen, "mapping the fork gates: %s", strerror(-rc));
		return rc;
	}
	return 0;
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
		return -ENOMEM;
	}
	t->opts = *o;
	t->wd.fd = -1;
	verbose_print = o->verbose;
	libbpf_set_print(libbpf_print);

	heap_huge_begin(HEAP_HUGE_BYTES);
	/* kallsyms is read while libbpf opens and loads the object */
	ks_running = pthread_create(&ks_thread, NULL, read_kallsyms, &ks) == 0;
	if (!ks_running)
		read_kallsyms(&ks);
	rc = open_and_load(t, o, err, errlen);
	heap_huge_end();
	if (rc)
		goto fail;
	if (ks_running)
		pthread_join(ks_thread, NULL);
	ks_running = false;
	if (ks.n < 0) {
		rc = ks.n;
		snprintf(err, errlen, "reading /proc/kallsyms: %s", strerror(-rc));
		goto fail;
	}
	/* before the sampler exists: nothing reads them yet */
	memcpy(t->skel->bss->code_ranges, ks.ranges, (size_t)ks.n * sizeof(ks.ranges[0]));
	t->skel->bss->n_code_ranges = (__u32)ks.n;
	rc = attach(t, err, errlen);
	if (rc)
		goto fail;
	*out = t;
	return 0;
fail:
	if (ks_running) /* the job writes to this stack frame */
		pthread_join(ks_thread, NULL);
	tracer_close(t);
	return rc;
}

/* The BPF side's bitmap of traced TGIDs (see traced_bits), set through the
 * skeleton's memory-mapped .bss, atomically: BPF updates it concurrently. */
static void mark_traced(struct tracer *t, pid_t pid, bool on)
{
	__u64 *word, bit;

	if (pid < 0 || pid >= IPCPROF_TGID_LIMIT)
		return;
	word = &t->skel->bss->traced_bits[pid / 64];
	bit = 1ull << (pid % 64);
	if (on)
		__atomic_fetch_or(word, bit, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(word, ~bit, __ATOMIC_SEQ_CST);
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
	if (!rc)
		mark_traced(t, pid, true);
	if (rc)
		return -errno;
	rc = proc_tasks("/proc", pid, &tids);
	if (rc == -ENOENT) {
		/* gone between finding it and registering it: forget it */
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.traced), &key);
		mark_traced(t, pid, false);
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.procs), &key);
		return -ESRCH;
	}
	for (size_t i = 0; !rc && i < tids.n; i++) {
		struct thread_state ts = {.start_ns = now, .tgid = (__u32)pid};
		__u32 tid = (__u32)tids.pids[i];

		if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.threads), &tid, &ts, BPF_ANY))
			rc = -errno;
	}
	if (!rc && t->opts.thread_sample_hz)
		open_thread_samplers(t, pid, &tids);
	pid_list_free(&tids);
	return rc;
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
	if ((t->n_pp || t->n_py_pending) && timeout_ms > HOT_CHECK_MS)
		timeout_ms = HOT_CHECK_MS;
	/* our own poll around the ring buffer's epoll fd, so that a pidfd
	 * can end the wait the moment the command exits */
	if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	rc = ring_buffer__consume(t->rb);
	if (t->n_py_pending)
		tracer_retry_python(t, now_ns());
	if (now_ns() >= t->next_fold_ns) {
		tracer_fold_exited(t, now_ns());
		t->next_fold_ns = now_ns() + FOLD_EVERY_NS;
	}
	if (t->n_pp && now_ns() >= t->next_hot_check_ns) {
		uint64_t now = now_ns();
		__u64 exits = t->skel->bss->proc_exits;

		tracer_check_hot(t, now);
		if (now >= t->next_reap_ns || exits - t->exits_at_reap >= REAP_AT_EXITS) {
			tracer_reap_probes(t, false);
			t->next_reap_ns = now + REAP_EVERY_NS;
			t->exits_at_reap = exits;
		}
		t->next_hot_check_ns = now + HOT_CHECK_MS * 1000000ull;
	}
	return rc == -EINTR ? 0 : rc;
}

bool tracer_site_name(void *ctx, uint32_t site, char *where, size_t where_len, char *at,
		      size_t at_len)
{
	struct tracer *t = ctx;
	const struct call_site *c;

	if (!t || !t->skel || !site)
		return false;
	if (!t->site_names &&
	    !(t->site_names = site_names_new(bpf_map__fd(t->skel->maps.py_stacks),
					     bpf_map__fd(t->skel->maps.py_codes))))
		return false;
	c = site_names_get(t->site_names, site - 1);
	if (!c)
		return false;
	snprintf(where, where_len, "%s:%d in %s", c->file, c->line, c->function);
	snprintf(at, at_len, "%s:%d", path_base(c->file), c->line);
	return true;
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
	    .exact_fault = probe_plan_method(&t->probes, GROUP_FAULT) != METHOD_NONE,
	    .exact_fork = probe_plan_method(&t->probes, GROUP_FORK) != METHOD_NONE,
	    .exact_mmap = probe_plan_method(&t->probes, GROUP_MMAP) != METHOD_NONE,
	    .ipc_kernel = probe_plan_method(&t->probes, GROUP_KFN) != METHOD_NONE,
	};

	for (int f = 0; f < FAM_COUNT; f++)
		m.exact_copy[f] = probe_plan_copy_covers(&t->probes, f);
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

		if (bpf_program__fd(p) < 0 ||
		    bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			continue;
		tmp = grow_array(ids, (size_t)n, sizeof(*ids));
		if (!tmp)
			break;
		ids = tmp;
		ids[n++] = info.id;
	}
	*out = ids;
	return n;
}

/* None of these programs is loaded any more. */
static bool programs_gone(const __u32 *ids, int n)
{
	for (int i = 0; i < n; i++) {
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd >= 0) {
			close(fd);
			return false;
		}
	}
	return true;
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

	while (!programs_gone(ids, n) && now_ns() <= deadline)
		usleep(2000);
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
	tracer_reap_probes(t, true);
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
	if (t->opts.verbose && t->skel && t->skel->bss)
		fprintf(stderr,
			"ipcprof: forked children of probed processes: %llu found their "
			"uprobes ready, %llu waited for them\n",
			(unsigned long long)t->skel->bss->gate_passed,
			(unsigned long long)t->skel->bss->gate_stopped);
	free(t->perf_fds);
	if (t->skel)
		n_ids = loaded_prog_ids(t->skel, &ids);
	ipcprof_bpf__destroy(t->skel);
	t->skel = NULL;
	/* the syscall pair's frees wait for a lazy grace period (up to 250
	 * ms): wait for one now, while the reaper's threads still close the
	 * uprobe links (each waiting for grace periods of its own), instead
	 * of after them (~35 ms less for a traced Python, under strace); and
	 * once more if something freed after it still waits for one */
	if (!programs_gone(ids, n_ids))
		tasks_trace_sync();
	reaper_join(&t->reaper);
	if (!programs_gone(ids, n_ids))
		tasks_trace_sync();
	wait_programs_gone(ids, n_ids);
	/* a program still running while we detached may have held one more
	 * process: with the programs gone, this is the last word (the ring
	 * buffer's memory stays mapped until ring_buffer__free) */
	if (t->rb)
		ring_buffer__consume(t->rb);
	ring_buffer__free(t->rb);
	if (t->gate)
		munmap(t->gate, gate_bytes());
	watchdog_done(&t->wd); /* every hold answered */
	free(t->slices);
	site_names_free(t->site_names);
	free(t->py_pending);
	free(t->fproc);
	free(t->fchan);
	free(t->fseg);
	free(t->fpass);
	for (int i = 0; i < t->n_warnings; i++)
		free(t->warnings[i]);
	free(t->warnings);
	for (int i = 0; i < t->n_demoted; i++)
		free(t->demoted[i].module);
	free(t->demoted);
	free(ids);
	free(t);
}
