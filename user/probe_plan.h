/* SPDX-License-Identifier: MIT */
/*
 * Choosing, per kernel function, how the precise probes attach: fentry/fexit,
 * else kprobe/kretprobe, else nothing (the phase falls back to its sampled or
 * tracepoint measurement). Decided by really trying on the running kernel,
 * never by version number.
 */
#ifndef IPCPROF_PROBE_PLAN_H
#define IPCPROF_PROBE_PLAN_H

#include <stdbool.h>
#include <stdio.h>

#include "links.h"

struct ipcprof_bpf;

enum probe_mode {
	PROBE_AUTO,	/* fentry, else kprobe, else fallback */
	PROBE_FENTRY,	/* fentry or fallback */
	PROBE_KPROBE,	/* kprobe or fallback */
	PROBE_FALLBACK, /* sampled/tracepoint only */
};

enum probe_method {
	METHOD_NONE,
	METHOD_FENTRY,
	METHOD_KPROBE,
};

/* Groups of attach points, each feeding one measurement. */
enum probe_group {
	GROUP_COPY,  /* user-copy routines -> copy phase */
	GROUP_KFN,   /* pipe / unix socket read & write -> time in IPC code */
	GROUP_FAULT, /* handle_mm_fault -> fault time */
	GROUP_FORK,  /* kernel_clone -> fork time */
	GROUP_MMAP,  /* do_mmap -> shared mmap time */
	GROUP_COUNT,
};

#define PLAN_MAX_SLOTS 8

struct probe_slot {
	const char *func; /* chosen function name, NULL when none exists */
	enum probe_method method;
	char why_not_fentry[96];
	char why_not_kprobe[96];
	bool attached; /* kprobes: attach succeeded; fentry: loaded+attached */
};

struct probe_plan {
	enum probe_mode mode;
	bool fentry_ok, kprobe_ok; /* the mechanisms as such */
	char fentry_why[128], kprobe_why[128];
	struct probe_slot slots[GROUP_COUNT][PLAN_MAX_SLOTS];
	int n_slots[GROUP_COUNT];
	struct link_list links; /* the kprobes we attached */
};

extern const char *const group_names[GROUP_COUNT];

/* Before load: decide and set autoload/attach targets on the skeleton. */
void probe_plan_prepare(struct probe_plan *plan, struct ipcprof_bpf *skel, enum probe_mode mode);

/* After load and skeleton attach: attach the kprobes, record outcomes. */
void probe_plan_attach(struct probe_plan *plan, struct ipcprof_bpf *skel);

/* Do the attached copy probes see every copy of this channel family
 * (enum ipc_family)? If not, that family's copy time stays sampled. */
bool probe_plan_copy_covers(const struct probe_plan *plan, int family);

/* The method that measured a group: the one used by its attached slots. */
enum probe_method probe_plan_method(const struct probe_plan *plan, enum probe_group g);
const char *method_name(enum probe_method m);

void probe_plan_print(const struct probe_plan *plan, FILE *out);
void probe_plan_free(struct probe_plan *plan);

#endif
