// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* Serializer entry points (uprobes): exact serialize/deserialize time. */
#ifndef __IPCPROF_SERIALIZERS_BPF_H__
#define __IPCPROF_SERIALIZERS_BPF_H__

#include "current.bpf.h"
#include "pyframes.bpf.h"
#include "timeline.bpf.h"

/* `obj`: the entry point's second argument, the object pickled by
 * Pickler.dump (elsewhere an address that matches no hand-off). */
static __always_inline int ser_enter(__u32 kind, __u64 obj)
{
	struct thread_state *t = current_thread();

	if (!t)
		return 0;
	if (t->ser_depth++ == 0) {
		t->ser_kind = kind;
		t->handoff_site = kind == SER_SERIALIZE ? py_take_handoff(t->tgid, obj) : 0;
		t->ser_site = t->handoff_site ?: py_site(t->tgid);
		t->ser_start = bpf_ktime_get_ns(); /* after the walk: not its time */
		t->ser_nested = 0;
	}
	return 0;
}

static __always_inline int ser_exit(void)
{
	struct thread_state *t = current_thread();
	struct site_stats *ss;
	struct proc_stats *ps;
	__u64 dur, now;

	/* depth 0: we attached while the call was already running */
	if (!t || t->ser_depth == 0)
		return 0;
	if (--t->ser_depth)
		return 0;
	ps = current_proc();
	if (!ps)
		return 0;
	now = bpf_ktime_get_ns();
	emit_slice(t->ser_kind == SER_SERIALIZE ? SL_SERIALIZE : SL_DESERIALIZE, t->ser_start, now,
		   t->ser_site);
	dur = now - t->ser_start;
	dur = dur > t->ser_nested ? dur - t->ser_nested : 0;
	ss = site_stats_of(t->ser_site);
	t->ser_site = 0;
	if (t->ser_kind == SER_SERIALIZE) {
		__sync_fetch_and_add(&ps->serialize_ns, dur);
		__sync_fetch_and_add(&ps->serialize_calls, 1);
		if (ss) {
			__sync_fetch_and_add(&ss->serialize_ns, dur);
			__sync_fetch_and_add(&ss->serialize_calls, 1);
		}
	} else {
		__sync_fetch_and_add(&ps->deserialize_ns, dur);
		__sync_fetch_and_add(&ps->deserialize_calls, 1);
		if (ss) {
			__sync_fetch_and_add(&ss->deserialize_ns, dur);
			__sync_fetch_and_add(&ss->deserialize_calls, 1);
		}
	}
	return 0;
}

/* SemLock.acquire (entry only): Queue.put's hand-off, see py_queue_put. */
static __always_inline int handoff_enter_common(void)
{
	struct thread_state *t = current_thread();
	struct proc_stats *ps;

	if (!t)
		return 0;
	ps = current_proc();
	if (ps)
		__sync_fetch_and_add(&ps->handoff_calls, 1);
	return py_queue_put(t->tgid);
}

SEC("uprobe")
int BPF_KPROBE(handoff_enter)
{
	return handoff_enter_common();
}

SEC("uprobe")
int BPF_KPROBE(serialize_enter)
{
	return ser_enter(SER_SERIALIZE, PT_REGS_PARM2(ctx));
}

SEC("uretprobe")
int BPF_KRETPROBE(serialize_exit)
{
	return ser_exit();
}

SEC("uprobe")
int BPF_KPROBE(deserialize_enter)
{
	return ser_enter(SER_DESERIALIZE, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(deserialize_exit)
{
	return ser_exit();
}

/*
 * The uprobe_multi flavour (6.6+; userspace sets the attach type): one link
 * per file and process for all its entry points, the direction in each
 * offset's cookie. Its links detach without the perf-event mutex, so a
 * process's probes go in ~20 ms rather than ~55 ms a probe one after
 * another.
 */
SEC("uprobe")
int BPF_KPROBE(ser_multi_enter)
{
	__u32 kind = (__u32)bpf_get_attach_cookie(ctx);

	if (kind == SER_HANDOFF)
		return handoff_enter_common();
	return ser_enter(kind, PT_REGS_PARM2(ctx));
}

SEC("uretprobe")
int BPF_KRETPROBE(ser_multi_exit)
{
	return ser_exit();
}

#endif /* __IPCPROF_SERIALIZERS_BPF_H__ */
