// SPDX-License-Identifier: MIT
/*
 * ipcprof kernel side: follows a process tree and accounts the time its
 * threads spend serializing, inside IPC syscalls (on and off CPU), forking
 * and setting up shared mappings. Everything is aggregated here, per process
 * (procs, and per thread where only the thread writes) and per channel
 * (chans); the ring buffer carries only the exec and fork holds, which
 * userspace answers at once with the process's uprobes (and --timeline
 * slices).
 *
 * The core works with tp_btf, uprobes and perf events only: the kernels we
 * target may have neither kprobes nor BPF trampolines. Where they exist, the
 * precise probes at the end of this file time copies, faults, fork and mmap
 * exactly (userspace picks fentry, kprobe or nothing per function).
 *
 * Syscalls go through one tp_btf/sys_enter + sys_exit pair and a table of
 * syscall numbers: fewer links to attach and detach, and a cheaper exit for
 * the syscalls and tasks we do not trace than per-syscall tracepoints.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "fdkind.bpf.h"
#include "ipcprof.h"

#define MAX_PROCS   8192
#define MAX_THREADS 16384
#define MAX_CHANS   4096
/* fault handling sits ~10 frames under the leaf (clear_page <- ... <- exc_page_fault) */
#define STACK_DEPTH  24
#define CLONE_THREAD 0x00010000
#define MAP_SHARED   0x01
#define SIGSTOP	     19

/* Configuration, set by userspace between open and load. */
const volatile bool follow_children = true;
const volatile bool stop_on_exec = false;
const volatile __u64 post_fork_ns = 100000000;
const volatile bool timeline = false; /* stream slices for --timeline */
const volatile __u32 n_code_ranges = 0;
const volatile struct code_range code_ranges[IPCPROF_MAX_COPY_RANGES] = {};
const volatile __u8 sys_kinds[IPCPROF_MAX_SYSCALLS] = {}; /* enum sys_kind */

/* Health counters read by userspace at the end. */
__u64 lost_events = 0; /* ring buffer full */
__u64 map_full = 0;    /* an entry could not be created */
__u64 proc_exits = 0;  /* traced processes that exited: userspace folds them */

/* Set by userspace when tracing ends: hold no more processes. */
volatile __u32 release_all = 0;

/*
 * The traced processes again, as a bitmap over TGIDs (PID_MAX_LIMIT is
 * 2^22: 512 KiB). The syscall, scheduler and page-fault hooks run for every
 * task on the machine: they test a bit before any hash lookup, so that
 * untraced processes pay a few instructions. Set and cleared with the
 * `traced` map (userspace sets the bits of attached processes).
 */
__u64 traced_bits[IPCPROF_TGID_LIMIT / 64] = {};

/*
 * The word of `tgid`'s bit. The kernel never hands out a PID at or above
 * PID_MAX_LIMIT, so the mask only bounds the index for the verifier (a
 * range check instead would be optimized into a copy it cannot see).
 */
#define TGID_WORD(tgid) (((tgid) / 64) & (IPCPROF_TGID_LIMIT / 64 - 1))

static __always_inline bool tgid_traced(__u32 tgid)
{
	return traced_bits[TGID_WORD(tgid)] & (1ull << (tgid % 64));
}

static __always_inline void tgid_mark(__u32 tgid, bool on)
{
	if (on)
		__sync_fetch_and_or(&traced_bits[TGID_WORD(tgid)], 1ull << (tgid % 64));
	else
		__sync_fetch_and_and(&traced_bits[TGID_WORD(tgid)], ~(1ull << (tgid % 64)));
}

enum sys_class {
	SYS_NONE = 0,
	SYS_IPC,
	SYS_FORK,
	SYS_MMAP,
	SYS_MUNMAP,
	SYS_MREMAP,
};

enum ser_kind {
	SER_SERIALIZE = 0,
	SER_DESERIALIZE = 1,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct thread_state);
} threads SEC(".maps");

/*
 * Processes whose serializer was called too often for exact probes (each
 * uprobe pair costs microseconds): userspace removed their uprobes and
 * puts their serializer's code here, and the sampler counts user-mode
 * samples inside it instead.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct code_span);
} ser_code SEC(".maps");

/* Processes with serializer uprobes of their own (set by userspace). Their
 * forked children inherit the breakpoints but not the probes' PID filter,
 * so they are held until userspace has attached theirs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, __u8);
} probed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, struct proc_stats);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CHANS);
	__type(key, struct chan_key);
	__type(value, struct chan_stats);
} chans SEC(".maps");

/* Shared mappings created by traced processes, so munmap can be matched. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct shm_key);
	__type(value, __u64);
} shm SEC(".maps");

/*
 * Receiving socket inode -> sending socket inode, learnt from writes. A
 * reader whose peer has already closed can no longer reach the peer's inode
 * through its sock, but the bytes it reads still came from that peer.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} sock_sender SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* Scratch space for a new process entry (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proc_stats);
} new_proc SEC(".maps");

/* Scratch space for a new thread's state (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct thread_state);
} new_thread SEC(".maps");

/* Zero value used to create map entries (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct chan_stats);
} zero_chan SEC(".maps");

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	while (v > 1 && slot < IPCPROF_HIST_SLOTS - 1) {
		v >>= 1;
		slot++;
	}
	return slot;
}

/* --timeline: one interval of the current thread. */
static __always_inline struct slice_event *slice_begin(__u32 kind, __u64 start, __u64 end)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct slice_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = EV_SLICE;
	e->kind = kind;
	e->tgid = id >> 32;
	e->tid = (__u32)id;
	e->start_ns = start;
	e->end_ns = end;
	return e;
}

