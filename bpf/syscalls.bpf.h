// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* IPC, fork and shared-mapping syscalls: one sys_enter/sys_exit pair and a table. */
#ifndef __IPCPROF_SYSCALLS_BPF_H__
#define __IPCPROF_SYSCALLS_BPF_H__

#include "bits.bpf.h"
#include "current.bpf.h"
#include "fdkind.bpf.h"
#include "lifecycle.bpf.h"
#include "pyframes.bpf.h"
#include "shared.bpf.h"
#include "timeline.bpf.h"

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
	t->msg_pass = 0;
	t->peer_at_exit = 0;
	/* pages a syscall maps (populating, pinning) are not a fault's */
	t->fault_seg.tgid = 0;
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
	if (ipc_kind_flags(t->ep.kind) & KF_PEER_INODE) {
		/* a stream's sender is recorded at its first write after its
		 * fd was classified, not with an LRU update on every write */
		if (dir == DIR_WRITE && t->ep.peer_ino &&
		    (t->fdc.fresh || (ipc_kind_flags(t->ep.kind) & KF_DGRAM))) {
			bpf_map_update_elem(&sock_sender, &t->ep.peer_ino, &t->ep.ino, BPF_ANY);
			t->fdc.fresh = 0;
		} else if (dir == DIR_READ && !t->ep.peer_ino) {
			__u64 *sender = bpf_map_lookup_elem(&sock_sender, &t->ep.ino);

			if (sender)
				t->ep.peer_ino = *sender;
		}
	}
	/* which Python code made the call (0 unless a registered CPython);
	 * a Queue feeder's writes belong to the put() of what it pickled */
	t->ipc_site = t->handoff_site && dir == DIR_WRITE ? t->handoff_site : py_site(t->tgid);
	return t;
}

static __always_inline __u64 chan_ino(const struct thread_state *t)
{
	return chan_ino_of(&t->ep, t->dir);
}

/* Process tgid's end of the channel that endpoint ep carries in direction
 * dir, made if it is new; NULL when the map is full. */
static __always_inline struct chan_stats *chan_end_of(const struct ipc_endpoint *ep, __u8 dir,
						      __u32 tgid)
{
	struct chan_key key = {};
	struct chan_stats *cs, *z;
	__u32 zero = 0;

	key.dev = ep->dev;
	key.tgid = tgid;
	key.dir = dir;
	key.kind = ep->kind;
	key.ino = chan_ino_of(ep, dir);
	/* the hot path finds it; a new one is made from the zeroed scratch */
	cs = bpf_map_lookup_elem(&chans, &key);
	if (!cs && (z = bpf_map_lookup_elem(&zero_chan, &zero)))
		cs = lookup_or_init(&chans, &key, z);
	return cs;
}

static __always_inline void account_channel(struct thread_state *t, __u32 tgid, long ret, __u64 dur,
					    __u64 off)
{
	struct chan_stats *cs = chan_end_of(&t->ep, t->dir, tgid);

	if (!cs)
		return;
	cs->peer_ino = chan_peer_ino_of(&t->ep, t->dir);
	/* racy between threads, but only widens the span by one call */
	if (!cs->first_ns) {
		cs->first_ns = t->sys_start;
		if (ipc_kind_flags(t->ep.kind) & KF_FLOW)
			inet_flow_of(&cs->flow, &t->ep.inet, t->dir);
	}
	if (t->sys_start + dur > cs->last_ns)
		cs->last_ns = t->sys_start + dur;
	__sync_fetch_and_add(&cs->calls, 1);
	__sync_fetch_and_add(&cs->oncpu_ns, dur - off);
	__sync_fetch_and_add(&cs->blocked_ns, off);
	if (ret > 0) {
		__sync_fetch_and_add(&cs->bytes, ret);
		__sync_fetch_and_add(&cs->size_hist[log2_slot(ret) & (IPCPROF_HIST_SLOTS - 1)], 1);
	}
	if (t->msg_pass)
		__sync_fetch_and_add(&cs->fds_passed, t->msg_pass);
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
		e->chan_ino = chan_ino(t);
		e->chan_dev = t->ep.dev;
		e->chan_kind = t->ep.kind;
		e->dir = t->dir;
		e->site = t->ipc_site;
	}
	bpf_ringbuf_submit(e, 0);
}

/*
 * A datagram on an unconnected UDP socket: its peer is in the call's
 * sockaddr, which a send names now and a receive fills in by its return
 * (peer_at_exit). A peer on another host, or a send that names none (it
 * fails; sendmmsg's vector is not looked into), makes it not an IPC call.
 */
