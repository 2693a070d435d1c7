/* SPDX-License-Identifier: MIT */
/*
 * The report model: what a trace measured, per process and per channel,
 * with the derived phases (copy estimate, other) worked out, and the three
 * writers (text, JSON, CSV).
 */
#ifndef IPCPROF_REPORT_H
#define IPCPROF_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ipcprof.h"

enum phase {
	PH_SERIALIZE,
	PH_DESERIALIZE,
	PH_SYSCALL, /* IPC syscall on CPU, minus copy */
	PH_BLOCKED, /* IPC syscall off CPU */
	PH_COPY,
	PH_FAULT, /* page faults, whatever the thread was doing */
	PH_FORK,
	PH_MMAP,
	PH_WAIT,    /* off CPU outside IPC syscalls and serializers */
	PH_COMPUTE, /* on CPU in the program's own code, outside serializers */
	PH_OTHER,
	PH_COUNT,
};

extern const char *const phase_names[PH_COUNT];	 /* "serialize", ... */
extern const char *const phase_fields[PH_COUNT]; /* "serialize_ns", ... */

struct proc_row {
	uint32_t pid, ppid;
	char comm[IPCPROF_COMM_LEN];
	bool exited;
	/* how the splits of the exact times were measured: timed by precise
	 * probes (all of the IPC calls' copies; all faults) or sampled */
	bool copy_timed, faults_timed;
	/* its serializer probes were removed with nothing to sample instead:
	 * the serializer times are lower bounds */
	bool ser_partial;
	int32_t exit_code;
	uint64_t start_ns, end_ns;
	uint64_t wall_ns;   /* process lifetime within the trace */
	uint64_t thread_ns; /* summed thread lifetimes: what phases add up to */
	uint64_t phase_ns[PH_COUNT];
	uint64_t serialize_calls, deserialize_calls;
	uint64_t ipc_calls, ipc_oncpu_ns, bytes_read, bytes_written;
	/* of phase_ns[PH_BLOCKED], off CPU in epoll_wait/poll until an IPC
	 * descriptor was ready (the rest: inside IPC calls) */
	uint64_t blocked_poll_ns;
	uint64_t ipc_oncpu_fam_ns[FAM_COUNT];
	uint64_t fork_calls, first_run_ns;
	uint64_t mmap_calls, mmap_bytes;
	uint64_t ipc_kernel_ns;	  /* in pipe/unix-socket code (precise probes only) */
	uint64_t copy_sampled_ns; /* the sampled copy estimate, even when copy is exact */
	uint64_t ser_sampled_ns;  /* serializer time sampled after its probes were removed */
	uint64_t samples_total, samples_ipc, samples_copy;
	/* page faults by what the thread was doing (enum activity) */
	uint64_t faults[ACT_COUNT][FT_COUNT];
	uint64_t faults_kernel;
	uint64_t fault_samples[ACT_COUNT];
	uint64_t user_samples[ACT_COUNT];
	uint64_t act_samples[ACT_COUNT];   /* samples taken in each activity */
	uint64_t fault_ns[ACT_COUNT];	   /* estimated from fault_samples */
	uint64_t fault_ci95_ns[ACT_COUNT]; /* their 95% half-widths (0: exact) */
	/* 95% confidence half-width of each phase from its sample counts; 0
	 * where a phase is measured exactly. Totals add them in quadrature. */
	uint64_t ci95_ns[PH_COUNT];
	uint64_t activity_ns[ACT_COUNT]; /* the activity's time, faults included;
					  * 0 where not timed (post-fork, other) */
};

extern const char *const activity_names[ACT_COUNT]; /* "serialize", ... */

/* One process's use of a channel in one direction. */
struct chan_end {
	uint32_t tgid;
	uint8_t dir;
	struct chan_stats s;
};

struct channel {
	uint64_t ino, peer_ino;
	uint32_t dev;
	uint8_t kind;
	struct chan_end *ends;
	int n_ends;
	uint64_t bytes_written, bytes_read, write_calls, read_calls;
	uint64_t oncpu_ns, blocked_ns;
	uint64_t blocked_poll_ns;   /* its readers' waits in poll/epoll for it */
	uint64_t first_ns, last_ns; /* span of all calls on it */
	struct inet_ends flow;	    /* TCP/UDP: what its ends knew of their addresses */
	/* descriptors carried (SCM_RIGHTS) as the sending and the receiving
	 * ends counted them */
	uint64_t fds_sent, fds_received;
};