static __always_inline void emit_slice(__u32 kind, __u64 start, __u64 end)
{
	struct slice_event *e;

	if (!timeline)
		return;
	e = slice_begin(kind, start, end);
	if (e)
		bpf_ringbuf_submit(e, 0);
}

static __always_inline struct thread_state *current_thread(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	if (!tgid_traced(id >> 32))
		return NULL;
	return bpf_map_lookup_elem(&threads, &tid);
}

static __always_inline struct proc_stats *current_proc(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return bpf_map_lookup_elem(&procs, &tgid);
}

/* Inside a serializer call, as its uprobes see it. A process whose probes
 * were removed mid-call never sees that call return: its depth no longer
 * counts once its serializer is sampled instead. */
static __always_inline bool in_serializer(struct thread_state *t)
{
	return t->ser_depth && !bpf_map_lookup_elem(&ser_code, &t->tgid);
}

/* ---- process and thread lifecycle ---------------------------------- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = parent->tgid;
	__u32 tid = child->pid;
	__u32 tgid = child->tgid;
	__u64 now = bpf_ktime_get_ns();
	__u32 parent_tid = parent->pid;
	struct thread_state *pt, *ts;
	struct proc_stats *ps;
	__u32 zero = 0;
	__u8 one = 1;

	if (!tgid_traced(parent_tgid) || !bpf_map_lookup_elem(&traced, &parent_tgid))
		return 0;
	ts = bpf_map_lookup_elem(&new_thread, &zero);
	if (!ts)
		return 0;
	__builtin_memset(ts, 0, sizeof(*ts));
	ts->start_ns = now;
	ts->tgid = tgid;
	if (tgid == parent_tgid) {
		/* a new thread: same process, same post-fork window */
		pt = bpf_map_lookup_elem(&threads, &parent_tid);
		if (pt) {
			ts->proc_flags = pt->proc_flags;
			ts->proc_start_ns = pt->proc_start_ns;
		}
	} else {
		/* A new process: follow it unless told not to. */
		if (!follow_children)
			return 0;
		ps = bpf_map_lookup_elem(&new_proc, &zero);
		if (!ps)
			return 0;
		__builtin_memset(ps, 0, sizeof(*ps));
		ps->start_ns = now;
		ps->ppid = parent_tgid;
		ps->flags = PROC_FORKED;
		bpf_probe_read_kernel_str(ps->comm, sizeof(ps->comm), child->comm);
		if (bpf_map_update_elem(&procs, &tgid, ps, BPF_ANY) ||
		    bpf_map_update_elem(&traced, &tgid, &one, BPF_ANY)) {
			__sync_fetch_and_add(&map_full, 1);
			return 0;
		}
		tgid_mark(tgid, true);
		ts->first_run_ns = now;
		ts->proc_flags = PROC_FORKED;
		ts->proc_start_ns = now;
		ts->hold_start = bpf_map_lookup_elem(&probed, &parent_tgid) != NULL;
	}
	if (bpf_map_update_elem(&threads, &tid, ts, BPF_ANY))
		__sync_fetch_and_add(&map_full, 1);
	return 0;
}

/*
 * Tell userspace that the current process needs its uprobes and, with
 * `stop`, hold it before its next user instruction until userspace has
 * attached them and sends SIGCONT; otherwise the serializer could run
 * before its probes exist. The stop is queued before the event is visible,
 * so the SIGCONT answering the event can never come first. No event (ring
 * buffer full), no stop; after release_all, no stop either.
 */
static __always_inline void hold_current(__u32 type, __u32 tgid, const char *comm, bool stop)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return;
	}
	e->type = type;
	e->tgid = tgid;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_probe_read_kernel(e->comm, sizeof(e->comm), comm);
	if (stop && !release_all)
		bpf_send_signal(SIGSTOP);
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p)
{
	__u32 tgid = p->tgid;
	struct proc_stats *ps;

	if (!tgid_traced(tgid))
		return 0;
	ps = bpf_map_lookup_elem(&procs, &tgid);
	if (!ps || !bpf_map_lookup_elem(&traced, &tgid))
		return 0;
	bpf_probe_read_kernel_str(ps->comm, sizeof(ps->comm), p->comm);

	hold_current(EV_EXEC, tgid, ps->comm, stop_on_exec);
	return 0;
}

