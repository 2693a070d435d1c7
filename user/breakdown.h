/* SPDX-License-Identifier: MIT */
/*
 * The report's hierarchy: each quantity that a hook of its own measured
 * exactly (time inside serializers, on CPU inside IPC calls, blocked, fork,
 * mmap, wait) stands as measured, with the sampled estimates beneath it as
 * splits of it (copy routines and page faults inside IPC calls, page faults
 * inside serializers); then the sampled rest of the threads' time. The top
 * level sums to thread time, as the phase partition does: the partition is
 * the same time cut at the splits instead (report.h, enum phase).
 *
 * Every writer (text, JSON, CSV, HTML, metrics) takes these from here, so
 * that an exact amount is never shown as what a sampled share left of it.
 */
#ifndef IPCPROF_BREAKDOWN_H
#define IPCPROF_BREAKDOWN_H

#include <stdbool.h>
#include <stdint.h>

#include "report.h"

enum measured_id {
	MS_SERIALIZER,	 /* inside serializers (uprobes), their faults included */
	MS_DESERIALIZER, /* likewise */
	MS_IPC_ONCPU,	 /* on CPU inside IPC syscalls: copy, faults and the rest */
	MS_BLOCKED,
	MS_FORK,
	MS_MMAP,
	MS_WAIT,
	MS_COMPUTE,	     /* sampled: the program's own code */
	MS_FAULTS_ELSEWHERE, /* sampled: page faults outside the timed activities */
	MS_OTHER,	     /* derived: thread time minus the above */
	MS_COUNT,
};

#define SPLITS_MAX 3
/* where each split stands in measured.splits[] */
enum { SPLIT_SER_FAULTS, SPLIT_SER_OWN };		   /* of MS_(DE)SERIALIZER */
enum { SPLIT_IPC_COPY, SPLIT_IPC_FAULTS, SPLIT_IPC_REST }; /* of MS_IPC_ONCPU */
enum { SPLIT_ELSEWHERE_SHARED, SPLIT_ELSEWHERE_REST };	   /* of MS_FAULTS_ELSEWHERE */
enum { SPLIT_BLOCKED_CALLS, SPLIT_BLOCKED_POLL };	   /* of MS_BLOCKED */

/* An amount and its 95% range, clamped to what contains it: lo_ns == ns ==
 * hi_ns where it was measured exactly. */
struct estimate {
	uint64_t ns, lo_ns, hi_ns;
	bool exact;
	bool unavailable; /* its method is "unavailable": not measured at all */
};

struct split {
	const char *name;  /* JSON key: "copy", "page_faults", ... */
	const char *label; /* text: "copy routines", ... */
	int phase;	   /* whose method names it (enum phase) */
	struct estimate e;
};

struct measured {
	struct estimate e;
	uint64_t timed_ns; /* the part of it measured exactly (counters only grow) */
	int n_splits;
	struct split splits[SPLITS_MAX];
};

struct measured_def {
	const char *name;  /* JSON key and CSV column stem */
	const char *label; /* text */
	int phase;	   /* whose method names it (enum phase) */
	int act;	   /* the activity whose faults its page_faults split holds, or -1 */
};

extern const struct measured_def measured_defs[MS_COUNT];

/* One row's (or the totals') hierarchy. methods: the report's (rep->methods),
 * to mark what was not measured at all; NULL: no such marks. */
void breakdown_of(const struct proc_row *r, const char *const *methods,
		  struct measured out[MS_COUNT]);

/* The phases of the partition (enum phase) with their 95% ranges clamped as
 * the hierarchy clamps them: syscall and copy within the IPC calls' exact
 * time, serialize within the serializer's, and so on. */
void breakdown_phases(const struct proc_row *r, const char *const *methods,
		      struct estimate out[PH_COUNT]);

/* The method of an entry as the report names it ("uprobe", "sampled", ...;
 * "derived" for a remainder). */
const char *breakdown_method(const struct report *rep, int phase);

#endif
