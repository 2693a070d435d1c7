/* SPDX-License-Identifier: MIT */
/* The heap during start-up: backed by transparent huge pages. */
#ifndef IPCPROF_HEAP_H
#define IPCPROF_HEAP_H

#include <stddef.h>

/*
 * Before libbpf parses the kernel's BTF: have the next `bytes` of the main
 * heap (where that parse's ~10 MB of buffers land) backed by transparent
 * huge pages where the kernel offers them to madvise(). A no-op elsewhere.
 */
void heap_huge_begin(size_t bytes);

/* After the load: small pages again, and the memory libbpf freed given
 * back to the system. Safe to call more than once. */
void heap_huge_end(void);

#endif