/* A thread's IPC totals into its process (other threads may fold at once). */
static __always_inline void fold_ipc(struct proc_stats *ps, const struct ipc_acc *a)
{
	__sync_fetch_and_add(&ps->ipc_calls, a->calls);
	__sync_fetch_and_add(&ps->ipc_oncpu_ns, a->oncpu_ns);
	__sync_fetch_and_add(&ps->ipc_blocked_ns, a->blocked_ns);
	__sync_fetch_and_add(&ps->bytes_read, a->bytes_read);
	__sync_fetch_and_add(&ps->bytes_written, a->bytes_written);
	__sync_fetch_and_add(&ps->copy_exact_ns, a->copy_exact_ns);
	__sync_fetch_and_add(&ps->ipc_kernel_ns, a->kernel_ns);
	for (int f = 0; f < FAM_COUNT; f++) {
		__sync_fetch_and_add(&ps->copy_exact_fam_ns[f], a->copy_exact_fam_ns[f]);
		__sync_fetch_and_add(&ps->ipc_oncpu_fam_ns[f], a->oncpu_fam_ns[f]);
	}
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	__u32 tid = p->pid;
	__u32 tgid = p->tgid;
	__u64 now = bpf_ktime_get_ns();
	struct thread_state *t = bpf_map_lookup_elem(&threads, &tid);
	struct proc_stats *ps;

	if (!t)
		return 0;
	ps = bpf_map_lookup_elem(&procs, &tgid);
	if (ps) {
		__sync_fetch_and_add(&ps->thread_ns, now - t->start_ns);
		for (int a = 0; a < ACT_COUNT; a++)
			for (int f = 0; f < FT_COUNT; f++)
				if (t->faults[a][f])
					__sync_fetch_and_add(&ps->faults[a][f], t->faults[a][f]);
		if (t->faults_kernel)
			__sync_fetch_and_add(&ps->faults_kernel, t->faults_kernel);
		if (t->ipc.calls)
			fold_ipc(ps, &t->ipc);
		/* signal->live drops to zero when the last thread exits. */
		if (BPF_CORE_READ(p, signal, live.counter) == 0) {
			ps->exit_ns = now;
			ps->exit_code = p->exit_code;
			bpf_probe_read_kernel_str(ps->comm, sizeof(ps->comm), p->comm);
			bpf_map_delete_elem(&traced, &tgid);
			tgid_mark(tgid, false);
			__sync_fetch_and_add(&proc_exits, 1);
		}
	}
	bpf_map_delete_elem(&threads, &tid);
	return 0;
}

/* sched_switch runs on the previous task: name the woken one explicitly */
static __always_inline void emit_blocked(struct task_struct *task, __u64 start, __u64 end)
{
	struct slice_event *e = slice_begin(SL_BLOCKED, start, end);

	if (!e)
		return;
	e->tgid = task->tgid;
	e->tid = task->pid;
	bpf_ringbuf_submit(e, 0);
}

/*
 * Off-CPU time of traced threads: inside an IPC syscall it is blocked time,
 * outside syscalls and serializers it is wait time.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(handle_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 prev_tid = prev->pid;
	__u32 next_tid = next->pid;
	bool prev_traced = tgid_traced(prev->tgid), next_traced = tgid_traced(next->tgid);
	struct proc_stats *ps;
	struct thread_state *t;
	__u32 tgid;
	__u64 now;

	if (!prev_traced && !next_traced)
		return 0;
	now = bpf_ktime_get_ns();
	if (prev_traced) {
		t = bpf_map_lookup_elem(&threads, &prev_tid);
		if (t)
			t->off_start = now;
	}
	if (!next_traced)
		return 0;
	t = bpf_map_lookup_elem(&threads, &next_tid);
	if (!t)
		return 0;
	tgid = next->tgid;
	if (t->off_start) {
		__u64 delta = now - t->off_start;

		if (t->sys_class == SYS_IPC && timeline)
			emit_blocked(next, t->off_start, now);
		t->off_start = 0;
		if (t->sys_class != SYS_NONE) {
			t->off_ns += delta; /* blocked inside a syscall we time */
		} else if (!in_serializer(t)) {
			/* waiting outside IPC (join, sleep, locks); time off CPU
			 * while serializing stays serialization time */
			ps = bpf_map_lookup_elem(&procs, &tgid);
			if (ps)
				__sync_fetch_and_add(&ps->wait_ns, delta);
		}
	}
	if (t->first_run_ns) {
		ps = bpf_map_lookup_elem(&procs, &tgid);
		if (ps)
			ps->first_run_ns = now - t->first_run_ns;
		t->first_run_ns = 0;
	}
	return 0;
}

/* ---- syscalls ------------------------------------------------------ */

static __always_inline struct thread_state *begin_syscall(struct thread_state *t, __u8 cls)
{
	if (!t)
		return NULL;
	t->sys_class = cls;
	t->sys_start = bpf_ktime_get_ns();
	t->off_start = 0;
	t->off_ns = 0;
	t->mmsg = 0;
	t->copy_depth = 0;
	t->copy_acc = 0;
	t->kfn_depth = 0;
	t->kfn_acc = 0;
	return t;
}

/* Returns the thread's state when fd is an IPC endpoint of a traced thread. */
static __always_inline struct thread_state *ipc_enter(int fd, __u8 dir)
{
	struct thread_state *t = current_thread();

	if (!t)
		return NULL;
	if (fd_classify_cached(&t->fdc, fd, &t->ep) == IPC_NONE) {
		t->sys_class = SYS_NONE;
		return NULL;
	}
	begin_syscall(t, SYS_IPC);
	t->dir = dir;
	if (t->ep.kind == IPC_UNIX_STREAM || t->ep.kind == IPC_UNIX_DGRAM) {
		/* a stream's sender is recorded at its first write after its
		 * fd was classified, not with an LRU update on every write */
		if (dir == DIR_WRITE && t->ep.peer_ino &&
		    (t->fdc.fresh || t->ep.kind == IPC_UNIX_DGRAM)) {
			bpf_map_update_elem(&sock_sender, &t->ep.peer_ino, &t->ep.ino, BPF_ANY);
			t->fdc.fresh = 0;
		} else if (dir == DIR_READ && !t->ep.peer_ino) {
			__u64 *sender = bpf_map_lookup_elem(&sock_sender, &t->ep.ino);

			if (sender)
				t->ep.peer_ino = *sender;
		}
	}
	return t;
}

