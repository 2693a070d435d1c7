// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * attach: the state of threads that were already off CPU when tracing
 * started. sched.bpf.h counts off-CPU time from a thread's switch out,
 * which for these happened before we were there: until they next run, their
 * time would fall into "other" (an idle server's workers: all of it). A
 * task iterator, run once after the targets are registered, marks each of
 * their sleeping threads off CPU since the start of tracing, and one that
 * sleeps inside a read or write on a pipe, FIFO or AF_UNIX socket as inside
 * that IPC call, so that its wake-up is blocked time and its bytes count.
 */
#ifndef __IPCPROF_SEED_BPF_H__
#define __IPCPROF_SEED_BPF_H__

#include "current.bpf.h"
#include "fdkind.bpf.h"

#if defined(__TARGET_ARCH_x86)
/* The syscall a sleeping task is in, from its saved user registers (what
 * /proc/PID/syscall shows); orig_ax is negative outside syscalls. */
static __always_inline void seed_syscall(struct task_struct *task, struct thread_state *t)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	long id = (long)BPF_CORE_READ(regs, orig_ax);
	__u8 kind;

	if (id < 0 || id >= IPCPROF_MAX_SYSCALLS)
		return;
	kind = sys_kinds[id];
	if (kind != SK_READ && kind != SK_WRITE && kind != SK_RECVMMSG && kind != SK_SENDMMSG &&
	    kind != SK_RECVFROM && kind != SK_SENDTO && kind != SK_RECVMSG && kind != SK_SENDMSG)
		return;
	if (file_classify_fd(task, (int)BPF_CORE_READ(regs, di), &t->ep) == IPC_NONE)
		return;
	/* an unconnected UDP socket's peer comes with each datagram */
	if (t->ep.kind == IPC_UDP && !t->ep.inet.dst_port)
		return;
	t->dir = kind == SK_READ || kind == SK_RECVMMSG || kind == SK_RECVFROM || kind == SK_RECVMSG
		     ? DIR_READ
		     : DIR_WRITE;
	t->mmsg = kind == SK_RECVMMSG || kind == SK_SENDMMSG;
	t->arg0 = BPF_CORE_READ(regs, si);
	t->sys_start = t->start_ns;
	t->off_ns = 0;
	t->copy_depth = t->copy_acc = 0;
	t->kfn_depth = t->kfn_acc = 0;
	t->sys_class = SYS_IPC;
	__sync_fetch_and_add(&seeded_in_ipc, 1);
}
#else
/* Elsewhere the syscall number lives in other registers: off-CPU time is
 * still seeded (as wait), IPC calls in flight are not. */
static __always_inline void seed_syscall(struct task_struct *task, struct thread_state *t)
{
}
#endif

SEC("iter/task")
int seed_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct thread_state *t;
	__u32 tid;

	if (!task || !tgid_traced(task->tgid))
		return 0;
	tid = task->pid;
	t = bpf_map_lookup_elem(&threads, &tid);
	/* a thread seen switching since registration has its state already */
	if (!t || t->off_start || t->sys_class != SYS_NONE || BPF_CORE_READ(task, on_cpu))
		return 0;
	t->off_start = t->start_ns;
	__sync_fetch_and_add(&seeded_off_cpu, 1);
	seed_syscall(task, t);
	return 0;
}

#endif /* __IPCPROF_SEED_BPF_H__ */