static __always_inline void datagram_peer(struct thread_state *t, void *uaddr)
{
	if (t->dir == DIR_READ) {
		t->arg1 = (__u64)uaddr;
		t->peer_at_exit = 1;
	} else if (!inet_msg_peer(&t->ep, uaddr)) {
		t->sys_class = SYS_NONE;
	}
}

/*
 * At the receive's return: is its datagram's peer on this host? recv() and
 * read() ask for no address, and the kernel frees the datagram elsewhere
 * (deferred to the CPU that made it) with no tracepoint here that names it:
 * then only a socket bound to loopback, which nothing outside this host can
 * reach, is known to hear a local peer (whose port the report matches from
 * the sender's side, user/aggregate.c).
 */
static __always_inline bool datagram_peer_local(struct thread_state *t, long ret)
{
	if (ret < 0)
		return false;
	if (t->arg1)
		return inet_msg_peer(&t->ep, (void *)t->arg1);
	return inet_addr_loopback(t->ep.inet.src_addr);
}

/* epoll_wait/epoll_pwait(2) (events[], maxevents), poll/ppoll (fds[],
 * nfds), select/pselect6 (readfds, nfds): a wait that may end because a
 * peer wrote. */
static __always_inline int poll_enter(__u64 vec, __u64 n, __u8 kind)
{
	struct thread_state *t = begin_syscall(current_thread(), SYS_POLL);

	if (t) {
		t->arg0 = vec;
		t->arg1 = n;
		t->poll_kind = kind;
	}
	return 0;
}

/* A ready descriptor that a local peer made ready: not a listening unix
 * socket (a new connection is not a peer's data), nor an unconnected UDP
 * socket that another host can reach (one bound to loopback only). */
static __always_inline bool ready_for_peer(const struct ipc_endpoint *ep)
{
	if (ep->kind == IPC_UNIX_STREAM)
		return ep->peer_ino != 0;
	if (ep->kind == IPC_UDP && !ep->inet.dst_port)
		return inet_addr_loopback(ep->inet.src_addr);
	return true;
}

/* The ready entries a wake-up looks at for an IPC descriptor. */
#define POLL_SCAN_MAX 16

/* select: readfds holds FD_SETSIZE (1024) descriptors */
#define SELECT_FDS 1024

struct poll_scan {
	struct thread_state *t;
	__u64 n; /* entries */
	struct ipc_endpoint ep;
	bool found;
};

/*
 * select: is the descriptor this thread last used for IPC (its fd cache)
 * among the readable ones? Only that one is looked at: scanning readfds
 * and classifying each set bit cost the verifier 40 ms more at every
 * start-up, for an interface event loops have left for poll and epoll.
 */
static __always_inline void select_ready(struct poll_scan *s)
{
	__u32 fd = (__u32)s->t->fdc.fd;
	__u64 word = 0;

	if (fd >= SELECT_FDS || fd >= s->t->arg1 || s->t->fdc.ep.kind == IPC_NONE ||
	    bpf_probe_read_user(&word, sizeof(word), (void *)(s->t->arg0 + (__u64)(fd / 64) * 8)))
		return;
	if (word >> (fd % 64) & 1) {
		s->ep = s->t->fdc.ep;
		s->found = ready_for_peer(&s->ep);
	}
}

/*
 * bpf_loop body: ready entry i. An epoll event carries the caller's data,
 * not the descriptor: it is read as one, which is how Python's selectors
 * and asyncio, Redis and libuv (Node.js) register them; a caller that keeps
 * a pointer there (nginx, PostgreSQL) names no IPC descriptor, and its wait
 * stays wait. A pollfd names its descriptor, and says whether it woke.
 */
static long poll_entry(__u32 i, void *arg)
{
	struct poll_scan *s = arg;
	int fd;

	if (i >= s->n) {
		return 1;
	} else if (s->t->poll_kind == POLL_EPOLL) {
		__u64 data = 0;

		if (bpf_probe_read_user(&data, sizeof(data),
					(void *)(s->t->arg0 +
						 (__u64)i * sizeof(struct epoll_event) +
						 offsetof(struct epoll_event, data))))
			return 1;
		fd = (int)(__u32)data;
	} else {
		struct pollfd pfd = {};

		if (bpf_probe_read_user(&pfd, sizeof(pfd),
					(void *)(s->t->arg0 + (__u64)i * sizeof(pfd))))
			return 1;
		if (!pfd.revents)
			return 0;
		fd = pfd.fd;
	}
	if (fd >= 0 && fd_classify(fd, &s->ep) != IPC_NONE && ready_for_peer(&s->ep)) {
		s->found = true;
		return 1;
	}
	return 0;
}