static __always_inline void account_channel(struct thread_state *t, __u32 tgid, long ret, __u64 dur,
					    __u64 off)
{
	struct chan_key key = {};
	struct chan_stats *cs;
	__u32 zero = 0;

	key.dev = t->ep.dev;
	key.tgid = tgid;
	key.dir = t->dir;
	key.kind = t->ep.kind;
	/* A socket channel is named after its sending end, so both ends'
	 * records of one flow of bytes meet under one key. */
	if (t->dir == DIR_READ && t->ep.peer_ino)
		key.ino = t->ep.peer_ino;
	else
		key.ino = t->ep.ino;

	cs = bpf_map_lookup_elem(&chans, &key);
	if (!cs) {
		struct chan_stats *z = bpf_map_lookup_elem(&zero_chan, &zero);

		if (!z)
			return;
		/* NOEXIST: another thread may have created it meanwhile */
		bpf_map_update_elem(&chans, &key, z, BPF_NOEXIST);
		cs = bpf_map_lookup_elem(&chans, &key);
		if (!cs) {
			__sync_fetch_and_add(&map_full, 1);
			return;
		}
	}
	if (t->dir == DIR_READ)
		cs->peer_ino = t->ep.peer_ino ? t->ep.ino : 0;
	else
		cs->peer_ino = t->ep.peer_ino;
	/* racy between threads, but only widens the span by one call */
	if (!cs->first_ns)
		cs->first_ns = t->sys_start;
	if (t->sys_start + dur > cs->last_ns)
		cs->last_ns = t->sys_start + dur;
	__sync_fetch_and_add(&cs->calls, 1);
	__sync_fetch_and_add(&cs->oncpu_ns, dur - off);
	__sync_fetch_and_add(&cs->blocked_ns, off);
	if (ret > 0) {
		__sync_fetch_and_add(&cs->bytes, ret);
		__sync_fetch_and_add(&cs->size_hist[log2_slot(ret) & (IPCPROF_HIST_SLOTS - 1)], 1);
	}
	__sync_fetch_and_add(&cs->latency_hist[log2_slot(dur) & (IPCPROF_HIST_SLOTS - 1)], 1);
}

/* sendmmsg/recvmmsg return a message count; the bytes are in msg_len. */
static __always_inline long mmsg_bytes(struct thread_state *t, long ret)
{
	struct mmsghdr *vec = (struct mmsghdr *)t->arg0;
	long total = 0;
	__u32 len;

	for (int i = 0; i < 64; i++) {
		if (i >= ret)
			break;
		len = 0;
		bpf_probe_read_user(&len, sizeof(len), &vec[i].msg_len);
		total += len;
	}
	return total;
}

static __always_inline __u32 ipc_family(struct thread_state *t)
{
	return t->ep.kind == IPC_PIPE || t->ep.kind == IPC_FIFO ? FAM_PIPE : FAM_SOCK;
}

static __always_inline void add_shm(__u32 tgid, __u64 addr, __u64 len)
{
	struct shm_key k = {.tgid = tgid, .addr = addr};

	if (bpf_map_update_elem(&shm, &k, &len, BPF_ANY))
		__sync_fetch_and_add(&map_full, 1);
}

