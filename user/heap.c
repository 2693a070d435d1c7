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

/* glibc refuses an mmap threshold above 32 MiB (HEAP_MAX_SIZE / 2) */
#define MMAP_THRESHOLD_MAX (32u << 20)

/* the advised range, taken back by heap_huge_end() */
static uintptr_t huge_lo, huge_hi;

void heap_huge_begin(size_t bytes)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	char *p;

	if (bytes > MMAP_THRESHOLD_MAX / 2)
		return;
	/* big buffers from the heap, not each its own mapping; and the
	 * heap's free top kept, not returned to the system at free() */
	if (!mallopt(M_MMAP_THRESHOLD, (int)(bytes * 2)) ||
	    !mallopt(M_TRIM_THRESHOLD, (int)(bytes * 4)))
		return;
	p = malloc(bytes);
	if (!p)
		return;
	huge_lo = ((uintptr_t)p + page - 1) & ~(page - 1);
	huge_hi = ((uintptr_t)p + bytes) & ~(page - 1);
	/* EINVAL without THP support: the pages stay small, nothing lost */
	if (huge_hi <= huge_lo || madvise((void *)huge_lo, huge_hi - huge_lo, MADV_HUGEPAGE))
		huge_lo = huge_hi = 0;
	free(p);
}

/*
 * The thresholds stay where heap_huge_begin() put them: once mallopt() has
 * set one, glibc stops adapting them, and adapting would have raised them
 * about as far when libbpf freed its multi-megabyte buffers. The advice is
 * taken back first, so that a small allocation there later does not fault
 * in 2 MiB, nor khugepaged gather the sparse rest of the range.
 */
void heap_huge_end(void)
{
	if (huge_hi > huge_lo)
		madvise((void *)huge_lo, huge_hi - huge_lo, MADV_NOHUGEPAGE);
	huge_lo = huge_hi = 0;
	malloc_trim(0);
}