/*
 * The wait's end: off CPU until one of the ready descriptors was an IPC
 * endpoint is time blocked on it (an event loop waiting for its peer: the
 * process's poll_blocked_ns, and the channel it would read); otherwise it
 * is wait, as it always was. A timeout or a signal (ret <= 0) is wait.
 */
static __always_inline void poll_exit(struct thread_state *t, struct proc_stats *ps, __u32 tgid,
				      long ret, __u64 off)
{
	struct poll_scan s = {.t = t};
	struct chan_stats *cs;

	if (!off)
		return;
	if (ret > 0) {
		/* epoll: the first ret events; poll: revents tell; select:
		 * the bits set in readfds' first nfds */
		s.n = t->poll_kind == POLL_EPOLL ? (__u64)ret : t->arg1;
		if (s.n > POLL_SCAN_MAX)
			s.n = POLL_SCAN_MAX;
		if (t->poll_kind == POLL_SELECT)
			select_ready(&s);
		else
			bpf_loop(POLL_SCAN_MAX, poll_entry, &s, 0);
	}
	if (!s.found) {
		__sync_fetch_and_add(&ps->wait_ns, off);
		return;
	}
	__sync_fetch_and_add(&ps->poll_blocked_ns, off);
	cs = chan_end_of(&s.ep, DIR_READ, tgid);
	if (cs)
		__sync_fetch_and_add(&cs->poll_blocked_ns, off);
}

/* The hot case: this thread's own totals and its channel, no process
 * lookup. Returns the bytes moved (sendmmsg/recvmmsg: summed). */
static __always_inline long account_ipc(struct thread_state *t, __u32 tgid, long ret, __u64 dur,
					__u64 off)
{
	__u32 fam = ipc_family(t);

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
	return ret;
}

/* The IPC call's Python call site, if it has one. */
static __always_inline void account_site(struct thread_state *t, long ret, __u64 dur, __u64 off)
{
	struct site_stats *ss = site_stats_of(t->ipc_site);

	if (!ss)
		return;
	__sync_fetch_and_add(&ss->ipc_calls, 1);
	__sync_fetch_and_add(&ss->syscall_ns, dur - off);
	__sync_fetch_and_add(&ss->blocked_ns, off);
	if (ret > 0)
		__sync_fetch_and_add(t->dir == DIR_READ ? &ss->bytes_read : &ss->bytes_written,
				     ret);
}

/* fork, shared mmap, and the munmap/mremap of a shared mapping we saw. */
static __always_inline void account_fork_mmap(struct thread_state *t, struct proc_stats *ps,
					      __u32 tgid, long ret, __u64 dur)
{
	bool failed = ret < 0 && ret > -4096;

	switch (t->sys_class) {
	case SYS_FORK:
		if (ret > 0) { /* the parent's return; errors are not forks */
			__sync_fetch_and_add(&ps->fork_calls, 1);
			__sync_fetch_and_add(&ps->fork_ns, dur);
		}
		break;
	case SYS_MMAP: { /* and shmat (arg1 0: its length is the segment's) */
		__u64 len;

		if (failed)
			break;
		len = seg_mapped(tgid, (__u64)ret, t->arg1, dur, true, (__u32)t->arg0);
		__sync_fetch_and_add(&ps->mmap_calls, 1);
		__sync_fetch_and_add(&ps->mmap_bytes, len);
		__sync_fetch_and_add(&ps->mmap_ns, dur);
		add_shm(tgid, (__u64)ret, len);
		break;
	}
	case SYS_MUNMAP:
	case SYS_MREMAP: {
		struct shm_key k = {.tgid = tgid, .addr = t->arg0};

		if (failed)
			break;
		__sync_fetch_and_add(&ps->mmap_calls, 1);
		__sync_fetch_and_add(&ps->unmap_ns, dur);
		bpf_map_delete_elem(&shm, &k);
		if (t->sys_class == SYS_MREMAP) {
			seg_range_remove(tgid, t->arg0, 0);
			seg_mapped(tgid, (__u64)ret, t->arg1, dur, false, 0);
			add_shm(tgid, (__u64)ret, t->arg1);
		} else {
			seg_range_remove(tgid, t->arg0, t->arg1);
		}
		break;
	}
	}
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
		if (t->hold_start == HOLD_GATED) {
			pass_gate(tgid);
		} else {
			/* handle_wakeup_new did not run (attached after the fork) */
			if (t->hold_start == HOLD_ANNOUNCE)
				free_gate(tgid);
			ps = bpf_map_lookup_elem(&procs, &tgid);
			if (ps)
				hold_current(EV_FORK, tgid, ps->comm, true);
		}
		t->hold_start = HOLD_NONE;
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
		/* a datagram from another host (or from no one we know) */
		if (t->peer_at_exit && !datagram_peer_local(t, ret))
			goto out;
		if (t->msg_pass)
			t->msg_pass = ret >= 0 ? count_passed(t, chan_ino(t), tgid) : 0;
		ret = account_ipc(t, tgid, ret, dur, off);
		account_site(t, ret, dur, off); /* keeps ipc_site for the timeline */
	} else {
		ps = bpf_map_lookup_elem(&procs, &tgid);
		if (!ps)
			goto out;
		if (t->sys_class == SYS_POLL)
			poll_exit(t, ps, tgid, ret, off);
		else
			account_fork_mmap(t, ps, tgid, ret, dur);
	}
	if (timeline && t->sys_class != SYS_MUNMAP && t->sys_class != SYS_MREMAP &&
	    t->sys_class != SYS_POLL)
		emit_syscall(t, ret, now, off);
	/* Keep phases disjoint: a syscall inside the serializer is not
	 * serialization time. */
	if (t->ser_depth)
		t->ser_nested += dur;
