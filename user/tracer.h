/* SPDX-License-Identifier: MIT */
/* Life cycle of the BPF side: load, attach, follow processes, collect. */
#ifndef IPCPROF_TRACER_H
#define IPCPROF_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe_plan.h"
#include "report.h"
#include "serializers.h"

struct tracer_opts {
	bool follow;	    /* trace children too */
	uint32_t sample_hz; /* perf-event sampling rate for the copy estimate */
	/* per-thread sampling rate inside serializers and IPC calls (0: none) */
	uint32_t thread_sample_hz;
	bool verbose;
	enum probe_mode probe_mode; /* fentry/kprobe/fallback choice */
	bool timeline;		    /* stream per-call slices (--timeline) */
	bool seed_threads;	    /* attach: tracer_seed_threads() will run */
	bool call_sites;	    /* Python call sites (tracer_python.c) */
	struct ser_plan *plan;	    /* holds --uprobe probes; grows as processes exec */
	/* streamed timelines: each record as it arrives, none kept (else
	 * tracer_slices() has them); timeline_faults adds page-fault counts
	 * per process and bucket (SL_FAULTS records) */
	void (*on_slice)(void *ctx, const struct slice_event *s);
	void *slice_ctx;
	bool timeline_faults;
};

struct tracer;

/* A process whose serializer uprobes were removed: it called them too often
 * for their cost. Later serializer time is sampled in `module` (NULL where
 * the serializer is built into the interpreter: then it is not measured). */
struct ser_demotion {
	pid_t pid;
	uint64_t calls; /* serializer calls timed exactly before */
	char *module;
};

const struct ser_demotion *tracer_demotions(const struct tracer *t, int *n);

/* Serializer calls per second beyond which a process's uprobes go. */
#define HOT_SER_RATE 2000

/* Load and attach everything but serializer uprobes of processes not yet
 * seen. On failure writes a one-line reason to err. */
int tracer_open(struct tracer **out, const struct tracer_opts *o, char *err, size_t errlen);

/* Start tracing a live process (and its current threads) from start_ns on.
 * -ESRCH: it exited meanwhile and is not traced. */
int tracer_add_process(struct tracer *t, pid_t pid, pid_t ppid, uint64_t start_ns);

/* attach, once the processes are added: threads already asleep count as
 * off CPU from start_ns (inside their IPC call if they sleep in one), not
 * as "other" (tracer_seed.c). Returns 0 or -errno (a note says so). */
int tracer_seed_threads(struct tracer *t);

/* Plan and attach serializer uprobes for what `pid` runs now. */
int tracer_plan_process(struct tracer *t, pid_t pid);

/* Handle kernel events for up to timeout_ms, or until wake_fd (-1: none)
 * becomes readable. Returns events handled or -errno. */
int tracer_poll(struct tracer *t, int wake_fd, int timeout_ms);

/* True once the kernel side saw `pid` exit. */
bool tracer_exited(struct tracer *t, pid_t pid);

/* Read all counters into a report (rep->start_ns must be set). */
int tracer_collect(struct tracer *t, struct report *rep);

/* What the precise probes attached to, and how each phase is measured. */
const struct probe_plan *tracer_probe_plan(const struct tracer *t);
struct measure tracer_measure(const struct tracer *t);

/* After tracer_collect: name each phase's method in rep->methods, with the
 * notes that qualify them (tracer_methods.c). */
void tracer_label_methods(const struct tracer *t, const struct ser_plan *plan, struct report *rep);

/* Streamed timelines, once detached and collected: the last page-fault
 * bucket of each process still alive (exits sent theirs; sending it while
 * tracing would count it twice). */
void tracer_flush_timeline(struct tracer *t);

/* The Python line of a slice's site (slice_event.site), as a Perfetto
 * timeline names it while tracing (perfetto_site_fn; ctx: the tracer). */
bool tracer_site_name(void *ctx, uint32_t site, char *where, size_t where_len, char *at,
		      size_t at_len);

/* --timeline: the slices received so far. */
const struct slice_event *tracer_slices(const struct tracer *t, size_t *n);

/* Stop tracing: release held execs, detach every program (the kernel frees
 * them asynchronously, so do this first and report meanwhile). The maps
 * stay readable. Idempotent. */
void tracer_detach(struct tracer *t);

/* Detach if needed, free everything, and wait until the kernel has
 * unloaded our programs. */
void tracer_close(struct tracer *t);

#endif