/* Descriptors a channel carried: as sent, or as received where no sender
 * was traced. */
static inline uint64_t channel_fds_passed(const struct channel *c)
{
	return c->fds_sent ? c->fds_sent : c->fds_received;
}

/* What a shared segment is, as far as its file tells (user/segments.c). */
enum seg_kind {
	SEGK_FILE = 0,	/* a MAP_SHARED file elsewhere */
	SEGK_POSIX = 1, /* shm_open(): a file in /dev/shm */
	SEGK_MEMFD = 2,
	SEGK_SYSV = 3,
	SEGK_ANON = 4, /* MAP_SHARED|MAP_ANONYMOUS, shared with children over fork */
	SEGK_COUNT = 5,
};

extern const char *const seg_kind_names[SEGK_COUNT];

/* One process's use of one shared segment (bpf/shared.bpf.h's segs). */
struct seg_use {
	uint64_t ino;
	uint32_t dev;
	uint32_t pid;
	uint8_t kind;		/* enum seg_kind */
	uint64_t bytes_touched; /* pages brought into its page tables, in bytes */
	/* the Python line that mapped it: "file:line in function", or "" */
	char map_site[2 * IPCPROF_PY_STR + 16];
	struct seg_stats s;
};

/* Descriptors of one file passed over one channel by one end (SCM_RIGHTS). */
struct fd_pass {
	uint64_t ino; /* the file passed */
	uint32_t dev;
	uint32_t pid;
	uint64_t chan_ino; /* the channel, named as struct channel is */
	uint8_t dir;	   /* DIR_WRITE: sent, DIR_READ: received */
	uint64_t count;
};

/* How the counters were measured: which precise probes fed them. */
struct measure {
	uint32_t sample_hz;	    /* converts samples outside timed activities to time */
	bool exact_copy[FAM_COUNT]; /* copy_exact_fam_ns from fentry/kprobe */
	bool exact_fault;	    /* fault_exact_ns from fentry/kprobe */
	bool exact_fork;	    /* fork_kernel_ns from fentry/kprobe */
	bool exact_mmap;	    /* mmap_kernel_ns from fentry/kprobe */
	bool ipc_kernel;	    /* ipc_kernel_ns measured */
};

/* Python code behind IPC: one file:line in one function of one process,
 * summed over the stacks that lead there (user/callsites.c). */
struct call_site {
	uint32_t pid;
	int32_t line;
	bool user_frame; /* false: no frame outside the standard library's
			  * IPC modules (e.g. a Queue's feeder thread) */
	char file[IPCPROF_PY_STR];
	char function[IPCPROF_PY_STR];
	struct site_stats s;
};

/* Time a call site spent in IPC: its serializer and its IPC calls. */
uint64_t call_site_ipc_ns(const struct call_site *c);

struct report {
	const char *target;
	uint64_t start_ns, end_ns;
	uint32_t sample_hz;
	uint32_t thread_sample_hz; /* per-thread sampler inside timed activities, 0: off */
	struct measure measure;
	bool interrupted;
	int exit_status; /* of the launched command, -1 when attached */

	struct proc_row *procs;
	int n_procs;
	struct channel *chans;
	int n_chans;
	struct proc_row totals;

	/* this machine's limits, measured at start: bytes per second */
	double memcpy_bps, pipe_bps;

	uint64_t lost_events; /* ring buffer records dropped */
	uint64_t map_full;    /* entries the kernel side could not create */

	const char *methods[PH_COUNT];
	const char *ipc_kernel_method; /* pipe/unix code timing: fentry, kprobe or NULL */
	char **probes;		       /* "path:symbol (serialize)" per serializer uprobe */
	int n_probes;
	char **notes; /* caveats to print (e.g. no serializer symbols) */
	int n_notes;
	struct call_site *sites; /* most IPC time first */
	int n_sites;
	struct seg_use *seg_uses; /* shared segments, per process */
	int n_seg_uses;
	struct fd_pass *fd_passes;
	int n_fd_passes;
	/* the kernel's site index -> position in sites[] (-1: none); for
	 * naming timeline slices, live traces only (not recorded) */
	int32_t *site_pos;
	char **owned; /* strings the report owns (read from a recording) */
	int n_owned;
};

