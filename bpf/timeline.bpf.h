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

/* --timeline FILE.perfetto-trace: page faults per process and bucket */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, struct fault_bucket);
} fault_buckets SEC(".maps");

static __always_inline void emit_faults(__u32 tgid, __u64 bucket, __u64 count)
{
	struct slice_event *e;

	if (!count)
		return;
	e = slice_begin(SL_FAULTS, bucket * IPCPROF_FAULT_BUCKET_NS,
			(bucket + 1) * IPCPROF_FAULT_BUCKET_NS);
	if (!e)
		return;
	e->tgid = tgid;
	e->tid = 0;
	e->ret = (__s64)count;
	bpf_ringbuf_submit(e, 0);
}

/*
 * Count a fault of process tgid into its bucket; the first fault of a new
 * bucket sends the previous one's count. Threads of a process share the
 * entry (atomics): whichever swaps the bucket number sends the count, and
 * a fault racing with that lands in the new bucket (counts are kept, a few
 * may be a bucket late). Only with a Perfetto timeline: a lookup per fault.
 */
static __always_inline void count_fault_rate(__u32 tgid)
{
	__u64 now = bpf_ktime_get_ns() / IPCPROF_FAULT_BUCKET_NS, old;
	struct fault_bucket *b = bpf_map_lookup_elem(&fault_buckets, &tgid);

	if (!b) {
		struct fault_bucket fresh = {.bucket = now, .count = 1};

		if (!bpf_map_update_elem(&fault_buckets, &tgid, &fresh, BPF_NOEXIST))
			return;
		b = bpf_map_lookup_elem(&fault_buckets, &tgid); /* another thread made it */
		if (!b) {
			__sync_fetch_and_add(&map_full, 1);
			return;
		}
	}
	old = b->bucket;
	if (old != now && __sync_val_compare_and_swap(&b->bucket, old, now) == old)
		emit_faults(tgid, old, __sync_lock_test_and_set(&b->count, 0));
	__sync_fetch_and_add(&b->count, 1);
}

/* The process exited: send its last bucket and free the entry. */
static __always_inline void flush_fault_rate(__u32 tgid)
{
	struct fault_bucket *b;

	if (!timeline_faults)
		return;
	b = bpf_map_lookup_elem(&fault_buckets, &tgid);
	if (!b)
		return;
	emit_faults(tgid, b->bucket, __sync_lock_test_and_set(&b->count, 0));
	bpf_map_delete_elem(&fault_buckets, &tgid);
}

#endif /* __IPCPROF_TIMELINE_BPF_H__ */
