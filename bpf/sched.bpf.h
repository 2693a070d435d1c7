// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* Off-CPU time of traced threads (sched_switch). */
#ifndef __IPCPROF_SCHED_BPF_H__
#define __IPCPROF_SCHED_BPF_H__

#include "current.bpf.h"
#include "timeline.bpf.h"

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

#endif /* __IPCPROF_SCHED_BPF_H__ */
