/* SPDX-License-Identifier: MIT */
/*
 * --timeline FILE.perfetto-trace: a native Perfetto trace (protobuf
 * TracePackets, https://perfetto.dev/docs/reference/trace-packet-proto),
 * written while tracing, one slice at a time, so memory stays bounded by
 * the number of threads, channels and names, not by the trace's length.
 *
 * One track per thread under its process (ProcessDescriptor and
 * ThreadDescriptor name them); a slice for each serializer call, IPC
 * syscall (named by its channel; bytes, errno, blocked time and the Python
 * call site as debug annotations), blocked interval, exact copy, fork and
 * mmap; a flow from each write to the read that received its first byte;
 * counter tracks of bytes/s per channel and direction and of page faults/s
 * per process. Event names, categories and annotation names are interned.
 * Timestamps are CLOCK_MONOTONIC (what bpf_ktime_get_ns() reads), tied to
 * BOOTTIME by a clock snapshot, so the file merges with other traces.
 */
#ifndef IPCPROF_PERFETTO_H
#define IPCPROF_PERFETTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ipcprof.h"
#include "report.h"

/* Buckets of the counter tracks: the kernel's page-fault counts come in
 * those already. */
#define PERFETTO_BUCKET_NS IPCPROF_FAULT_BUCKET_NS

struct perfetto;

/* Names the Python line of a slice's call site (slice_event.site), into
 * `where` ("file:line in function") and `at` ("file.py:line"). */
typedef bool (*perfetto_site_fn)(void *ctx, uint32_t site, char *where, size_t where_len, char *at,
				 size_t at_len);

/* Start a trace in f (the clock snapshot and interned constants go out at
 * once). 0 or -ENOMEM. */
int perfetto_open(struct perfetto **out, FILE *f);
void perfetto_set_site_namer(struct perfetto *p, perfetto_site_fn fn, void *ctx);

/* One record of the kernel's timeline stream (EV_SLICE). */
void perfetto_slice(struct perfetto *p, const struct slice_event *s);

/* End the counters and name processes that exited before they could be
 * read from /proc; later records are ignored (the file is committed next).
 * 0, or -errno (out of memory or a write error while streaming) with a
 * reason in err. */
int perfetto_finish(struct perfetto *p, const struct report *rep, char *err, size_t errlen);
void perfetto_free(struct perfetto *p);

/* The file name asks for this format. */
bool perfetto_wanted(const char *path);

#endif
