/* SPDX-License-Identifier: MIT */
/* Kernel text ranges of the routines the sampler classifies (copy, fault). */
#ifndef IPCPROF_KALLSYMS_H
#define IPCPROF_KALLSYMS_H

#include "ipcprof.h"

/*
 * Read a kallsyms file and fill `out`, sorted by start, with the [start, end) ranges of the
 * known user-copy and page-fault routines that this kernel has; the end of a
 * routine is the next text symbol's address. Returns the number of ranges
 * found, or -errno (-EPERM when addresses are hidden by kptr_restrict).
 */
int kallsyms_code_ranges(const char *path, struct code_range *out, int max);

/* Names of the user-copy routines looked for, NULL-terminated. */
extern const char *const copy_routines[];

#endif
