/* SPDX-License-Identifier: MIT */
/*
 * Whether the maps the cpu-clock sampler reads can be created without
 * preallocation. Preallocating a hash map fills a free list with every
 * entry at creation: ~18 ms of each start-up for `threads` and `procs`.
 * Kernels up to 6.1 at least refuse any non-preallocated hash map in a
 * perf_event program; newer ones accept it (their BPF memory allocator is
 * safe there). Asked of the kernel, not of its version.
 */
#ifndef __IPCPROF_MAP_PREALLOC_H__
#define __IPCPROF_MAP_PREALLOC_H__

#include <stdbool.h>

bool perf_event_takes_dynamic_maps(void);

#endif