out:
	t->sys_class = SYS_NONE;
	t->off_start = 0;
	t->ipc_site = 0;
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
	bpf_probe_read_user(&flags, sizeof(flags), (void *)PT_REGS_PARM1_SYSCALL(regs));
	return fork_syscall_enter(flags);
}

/*
 * The IPC syscalls: which fd and direction, one ipc_enter() for all (each
 * inlined classification of an fd costs the verifier the whole of
 * file_classify(): one call site instead of eight keeps start-up short),
 * then what the kind of call adds.
 */
static __always_inline int ipc_syscall_enter(struct pt_regs *regs, __u8 kind)
{
	int fd = (int)PT_REGS_PARM1_SYSCALL(regs);
	__u8 dir = DIR_READ;
	struct ipc_endpoint ep;
	struct thread_state *t;
	void *name = NULL;
	bool unconnected;

	switch (kind) {
	case SK_WRITE:
	case SK_SENDMMSG:
	case SK_SENDMSG:
	case SK_SENDTO:
		dir = DIR_WRITE;
		break;
	case SK_SPLICE: /* splice(fd_in, off_in, fd_out, ...): the IPC end decides */
		if (fd_classify((int)PT_REGS_PARM3_SYSCALL(regs), &ep) != IPC_NONE) {
			fd = (int)PT_REGS_PARM3_SYSCALL(regs);
			dir = DIR_WRITE;
		}
		break;
	case SK_VMSPLICE: /* user pages into a pipe it can write, or out of one */
		fd_classify(fd, &ep);
		dir = ep.writable ? DIR_WRITE : DIR_READ;
		break;
	}
	t = ipc_enter(fd, dir);
	if (!t)
		return 0;
	unconnected = t->ep.kind == IPC_UDP && !t->ep.inet.dst_port;
	switch (kind) {
	case SK_RECVMMSG: /* the vector: the bytes are summed at exit */
	case SK_SENDMMSG:
		t->mmsg = 1;
		t->arg0 = PT_REGS_PARM2_SYSCALL(regs);
		break;
	case SK_RECVMSG: /* on a unix socket, the SCM_RIGHTS descriptors */
	case SK_SENDMSG:
		if (ipc_kind_flags(t->ep.kind) & KF_RIGHTS) {
			t->msg_pass = 1;
			t->arg0 = PT_REGS_PARM2_SYSCALL(regs);
		} else if (unconnected) { /* the peer: the message's msg_name */
			struct user_msghdr *msg = (struct user_msghdr *)PT_REGS_PARM2_SYSCALL(regs);

			bpf_probe_read_user(&name, sizeof(name), &msg->msg_name);
		}
		break;
	case SK_RECVFROM: /* (fd, buf, len, flags, addr, addrlen) */
	case SK_SENDTO:
		name = (void *)PT_REGS_PARM5_SYSCALL(regs);
		break;
	}
	/* a datagram with no address (read, recvmmsg; a write fails) has the
	 * peer datagram_peer() allows it */
	if (unconnected)
		datagram_peer(t, name);
	return 0;
}

/* madvise(MADV_POPULATE_*), mlock and a private MAP_POPULATE map pages
 * without a fault exception: what they move in the RSS counters is not the
 * last shared fault's. */
