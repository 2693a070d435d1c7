// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* The current thread: its state, its process, what it is doing. */
#ifndef __IPCPROF_CURRENT_BPF_H__
#define __IPCPROF_CURRENT_BPF_H__

#include "maps.bpf.h"

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

/* The family of the thread's current channel: an index below FAM_COUNT. */
static __always_inline __u32 ipc_family(struct thread_state *t)
{
	__u32 fam = ipc_kind_family(t->ep.kind);

	return fam < FAM_COUNT ? fam : FAM_PIPE; /* for the verifier */
}

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

#endif /* __IPCPROF_CURRENT_BPF_H__ */
