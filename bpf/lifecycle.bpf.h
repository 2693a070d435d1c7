// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* Process and thread lifecycle: fork, exec, exit, and the holds for uprobes. */
#ifndef __IPCPROF_LIFECYCLE_BPF_H__
#define __IPCPROF_LIFECYCLE_BPF_H__

#include "current.bpf.h"
#include "pyframes.bpf.h"
#include "shared.bpf.h"
#include "timeline.bpf.h"

static __always_inline __u64 *gate_of(__u32 tgid)
{
	__u32 slot = GATE_SLOT(tgid);

	return bpf_map_lookup_elem(&fork_gate, &slot);
}

/* Give the slot back if it is still this child's; a child stopped there
 * (killed while stopped, or gone) needs no SIGCONT any more. */
static __always_inline void free_gate(__u32 tgid)
{
	__u64 *w = gate_of(tgid), old;

	if (!w || (old = *w) >> 8 != tgid || __sync_val_compare_and_swap(w, old, 0) != old)
		return;
	if (old == GATE_WORD(tgid, GATE_STOPPED))
		bpf_map_delete_elem(&held, &tgid);
}

/* An EV_EXEC/EV_FORK event, reserved and filled in but not yet submitted;
 * NULL (and counted) when the ring buffer is full. */
static __always_inline struct event *new_event(__u32 type, __u32 tgid, const char *comm, __u64 now)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return NULL;
	}
	e->type = type;
	e->tgid = tgid;
	e->ts_ns = now;
	e->held = 0;
	e->gated = 0;
	bpf_probe_read_kernel(e->comm, sizeof(e->comm), comm);
	return e;
}

/* At the fork, in the parent: take the child's gate slot. False (taken by
 * another child, tracing ending): the child is held at its first return to
 * user mode as it was before gates (unless tracing ends). */
static __always_inline bool take_gate(__u32 tgid)
{
	__u64 *w = gate_of(tgid);

	return w && !release_all &&
	       !__sync_val_compare_and_swap(w, 0, GATE_WORD(tgid, GATE_ATTACHING));
}

/*
 * Ask userspace for the child's uprobes once the scheduler has placed the
 * child, not at the fork: woken earlier, ipcprof took the idle CPU and the
 * child preempted its parent instead. The child cannot run before this.
 */
SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(handle_wakeup_new, struct task_struct *p)
{
	__u32 tid = p->pid, tgid = p->tgid;
	struct thread_state *t;
	struct event *e;

	if (!tgid_traced(tgid))
		return 0;
	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t || t->hold_start != HOLD_ANNOUNCE)
		return 0;
	e = new_event(EV_FORK, tgid, p->comm, bpf_ktime_get_ns());
	if (!e) { /* no answer will come: hold it at its first return */
		free_gate(tgid);
		t->hold_start = HOLD_STOP;
		return 0;
	}
	e->gated = 1;
	bpf_ringbuf_submit(e, 0);
	t->hold_start = HOLD_GATED;
	return 0;
}

/*
 * The child's first return to user mode: go on if userspace has attached
 * its uprobes, else stop until it has. Whoever changes the slot from
 * ATTACHING first decides. A stopping child says STOPPED only once its
 * SIGSTOP is queued and its `held` entry (the watchdog's) exists; userspace
 * continues only a STOPPED child, so its SIGCONT cannot come first.
 */
static __always_inline void pass_gate(__u32 tgid)
{
	const __u64 attaching = GATE_WORD(tgid, GATE_ATTACHING);
	const __u64 attached = GATE_WORD(tgid, GATE_ATTACHED);
	const __u64 stopping = GATE_WORD(tgid, GATE_STOPPING);
	__u64 *w = gate_of(tgid), now, old;

	if (!w)
		return;
	if (release_all) { /* tracing ends: nothing will be attached */
		free_gate(tgid);
		return;
	}
	old = __sync_val_compare_and_swap(w, attaching, stopping);
	if (old != attaching) {
		if (old == attached) { /* ready: free the slot */
			__sync_val_compare_and_swap(w, attached, 0);
			__sync_fetch_and_add(&gate_passed, 1);
		}
		return;
	}
	now = bpf_ktime_get_ns();
	if (bpf_send_signal(SIGSTOP)) { /* cannot stop: go on without */
		__sync_val_compare_and_swap(w, stopping, 0);
		return;
	}
	bpf_map_update_elem(&held, &tgid, &now, BPF_ANY);
	__sync_val_compare_and_swap(w, stopping, GATE_WORD(tgid, GATE_STOPPED));
	__sync_fetch_and_add(&gate_stopped, 1);
}

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
		seg_fork(parent_tgid, tgid);
		ts->first_run_ns = now;
		ts->proc_flags = PROC_FORKED;
		ts->proc_start_ns = now;
		if (bpf_map_lookup_elem(&probed, &parent_tgid))
			ts->hold_start = take_gate(tgid) ? HOLD_ANNOUNCE : HOLD_STOP;
	}
	if (bpf_map_update_elem(&threads, &tid, ts, BPF_ANY)) {
		__sync_fetch_and_add(&map_full, 1);
		if (ts->hold_start == HOLD_ANNOUNCE) /* no program will see it */
			free_gate(tgid);
	}
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
	__u64 now = bpf_ktime_get_ns();
	struct event *e = new_event(type, tgid, comm, now);

	if (!e)
		return;
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
	bpf_map_delete_elem(&seg_ranges, &tgid); /* a new address space */
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
			bpf_map_delete_elem(&seg_ranges, &tgid);
			tgid_mark(tgid, false);
			free_gate(tgid);
			flush_fault_rate(tgid);
			__sync_fetch_and_add(&proc_exits, 1);
		}
	}
	bpf_map_delete_elem(&threads, &tid);
	return 0;
}

#endif /* __IPCPROF_LIFECYCLE_BPF_H__ */