static __always_inline int fault_window_close(void)
{
	struct thread_state *t = current_thread();

	if (t)
		t->fault_seg.tgid = 0;
	return 0;
}

/* A shared mapping in the making: mmap(addr, len, prot, flags, fd, off)
 * with MAP_SHARED (len) or shmat(id, addr, flags) (len 0: the segment's). */
static __always_inline int map_enter(__u64 len)
{
	struct thread_state *t = begin_syscall(current_thread(), SYS_MMAP);

	if (t) {
		t->arg1 = len;
		/* the Python line mapping it: taken here, where the stack has
		 * room for py_site()'s frame (the exit's path has not) */
		t->arg0 = py_site(t->tgid);
		/* MAP_POPULATE moves the RSS counter too: not a fault's */
		t->fault_seg.tgid = 0;
	}
	return 0;
}

static __always_inline int unmap_enter(__u8 cls, __u64 addr, __u64 new_len)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct shm_key k = {.tgid = tgid, .addr = addr};
	struct thread_state *t;

	if (!tgid_traced(tgid))
		return 0;
	/* a mapping it made, or part of any shared range it has (inherited
	 * over fork, or unmapped from its middle) */
	if (!bpf_map_lookup_elem(&shm, &k) &&
	    (cls != SYS_MUNMAP || !seg_range_overlaps(tgid, addr, new_len)))
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
 * at most one hash lookup. tp_btf hands over a typed pt_regs: on x86 its
 * fields are plain loads (PT_REGS_PARMn_SYSCALL; CO-RE relocated through
 * vmlinux.h), not bpf_probe_read_kernel() calls as in the _CORE_ variants
 * (libbpf still reads arm64's orig_x0 that way): an untraced task's read or
 * write costs ~90 ns here instead of ~125 ns (bpf_stats, docs/BENCHMARKS.md).
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(handle_sys_enter, struct pt_regs *regs, long id)
{
	if ((unsigned long)id >= IPCPROF_MAX_SYSCALLS)
		return 0;
	switch (sys_kinds[id]) {
	case SK_READ:
	case SK_WRITE:
	case SK_RECVMMSG:
	case SK_SENDMMSG:
	case SK_SPLICE:
	case SK_VMSPLICE:
	case SK_SENDMSG:
	case SK_RECVMSG:
	case SK_SENDTO:
	case SK_RECVFROM:
		return ipc_syscall_enter(regs, sys_kinds[id]);
	case SK_CLONE:
		return fork_syscall_enter(PT_REGS_PARM1_SYSCALL(regs));
	case SK_CLONE3:
		return clone3_enter(regs);
	case SK_FORK:
		return fork_syscall_enter(0);
	case SK_EPOLL_WAIT:
		return poll_enter(PT_REGS_PARM2_SYSCALL(regs), PT_REGS_PARM3_SYSCALL(regs),
				  POLL_EPOLL);
	case SK_POLL:
		return poll_enter(PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs),
				  POLL_FDS);
	case SK_SELECT: /* (nfds, readfds, writefds, exceptfds, timeout) */
		return poll_enter(PT_REGS_PARM2_SYSCALL(regs), PT_REGS_PARM1_SYSCALL(regs),
				  POLL_SELECT);
	case SK_MMAP:
		if (!(PT_REGS_PARM4_SYSCALL(regs) & MAP_SHARED))
			return fault_window_close();
		return map_enter(PT_REGS_PARM2_SYSCALL(regs));
	case SK_POPULATE:
		return fault_window_close();
	case SK_SHMAT:
		return map_enter(0);
	case SK_SHMDT: /* shmdt(addr): the mapping that starts there */
		return unmap_enter(SYS_MUNMAP, PT_REGS_PARM1_SYSCALL(regs), 0);
	case SK_MUNMAP:
		return unmap_enter(SYS_MUNMAP, PT_REGS_PARM1_SYSCALL(regs),
				   PT_REGS_PARM2_SYSCALL(regs));
	case SK_MREMAP: /* mremap(old_addr, old_len, new_len, flags, new_addr) */
		return unmap_enter(SYS_MREMAP, PT_REGS_PARM1_SYSCALL(regs),
				   PT_REGS_PARM3_SYSCALL(regs));
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
#if defined(__TARGET_ARCH_x86)
	/* the number is at hand on x86: skip the lookup for other syscalls */
	unsigned long id = regs->orig_ax;

	if (id >= IPCPROF_MAX_SYSCALLS || !sys_kinds[id])
		return 0;
#endif
	return sys_exit(ret);
}

#endif /* __IPCPROF_SYSCALLS_BPF_H__ */
