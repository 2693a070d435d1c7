// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* Page faults, counted per thread by type and by what the thread was doing. */
#ifndef __IPCPROF_FAULTS_BPF_H__
#define __IPCPROF_FAULTS_BPF_H__

#include "current.bpf.h"
#include "pyframes.bpf.h"
#include "shared.bpf.h"
#include "timeline.bpf.h"

/* Every page fault of every task passes here: one lookup, no atomics (but
 * for a fault inside a Python call site's call). */
static __always_inline int count_fault(__u64 address, unsigned long error_code, bool kernel)
{
	struct thread_state *t = current_thread();
	__u32 act, type, site;

	if (!t)
		return 0;
	act = activity(t);
	/* outside a timed activity, a fault on a shared segment is that
	 * segment's (its first touch here), not the process's own */
	if (seg_fault(t, address, error_code) && act >= ACT_POST_FORK)
		act = ACT_SHARED;
	/* bit 0: the page was present (protection fault); bit 1: a write */
	if (!(error_code & 1))
		type = FT_NOT_PRESENT;
	else if (error_code & 2)
		type = FT_COW;
	else
		type = FT_OTHER;
	if (act < ACT_COUNT && type < FT_COUNT)
		t->faults[act][type]++;
	/* and on the Python line whose call took it, if call sites are on */
	site = act == ACT_IPC ? t->ipc_site : act <= ACT_DESERIALIZE ? t->ser_site : 0;
	if (site && type < FT_COUNT) {
		struct site_stats *ss = site_stats_of(site);

		if (ss)
			__sync_fetch_and_add(&ss->faults[type], 1);
	}
	if (kernel)
		t->faults_kernel++;
	if (timeline_faults)
		count_fault_rate(t->tgid);
	return 0;
}

/* The page-fault tracepoints exist on x86 only; elsewhere faults are known
 * from the sampler and the precise handle_mm_fault probe alone. */
#if defined(__TARGET_ARCH_x86)
SEC("tp_btf/page_fault_user")
int BPF_PROG(fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return count_fault(address, error_code, false);
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(fault_kernel, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return count_fault(address, error_code, true);
}
#endif /* __TARGET_ARCH_x86 */

#endif /* __IPCPROF_FAULTS_BPF_H__ */
