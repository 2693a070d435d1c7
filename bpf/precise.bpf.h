// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* Precise probes (fentry/fexit, kprobe fallback) where the kernel allows them. */
#ifndef __IPCPROF_PRECISE_BPF_H__
#define __IPCPROF_PRECISE_BPF_H__

#include "current.bpf.h"
#include "timeline.bpf.h"

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
	emit_slice(SL_COPY, t->copy_start, now, 0);
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

#endif /* __IPCPROF_PRECISE_BPF_H__ */