/* What the kernel side cannot know of threads still alive at the end. */
struct live_threads {
	uint64_t thread_ns; /* their lifetime so far */
	uint64_t wait_ns;   /* off CPU since their last switch-out */
};

/* Turn one process's kernel counters into a row. */
void proc_row_from_stats(struct proc_row *r, uint32_t pid, const struct proc_stats *s,
			 const struct live_threads *live, uint64_t end_ns, const struct measure *m);

int report_add_proc(struct report *rep, const struct proc_row *row);
/* Add one channel end's counters; an end seen before is merged into. */
int report_add_chan(struct report *rep, const struct chan_key *k, const struct chan_stats *s);
void chan_stats_merge(struct chan_stats *into, const struct chan_stats *s);
void inet_ends_merge(struct inet_ends *into, const struct inet_ends *from);
/* One end of a flow for people: "127.0.0.1:6379", "[::1]:80", "*:53", "?" */
const char *inet_end_name(const uint8_t addr[16], uint16_t port, char *buf, size_t len);
/* Add one end's counts into its channel's totals. */
void channel_account(struct channel *c, const struct chan_end *e);
int report_add_note(struct report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int report_add_probe(struct report *rep, const char *desc);
/* Sort, total and derive what needs every row. */
void report_finish(struct report *rep);
void report_free(struct report *rep);
/* Keep `s` (malloc'ed) until report_free; returns it, NULL if s was NULL. */
char *report_own(struct report *rep, char *s);

const char *chan_kind_name(uint8_t kind);
/* "pipe:[123]", "socket:[5]->[6]", "fifo:[8:1234]" */
/* room for any channel's name: "tcp:[v6 address]:port->[v6 address]:port" */
#define CHAN_NAME_MAX 112
const char *chan_name(const struct channel *c, char *buf, size_t len);
/* After report_finish (rows sorted by pid). */
const struct proc_row *report_find_proc(const struct report *rep, uint32_t pid);
/* Process tgid's end of c in direction dir, or NULL (after report_finish) */
const struct chan_end *channel_find_end(const struct channel *c, uint32_t tgid, uint8_t dir);
/* Bytes delivered over the channel's active span, per second (0: unknown). */
double chan_rate(const struct channel *c);

/* The 95% half-width of k samples standing for k periods (a Poisson count),
 * in periods: 1.96 sqrt(k), and 3 for k = 0. */
double count_halfwidth(uint64_t k);
/* The 95% half-width of a sum of two independent estimates (quadrature). */
uint64_t ci95_combine(double a, double b);
/* Undoes it: the half-width x with ci95_combine(x, b) == a (0 if b >= a). */
double ci95_remove(double a, double b);

/* Were all of the row's IPC copies timed by precise probes (measure)? */
bool proc_row_copy_timed(const struct proc_row *r, const struct measure *m);

/* For rows recorded before fault_ci95_ns: the faults' half-widths per
 * activity, worked back from the phases' (ci95_ns), which were combined
 * from them; what cannot be told apart goes to ACT_OTHER. */
void proc_row_fault_ci95_from_phases(struct proc_row *r);

/* Fault time outside the timed activities (after a fork, on shared
 * memory, elsewhere) and its 95% half-width. */
uint64_t proc_row_elsewhere_ns(const struct proc_row *r);
uint64_t proc_row_elsewhere_ci95(const struct proc_row *r);

/* A process's faults of one type (enum fault_type), whatever it was doing. */
uint64_t proc_row_faults(const struct proc_row *r, int type);

int report_write_text(const struct report *rep, FILE *out);
int report_write_json(const struct report *rep, FILE *out);
int report_write_csv(const struct report *rep, FILE *out);
int report_write_svg(const struct report *rep, FILE *out);
int report_write_html(const struct report *rep, FILE *out);
/* Text for HTML (report_html.c): markup characters as entities, control
 * characters as '?'. */
void report_html_escape(FILE *out, const char *s);

#endif
