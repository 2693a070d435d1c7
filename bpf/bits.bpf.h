// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* Small arithmetic helpers. */
#ifndef __IPCPROF_BITS_BPF_H__
#define __IPCPROF_BITS_BPF_H__

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	while (v > 1 && slot < IPCPROF_HIST_SLOTS - 1) {
		v >>= 1;
		slot++;
	}
	return slot;
}

#endif /* __IPCPROF_BITS_BPF_H__ */
