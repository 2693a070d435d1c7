// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* --timeline: intervals streamed through the ring buffer. */
#ifndef __IPCPROF_TIMELINE_BPF_H__
#define __IPCPROF_TIMELINE_BPF_H__

#include "maps.bpf.h"

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

static __always_inline void emit_slice(__u32 kind, __u64 start, __u64 end, __u32 site)
{
	struct slice_event *e;

	if (!timeline)
		return;
	e = slice_begin(kind, start, end);
	if (!e)
		return;
	e->site = site;
	bpf_ringbuf_submit(e, 0);
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

#endif /* __IPCPROF_TIMELINE_BPF_H__ */