static __always_inline void emit_syscall(struct thread_state *t, long ret, __u64 now, __u64 off)
{
	__u32 kind = t->sys_class == SYS_IPC	? SL_IPC
		     : t->sys_class == SYS_FORK ? SL_FORK
						: SL_MMAP;
	struct slice_event *e = slice_begin(kind, t->sys_start, now);

	if (!e)
		return;
	e->ret = ret;
	e->off_ns = off;
	if (kind == SL_IPC) {
		/* the same channel key as account_channel() */
		e->chan_ino = t->dir == DIR_READ && t->ep.peer_ino ? t->ep.peer_ino : t->ep.ino;
		e->chan_dev = t->ep.dev;
		e->chan_kind = t->ep.kind;
		e->dir = t->dir;
	}
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int sys_exit(long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct thread_state *t = current_thread();
	struct proc_stats *ps;
	__u64 now, dur, off;

	if (!t)
		return 0;
	if (t->hold_start) {
		/* the child's return from fork: its first step to user mode */
		t->hold_start = 0;
		ps = bpf_map_lookup_elem(&procs, &tgid);
		if (ps)
			hold_current(EV_FORK, tgid, ps->comm, true);
	}
	if (t->sys_class == SYS_NONE)
		return 0;
	now = bpf_ktime_get_ns();
	dur = now - t->sys_start;
	off = t->off_ns;
	if (t->off_start) /* should not happen: we are on CPU now */
		off += now - t->off_start;
	if (off > dur)
		off = dur;
	if (t->sys_class == SYS_IPC) {
		/* the hot case: this thread's own totals, no process lookup */
		__u32 fam = ipc_family(t) & 1;

		if (t->mmsg && ret > 0)
			ret = mmsg_bytes(t, ret);
		t->ipc.calls++;
		t->ipc.oncpu_ns += dur - off;
		t->ipc.blocked_ns += off;
		if (ret > 0) {
			if (t->dir == DIR_READ)
				t->ipc.bytes_read += ret;
			else
				t->ipc.bytes_written += ret;
		}
		t->ipc.copy_exact_ns += t->copy_acc;
		t->ipc.copy_exact_fam_ns[fam] += t->copy_acc;
		t->ipc.oncpu_fam_ns[fam] += dur - off;
		t->ipc.kernel_ns += t->kfn_acc;
		account_channel(t, tgid, ret, dur, off);
		goto done;
	}
	ps = bpf_map_lookup_elem(&procs, &tgid);
	if (!ps)
		goto out;

	switch (t->sys_class) {
	case SYS_FORK:
		if (ret > 0) { /* the parent's return; errors are not forks */
			__sync_fetch_and_add(&ps->fork_calls, 1);
			__sync_fetch_and_add(&ps->fork_ns, dur);
		}
		break;
	case SYS_MMAP:
		if (ret < 0 && ret > -4096)
			break;
		__sync_fetch_and_add(&ps->mmap_calls, 1);
		__sync_fetch_and_add(&ps->mmap_bytes, t->arg1);
		__sync_fetch_and_add(&ps->mmap_ns, dur);
		add_shm(tgid, (__u64)ret, t->arg1);
		break;
	case SYS_MUNMAP:
	case SYS_MREMAP: {
		struct shm_key k = {.tgid = tgid, .addr = t->arg0};

		if (ret < 0 && ret > -4096)
			break;
		__sync_fetch_and_add(&ps->mmap_calls, 1);
		__sync_fetch_and_add(&ps->unmap_ns, dur);
		bpf_map_delete_elem(&shm, &k);
		if (t->sys_class == SYS_MREMAP)
			add_shm(tgid, (__u64)ret, t->arg1);
		break;
	}
	}
done:
	if (timeline && t->sys_class != SYS_MUNMAP && t->sys_class != SYS_MREMAP)
		emit_syscall(t, ret, now, off);
	/* Keep phases disjoint: a syscall inside the serializer is not
	 * serialization time. */
	if (t->ser_depth)
		t->ser_nested += dur;
out:
	t->sys_class = SYS_NONE;
	t->off_start = 0;
	return 0;
}

/* sendmmsg/recvmmsg: remember the vector, the bytes are summed at exit. */
static __always_inline int mmsg_enter(struct pt_regs *regs, __u8 dir)
{
	struct thread_state *t = ipc_enter((int)PT_REGS_PARM1_CORE_SYSCALL(regs), dir);

	if (t) {
		t->mmsg = 1;
		t->arg0 = PT_REGS_PARM2_CORE_SYSCALL(regs);
	}
	return 0;
}

/* splice(fd_in, off_in, fd_out, off_out, len, flags): the IPC end decides. */
static __always_inline int splice_enter(struct pt_regs *regs)
{
	int fd_out = (int)PT_REGS_PARM3_CORE_SYSCALL(regs);
	struct ipc_endpoint ep;

	if (fd_classify(fd_out, &ep) != IPC_NONE)
		ipc_enter(fd_out, DIR_WRITE);
	else
		ipc_enter((int)PT_REGS_PARM1_CORE_SYSCALL(regs), DIR_READ);
	return 0;
}

/* vmsplice moves user pages into a pipe it can write, or out of one. */
static __always_inline int vmsplice_enter(struct pt_regs *regs)
{
	int fd = (int)PT_REGS_PARM1_CORE_SYSCALL(regs);
	struct ipc_endpoint ep;

	fd_classify(fd, &ep);
	ipc_enter(fd, ep.writable ? DIR_WRITE : DIR_READ);
	return 0;
}

static __always_inline int fork_syscall_enter(__u64 flags)
{
	/* Threads are not process creation; their lifetime is tracked anyway. */
	if (flags & CLONE_THREAD)
		return 0;
	begin_syscall(current_thread(), SYS_FORK);
	return 0;
}

static __always_inline int clone3_enter(struct pt_regs *regs)
{
	__u64 flags = 0;

	/* struct clone_args starts with its __u64 flags */
	bpf_probe_read_user(&flags, sizeof(flags), (void *)PT_REGS_PARM1_CORE_SYSCALL(regs));
	return fork_syscall_enter(flags);
}

/* mmap(addr, len, prot, flags, fd, off): only shared mappings are IPC. */
static __always_inline int mmap_syscall_enter(struct pt_regs *regs)
{
	struct thread_state *t;

	if (!(PT_REGS_PARM4_CORE_SYSCALL(regs) & MAP_SHARED))
		return 0;
	t = begin_syscall(current_thread(), SYS_MMAP);
	if (t)
		t->arg1 = PT_REGS_PARM2_CORE_SYSCALL(regs);
	return 0;
}

static __always_inline int unmap_enter(__u8 cls, __u64 addr, __u64 new_len)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct shm_key k = {.tgid = tgid, .addr = addr};
	struct thread_state *t;

	if (!tgid_traced(tgid) || !bpf_map_lookup_elem(&shm, &k))
		return 0;
	t = begin_syscall(current_thread(), cls);
	if (t) {
		t->arg0 = addr;
		t->arg1 = new_len;
	}
	return 0;
}

