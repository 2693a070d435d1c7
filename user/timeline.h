/* SPDX-License-Identifier: MIT */
/*
 * --timeline: a Chrome trace-event JSON file (loads in Perfetto UI and
 * chrome://tracing): one track per thread, slices for serialization, IPC
 * syscalls (with their blocked intervals), exact copies, fork and mmap, and
 * flow arrows from each write to the read that consumed its first byte.
 */
#ifndef IPCPROF_TIMELINE_H
#define IPCPROF_TIMELINE_H

#include <stddef.h>
#include <stdio.h>

#include "ipcprof.h"
#include "report.h"

int timeline_write(FILE *f, const char *path, const struct report *rep, const struct slice_event *s,
		   size_t n, char *err, size_t errlen);

#endif
