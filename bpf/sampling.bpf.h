// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* The cpu-clock sampler: copy, fault and serializer shares from kernel stacks and user IPs. */
#ifndef __IPCPROF_SAMPLING_BPF_H__
#define __IPCPROF_SAMPLING_BPF_H__

#include "current.bpf.h"

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

/*
 * One body for both samplers. The per-CPU one (sample_cpu, --sample-hz)
 * samples everything a traced thread does; its counts outside the timed
 * activities stand for sampling periods (compute, faults elsewhere). The
 * per-thread one (sample_task, --thread-sample-hz) ticks only while a traced
 * thread runs and keeps only the samples that fall inside an exactly timed
 * activity (a serializer or an IPC call), where samples only split a time
 * already measured: there both samplers' samples are uniform in that time,
 * so they pool into one share.
 */
static __always_inline int sample(struct bpf_perf_event_data *ctx, bool timed_only)
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
	if (act >= ACT_COUNT)
		return 0;
	if (timed_only && act > ACT_IPC)
		return 0;
	if (!timed_only)
		__sync_fetch_and_add(&ps->samples_total, 1);
	__sync_fetch_and_add(&ps->act_samples[act], 1);
	if (act == ACT_IPC) {
		__sync_fetch_and_add(&ps->samples_ipc, 1);
		__sync_fetch_and_add(&ps->samples_ipc_fam[ipc_family(t)], 1);
	}
	/* user addresses are the lower half of the 64-bit address space */
	if ((long)PT_REGS_IP(&ctx->regs) >= 0) {
		__u64 ip = PT_REGS_IP(&ctx->regs);
		struct code_span *sc;

		if (timed_only) {
			__sync_fetch_and_add(&ps->user_samples[act], 1);
			return 0;
		}
		sc = bpf_map_lookup_elem(&ser_code, &t->tgid);
		if (sc && ip >= sc->start && ip < sc->end)
			__sync_fetch_and_add(&ps->ser_ip_samples, 1);
		else
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
		/* a fault taken while copying is fault time, not copy; one on
		 * a shared segment (seg_fault() saw it begin) is the segment's */
		if (t->fault_seg.tgid) {
			struct seg_stats *s = bpf_map_lookup_elem(&segs, &t->fault_seg);

			if (act >= ACT_POST_FORK)
				act = ACT_SHARED;
			if (s && !timed_only)
				__sync_fetch_and_add(&s->fault_samples, 1);
		}
		if (act < ACT_COUNT)
			__sync_fetch_and_add(&ps->fault_samples[act], 1);
	} else if (c.cls == CODE_COPY && act == ACT_IPC) {
		__sync_fetch_and_add(&ps->samples_copy, 1);
		__sync_fetch_and_add(&ps->samples_copy_fam[ipc_family(t)], 1);
	}
	return 0;
}

SEC("perf_event")
int sample_cpu(struct bpf_perf_event_data *ctx)
{
	return sample(ctx, false);
}

SEC("perf_event")
int sample_task(struct bpf_perf_event_data *ctx)
{
	return sample(ctx, true);
}

#endif /* __IPCPROF_SAMPLING_BPF_H__ */
