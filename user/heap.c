// SPDX-License-Identifier: MIT
/*
 * libbpf reads and indexes the kernel's BTF (~6 MB) at every start, and
 * its buffers touch thousands of fresh 4 KiB pages; in a VM each first
 * touch is a costly fault. With the heap backed by huge pages, `ipcprof run
 * -- true` takes ~1,100 page faults instead of ~4,000 and the command
 * starts ~30 ms sooner (docs/BENCHMARKS.md, start-up). glibc does this
 * itself only under GLIBC_TUNABLES=glibc.malloc.hugetlb=1, which a program
 * cannot set for itself without exec'ing again: so the heap is grown once,
 * advised and handed back to malloc, which keeps it (no trim) for libbpf.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap.h"

/* glibc's defaults (DEFAULT_MMAP_THRESHOLD, DEFAULT_TRIM_THRESHOLD) */
#define MALLOC_DEFAULT_THRESHOLD (128 * 1024)

void heap_huge_begin(size_t bytes)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo, hi;
	char *p;

	/* big buffers from the heap, not each its own mapping; and the
	 * heap's free top kept, not returned to the system at free() */
	if (!mallopt(M_MMAP_THRESHOLD, (int)bytes * 2) ||
	    !mallopt(M_TRIM_THRESHOLD, (int)bytes * 4))
		return;
	p = malloc(bytes);
	if (!p)
		return;
	lo = ((uintptr_t)p + page - 1) & ~(page - 1);
	hi = ((uintptr_t)p + bytes) & ~(page - 1);
	/* EINVAL without THP support: the pages stay small, nothing lost */
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
	free(p);
}

void heap_huge_end(void)
{
	mallopt(M_MMAP_THRESHOLD, MALLOC_DEFAULT_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, MALLOC_DEFAULT_THRESHOLD);
	malloc_trim(0);
}
