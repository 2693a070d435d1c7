// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* Process and thread lifecycle: fork, exec, exit, and the holds for uprobes. */
#ifndef __IPCPROF_LIFECYCLE_BPF_H__
#define __IPCPROF_LIFECYCLE_BPF_H__

#include "current.bpf.h"
#include "pyframes.bpf.h"
#include "timeline.bpf.h"

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
	struct py_proc *pp;
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
		/* a forked interpreter keeps its parent's layout */
		pp = bpf_map_lookup_elem(&py_procs, &parent_tgid);
		if (pp)
			bpf_map_update_elem(&py_procs, &tgid, pp, BPF_ANY);
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
	__u64 now = bpf_ktime_get_ns();

	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return;
	}
	e->type = type;
	e->tgid = tgid;
	e->ts_ns = now;
	e->held = 0;
	e->pad = 0;
	bpf_probe_read_kernel(e->comm, sizeof(e->comm), comm);
	if (stop && !release_all) {
		e->held = 1;
		/* known to the watchdog before the stop can take effect; the
		 * value comes from the stack because 6.1's verifier refuses
		 * ring buffer memory as a map value argument */
		bpf_map_update_elem(&held, &tgid, &now, BPF_ANY);
		bpf_send_signal(SIGSTOP);
	}
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
	/* a new image: userspace looks for an interpreter in it again */
	bpf_map_delete_elem(&py_procs, &tgid);
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
			flush_fault_rate(tgid);
			__sync_fetch_and_add(&proc_exits, 1);
		}
	}
	bpf_map_delete_elem(&threads, &tid);
	return 0;
}

#endif /* __IPCPROF_LIFECYCLE_BPF_H__ */