/*
 * Every syscall of every task passes here, so the common case (a syscall
 * we do not time, or an untraced task) must leave after a table load and
 * at most one hash lookup.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(handle_sys_enter, struct pt_regs *regs, long id)
{
	if ((unsigned long)id >= IPCPROF_MAX_SYSCALLS)
		return 0;
	switch (sys_kinds[id]) {
	case SK_READ:
		ipc_enter((int)PT_REGS_PARM1_CORE_SYSCALL(regs), DIR_READ);
		return 0;
	case SK_WRITE:
		ipc_enter((int)PT_REGS_PARM1_CORE_SYSCALL(regs), DIR_WRITE);
		return 0;
	case SK_RECVMMSG:
		return mmsg_enter(regs, DIR_READ);
	case SK_SENDMMSG:
		return mmsg_enter(regs, DIR_WRITE);
	case SK_SPLICE:
		return splice_enter(regs);
	case SK_VMSPLICE:
		return vmsplice_enter(regs);
	case SK_CLONE:
		return fork_syscall_enter(PT_REGS_PARM1_CORE_SYSCALL(regs));
	case SK_CLONE3:
		return clone3_enter(regs);
	case SK_FORK:
		return fork_syscall_enter(0);
	case SK_MMAP:
		return mmap_syscall_enter(regs);
	case SK_MUNMAP:
		return unmap_enter(SYS_MUNMAP, PT_REGS_PARM1_CORE_SYSCALL(regs), 0);
	case SK_MREMAP: /* mremap(old_addr, old_len, new_len, flags, new_addr) */
		return unmap_enter(SYS_MREMAP, PT_REGS_PARM1_CORE_SYSCALL(regs),
				   PT_REGS_PARM3_CORE_SYSCALL(regs));
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
#if defined(__TARGET_ARCH_x86)
	/* the number is at hand on x86: skip the lookup for other syscalls */
	unsigned long id = BPF_CORE_READ(regs, orig_ax);

	if (id >= IPCPROF_MAX_SYSCALLS || !sys_kinds[id])
		return 0;
#endif
	return sys_exit(ret);
}

/* ---- serializers (uprobes) ----------------------------------------- */

static __always_inline int ser_enter(__u32 kind)
{
	struct thread_state *t = current_thread();

	if (!t)
		return 0;
	if (t->ser_depth++ == 0) {
		t->ser_kind = kind;
		t->ser_start = bpf_ktime_get_ns();
		t->ser_nested = 0;
	}
	return 0;
}

