/* SPDX-License-Identifier: MIT */
/*
 * The tracer's insides, shared by its parts: tracer.c (life cycle, events),
 * tracer_uprobes.c (serializer uprobes per process) and tracer_collect.c
 * (folding exited processes, reading the counters). Not for other files.
 */
#ifndef IPCPROF_TRACER_PRIV_H
#define IPCPROF_TRACER_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "ipcprof.h"
#include "ipcprof.skel.h"
#include "links.h"
#include "tracer.h"
#include "watchdog.h"

/* The serializer uprobes attached for one traced process. */
struct proc_probes {
	pid_t pid;
	int *idx; /* indices into opts.plan->probes, attached or tried */
	int n;
	bool attached;		      /* at least one probe is in place */
	bool demoted;		      /* probes removed: called too often */
	bool exited;		      /* seen gone by the rate check */
	uint64_t start_ns;	      /* its `procs` entry's: tells a reused PID */
	uint64_t last_calls, last_ns; /* serializer calls at the last check */
	struct link_list links;
};

struct folded_proc {
	__u32 pid;
	struct proc_stats s;
};

struct folded_chan {
	struct chan_key k;
	struct chan_stats s;
};

struct seg_fold {
	struct seg_key k;
	struct seg_stats s;
};

struct pass_fold {
	struct pass_key k;
	__u64 n;
};

struct tracer {
	struct ipcprof_bpf *skel;
	struct ring_buffer *rb;
	struct link_list links; /* uprobes and perf events we attached */
	int *perf_fds;
	int n_perf;
	struct tracer_opts opts;
	struct proc_probes *pp; /* serializer uprobes, per traced process */
	int n_pp;
	struct link_reaper reaper;    /* uprobe links being detached */
	bool uprobe_multi;	      /* serializer probes as uprobe_multi links */
	struct ser_demotion *demoted; /* processes whose probes were removed */
	int n_demoted;
	struct watchdog wd; /* continues held processes should we die */
	__u64 *gate;	    /* fork_gate's words, mapped (include/ipcprof.h) */
	char **warnings;    /* for the report's notes: probes that failed */
	int n_warnings;
	/* exited processes and their channels, moved out of the kernel's
	 * maps so that long runs never fill them (see fold_exited) */
	struct folded_proc *fproc;
	int n_fproc;
	struct folded_chan *fchan;
	int n_fchan;
	/* their shared-segment uses and descriptor hand-offs */
	struct seg_fold *fseg;
	int n_fseg;
	struct pass_fold *fpass;
	int n_fpass;
	uint64_t next_fold_ns, next_idle_fold_ns;
	uint64_t folded_exits;	    /* bss proc_exits when all exited were folded */
	uint64_t next_hot_check_ns; /* the next look at serializer call rates */
	uint64_t next_reap_ns;	    /* the next batch of exited processes' uprobes */
	uint64_t exits_at_reap;	    /* bss proc_exits at the last batch */
	struct probe_plan probes;
	bool closing;		    /* only continue stopped execs, plan nothing */
	bool detached;		    /* tracer_detach() done: counters are final */
	struct slice_event *slices; /* --timeline */
	size_t n_slices;
	struct site_names *site_names; /* streamed timelines: sites named so far */
	bool verbose;
	struct py_pending *py_pending; /* interpreters whose libpython is not mapped yet */
	int n_py_pending;
	bool py_unsupported_warned;
};

/* serializer call rates are checked this often while processes have probes */
#define HOT_CHECK_MS 25
/*
 * The uprobe links of exited processes are closed in batches, once a second
 * or after this many traced processes exited: each close waits for RCU grace
 * periods, and closing every child's links soon after it exited (every
 * HOT_CHECK_MS) made each fork of a probed 40 MB Python ~1.4 ms slower here
 * (a Python forking children that exit at once: fork + wait 10.4 ms
 * instead of 8.9 ms, 8.2 ms untraced; medians of 6 interleaved rounds).
 */
#define REAP_EVERY_NS 1000000000ull
#define REAP_AT_EXITS 128
/* exited processes are folded out of the maps this often: a fork loop
 * here starts ~13,000 processes a second (churn, stdout to a file), and
 * 250 ms of them overflowed the 4096 channel ends the kernel side then held */
#define FOLD_EVERY_NS 100000000ull

/* tracer_uprobes.c */
int tracer_attach_probes(struct tracer *t, pid_t pid);
bool tracer_inherit_probes(struct tracer *t, pid_t pid);
void tracer_check_hot(struct tracer *t, uint64_t now);
void tracer_reap_probes(struct tracer *t, bool all);

/* tracer_python.c */
struct py_pending {
	pid_t pid;
	uint64_t deadline;
};
void tracer_find_python(struct tracer *t, pid_t pid);
void tracer_retry_python(struct tracer *t, uint64_t now);

/* tracer_collect.c */
int tracer_fold_exited(struct tracer *t, uint64_t now);

/* Something the report must mention (a probe that failed): a note. */
void tracer_warn(struct tracer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