static __always_inline int ser_exit(void)
{
	struct thread_state *t = current_thread();
	struct proc_stats *ps;
	__u64 dur, now;

	/* depth 0: we attached while the call was already running */
	if (!t || t->ser_depth == 0)
		return 0;
	if (--t->ser_depth)
		return 0;
	ps = current_proc();
	if (!ps)
		return 0;
	now = bpf_ktime_get_ns();
	emit_slice(t->ser_kind == SER_SERIALIZE ? SL_SERIALIZE : SL_DESERIALIZE, t->ser_start, now);
	dur = now - t->ser_start;
	dur = dur > t->ser_nested ? dur - t->ser_nested : 0;
	if (t->ser_kind == SER_SERIALIZE) {
		__sync_fetch_and_add(&ps->serialize_ns, dur);
		__sync_fetch_and_add(&ps->serialize_calls, 1);
	} else {
		__sync_fetch_and_add(&ps->deserialize_ns, dur);
		__sync_fetch_and_add(&ps->deserialize_calls, 1);
	}
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(serialize_enter)
{
	return ser_enter(SER_SERIALIZE);
}

SEC("uretprobe")
int BPF_KRETPROBE(serialize_exit)
{
	return ser_exit();
}

SEC("uprobe")
int BPF_KPROBE(deserialize_enter)
{
	return ser_enter(SER_DESERIALIZE);
}

SEC("uretprobe")
int BPF_KRETPROBE(deserialize_exit)
{
	return ser_exit();
}

/*
 * The uprobe_multi flavour (6.6+; userspace sets the attach type): one link
 * per file and process for all its entry points, the direction in each
 * offset's cookie. Its links detach without the perf-event mutex, so a
 * process's probes go in ~20 ms rather than ~55 ms a probe one after
 * another.
 */
SEC("uprobe")
int BPF_KPROBE(ser_multi_enter)
{
	return ser_enter((__u32)bpf_get_attach_cookie(ctx));
}

SEC("uretprobe")
int BPF_KRETPROBE(ser_multi_exit)
{
	return ser_exit();
}

/* ---- page faults and sampling ------------------------------------ */

static __always_inline __u32 activity(struct thread_state *t)
{
	if (t->sys_class == SYS_IPC)
		return ACT_IPC;
	if (t->ser_depth && in_serializer(t))
		return t->ser_kind == SER_SERIALIZE ? ACT_SERIALIZE : ACT_DESERIALIZE;
	if ((t->proc_flags & PROC_FORKED) && bpf_ktime_get_ns() - t->proc_start_ns < post_fork_ns)
		return ACT_POST_FORK;
	return ACT_OTHER;
}

/* The current thread's state and its process's totals, if traced. */
static __always_inline bool current_traced(struct thread_state **t, struct proc_stats **ps)
{
	*t = current_thread();
	if (!*t)
		return false;
	*ps = current_proc();
	return *ps != NULL;
}

/* Every page fault of every task passes here: one lookup, no atomics. */
static __always_inline int count_fault(unsigned long error_code, bool kernel)
{
	struct thread_state *t = current_thread();
	__u32 act, type;

	if (!t)
		return 0;
	act = activity(t);
	/* bit 0: the page was present (protection fault); bit 1: a write */
	if (!(error_code & 1))
		type = FT_NOT_PRESENT;
	else if (error_code & 2)
		type = FT_COW;
	else
		type = FT_OTHER;
	if (act < ACT_COUNT && type < FT_COUNT)
		t->faults[act][type]++;
	if (kernel)
		t->faults_kernel++;
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return count_fault(error_code, false);
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(fault_kernel, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return count_fault(error_code, true);
}

/*
 * Binary search of the ranges (sorted by start, disjoint): 5 steps per frame
 * instead of a scan of all 32, which also cut the verifier's work on this
 * program (and ipcprof's start-up) by tens of milliseconds.
 */
static __always_inline __u32 classify_ip(__u64 ip)
{
	__u32 lo = 0, hi = n_code_ranges;

	if (hi > IPCPROF_MAX_COPY_RANGES)
		hi = IPCPROF_MAX_COPY_RANGES;
	for (int step = 0; step < 6 && lo < hi; step++) {
		__u32 mid = (lo + hi) / 2;

		if (mid >= IPCPROF_MAX_COPY_RANGES)
			return 0;
		if (ip < code_ranges[mid].start)
			hi = mid;
		else if (ip >= code_ranges[mid].end)
			lo = mid + 1;
		else
			return code_ranges[mid].cls;
	}
	return 0;
}

/*
 * A cpu-clock sample of a traced thread. The innermost known kernel frame
 * says whether it was copying (counted inside IPC syscalls only) or handling
 * a page fault (counted against what the thread was doing). Userspace turns
 * these shares into shares of exactly measured times.
 */
struct kstack {
	__u64 ip[STACK_DEPTH];
};

/* One sample's kernel stack (too big for the BPF stack next to the rest). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kstack);
} kstack_scratch SEC(".maps");

struct classify_ctx {
	__u32 n; /* frames in kstack_scratch */
	__u32 cls;
};

/* bpf_loop body: the verifier checks it once, not once per frame. */
static long classify_frame(__u32 i, void *arg)
{
	struct classify_ctx *c = arg;
	__u32 zero = 0;
	struct kstack *st;

	st = bpf_map_lookup_elem(&kstack_scratch, &zero);
	if (!st || i >= c->n)
		return 1;
	barrier_var(i); /* bound the register that indexes, not a copy */
	if (i >= STACK_DEPTH)
		return 1;
	c->cls = classify_ip(st->ip[i]);
	return c->cls ? 1 : 0;
}

SEC("perf_event")
int sample_cpu(struct bpf_perf_event_data *ctx)
{
	struct classify_ctx c = {};
	struct thread_state *t;
	struct proc_stats *ps;
	struct kstack *st;
	__u32 act, zero = 0;
	long n;

	if (!current_traced(&t, &ps))
		return 0;
	act = activity(t);
	__sync_fetch_and_add(&ps->samples_total, 1);
	if (act == ACT_IPC) {
		__sync_fetch_and_add(&ps->samples_ipc, 1);
		__sync_fetch_and_add(&ps->samples_ipc_fam[ipc_family(t) & 1], 1);
	}
	/* user addresses are the lower half of the 64-bit address space */
	if ((long)PT_REGS_IP(&ctx->regs) >= 0) {
		__u64 ip = PT_REGS_IP(&ctx->regs);
		struct code_span *sc = bpf_map_lookup_elem(&ser_code, &t->tgid);

		if (sc && ip >= sc->start && ip < sc->end)
			__sync_fetch_and_add(&ps->ser_ip_samples, 1);
		else if (act < ACT_COUNT)
			__sync_fetch_and_add(&ps->user_samples[act], 1);
		return 0;
	}
	st = bpf_map_lookup_elem(&kstack_scratch, &zero);
	if (!st)
		return 0;
	n = bpf_get_stack(ctx, st->ip, sizeof(st->ip), 0);
	if (n <= 0)
		return 0;
	c.n = (__u32)(n / sizeof(__u64));
	/* the innermost known frame decides */
	bpf_loop(STACK_DEPTH, classify_frame, &c, 0);
	if (c.cls == CODE_FAULT) {
		/* a fault taken while copying is fault time, not copy */
		if (act < ACT_COUNT)
			__sync_fetch_and_add(&ps->fault_samples[act], 1);
	} else if (c.cls == CODE_COPY && act == ACT_IPC) {
		__sync_fetch_and_add(&ps->samples_copy, 1);
		__sync_fetch_and_add(&ps->samples_copy_fam[ipc_family(t) & 1], 1);
	}
	return 0;
}

/* ---- precise probes: fentry/fexit, kprobe/kretprobe fallback -------
 *
 * Userspace decides per function, by really trying, whether it gets an
 * fentry/fexit pair (retargeted with bpf_program__set_attach_target), the
 * generic kprobe pair, or nothing (the sampled estimate then stands). Every
 * flavour calls the same bodies below.
 */

/* A user-copy routine inside an IPC syscall; nested copies count once and
 * faults taken while copying are fault time. */
static __always_inline int copy_enter(void)
{
	struct thread_state *t = current_thread();

	if (!t || t->sys_class != SYS_IPC)
		return 0;
	if (t->copy_depth++ == 0) {
		t->copy_start = bpf_ktime_get_ns();
		t->copy_fault = 0;
	}
	return 0;
}

static __always_inline int copy_exit(void)
{
	struct thread_state *t = current_thread();
	__u64 dur, now;

	if (!t || !t->copy_depth || --t->copy_depth)
		return 0;
	now = bpf_ktime_get_ns();
	emit_slice(SL_COPY, t->copy_start, now);
	dur = now - t->copy_start;
	t->copy_acc += dur > t->copy_fault ? dur - t->copy_fault : 0;
	return 0;
}

/* handle_mm_fault: exact fault time, booked to what the thread was doing. */
static __always_inline int fault_enter(void)
{
	struct thread_state *t = current_thread();

	if (!t)
		return 0;
	if (t->fault_depth++ == 0) {
		t->fault_start = bpf_ktime_get_ns();
		t->fault_act = activity(t);
	}
	return 0;
}

static __always_inline int fault_exit(void)
{
	struct thread_state *t = current_thread();
	struct proc_stats *ps;
	__u32 act;
	__u64 dur;

	if (!t || !t->fault_depth || --t->fault_depth)
		return 0;
	dur = bpf_ktime_get_ns() - t->fault_start;
	if (t->copy_depth)
		t->copy_fault += dur;
	ps = current_proc();
	act = t->fault_act;
	if (ps && act < ACT_COUNT)
		__sync_fetch_and_add(&ps->fault_exact_ns[act], dur);
	return 0;
}

/* pipe_read/pipe_write, unix_*_sendmsg/recvmsg: time in the IPC code. */
static __always_inline int kfn_enter(void)
{
	struct thread_state *t = current_thread();

	if (t && t->sys_class == SYS_IPC && t->kfn_depth++ == 0)
		t->kfn_start = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int kfn_exit(void)
{
	struct thread_state *t = current_thread();

	if (t && t->kfn_depth && --t->kfn_depth == 0)
		t->kfn_acc += bpf_ktime_get_ns() - t->kfn_start;
	return 0;
}

/* kernel_clone / do_mmap inside the fork and shared-mmap syscalls. */
static __always_inline int kcall_enter(__u8 cls)
{
	struct thread_state *t = current_thread();

	if (t && t->sys_class == cls && t->kfn_depth++ == 0)
		t->kfn_start = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int kcall_exit(__u8 cls)
{
	struct thread_state *t = current_thread();
	struct proc_stats *ps;

	if (!t || t->sys_class != cls || !t->kfn_depth || --t->kfn_depth)
		return 0;
	ps = current_proc();
	if (ps)
		__sync_fetch_and_add(cls == SYS_FORK ? &ps->fork_kernel_ns : &ps->mmap_kernel_ns,
				     bpf_ktime_get_ns() - t->kfn_start);
	return 0;
}

static __always_inline int fork_enter(void)
{
	return kcall_enter(SYS_FORK);
}
static __always_inline int fork_exit(void)
{
	return kcall_exit(SYS_FORK);
}
static __always_inline int mmap_enter(void)
{
	return kcall_enter(SYS_MMAP);
}
static __always_inline int mmap_exit(void)
{
	return kcall_exit(SYS_MMAP);
}

/* fentry/fexit slots; the section names are defaults, userspace retargets */
#define FENTRY_SLOT(group, n, target)                                                              \
	SEC("fentry/" #target)                                                                     \
	int BPF_PROG(group##_fentry_##n)                                                           \
	{                                                                                          \
		return group##_enter();                                                            \
	}                                                                                          \
	SEC("fexit/" #target)                                                                      \
	int BPF_PROG(group##_fexit_##n)                                                            \
	{                                                                                          \
		return group##_exit();                                                             \
	}

FENTRY_SLOT(copy, 0, copy_page_to_iter)
FENTRY_SLOT(copy, 1, copy_page_from_iter)
FENTRY_SLOT(copy, 2, _copy_to_iter)
FENTRY_SLOT(copy, 3, _copy_from_iter)
FENTRY_SLOT(copy, 4, _copy_to_user)
FENTRY_SLOT(copy, 5, _copy_from_user)
FENTRY_SLOT(copy, 6, skb_copy_datagram_iter)
FENTRY_SLOT(copy, 7, skb_copy_datagram_from_iter)
FENTRY_SLOT(kfn, 0, pipe_read)
FENTRY_SLOT(kfn, 1, pipe_write)
FENTRY_SLOT(kfn, 2, unix_stream_sendmsg)
FENTRY_SLOT(kfn, 3, unix_stream_recvmsg)
FENTRY_SLOT(kfn, 4, unix_dgram_sendmsg)
FENTRY_SLOT(kfn, 5, unix_dgram_recvmsg)
FENTRY_SLOT(fault, 0, handle_mm_fault)
FENTRY_SLOT(fork, 0, kernel_clone)
FENTRY_SLOT(mmap, 0, do_mmap)

/* kprobe flavour: one program pair per group, attached to each function */
#define KPROBE_PAIR(group)                                                                         \
	SEC("kprobe")                                                                              \
	int BPF_KPROBE(group##_kprobe)                                                             \
	{                                                                                          \
		return group##_enter();                                                            \
	}                                                                                          \
	SEC("kretprobe")                                                                           \
	int BPF_KRETPROBE(group##_kretprobe)                                                       \
	{                                                                                          \
		return group##_exit();                                                             \
	}

KPROBE_PAIR(copy)
KPROBE_PAIR(kfn)
KPROBE_PAIR(fault)
KPROBE_PAIR(fork)
KPROBE_PAIR(mmap)

char LICENSE[] SEC("license") = "Dual MIT/GPL";
