/* SPDX-License-Identifier: MIT */
/* The subcommands, one file each; main.c only parses and dispatches. */
#ifndef IPCPROF_CMD_H
#define IPCPROF_CMD_H

#include <signal.h>
#include <stddef.h>

#include "cli.h"
#include "live.h"
#include "metrics.h"
#include "metrics_http.h"
#include "outfile.h"
#include "perfetto.h"
#include "report.h"
#include "serializers.h"
#include "tracer.h"

/* The first SIGINT/SIGTERM once tracing is being set up (0: none yet). */
extern volatile sig_atomic_t cmd_exiting;

struct cmd_metrics;

/* Each returns the process's exit status. */
int cmd_trace(struct cli *c);	   /* run, record, attach: cmd_trace.c */
int cmd_recordings(struct cli *c); /* report, compare: cmd_report.c */
int cmd_probe(struct cli *c);	   /* probe: cmd_probe.c */

/* Install the stop-and-report signal handlers, then load and attach;
 * a Perfetto timeline (NULL: none) gets the records as they come. */
int cmd_open_tracer(const struct cli *c, struct ser_plan *plan, struct perfetto *pf,
		    struct tracer **t);

/*
 * The tracing phase: until the command exits (run, record) or the targets
 * exit, -d passes or a signal comes (attach). They return the exit status
 * to pass on; err is set when tracing itself failed.
 */
int cmd_run(const struct cli *c, struct tracer *t, struct report *rep, struct live *lv, char *err,
	    size_t errlen);
int cmd_attach(const struct cli *c, struct tracer *t, struct report *rep, struct live *lv,
	       struct cmd_metrics *cm, char *err, size_t errlen);

/* attach --metrics, --metrics-file (cmd_metrics.c). */
struct cmd_metrics {
	struct metrics *m; /* NULL: neither asked for */
	struct metrics_server *srv;
	struct outfile file;
	bool file_on;
	bool file_failed; /* a version could not be written: exit non-zero */
	uint64_t next_file_ns;
	struct tracer *t; /* for snapshots, during a tick */
	uint64_t start_ns;
	bool snapped;	       /* this tick's snapshot is taken */
	uint64_t last_snap_ns; /* when the last one was */
};
/* Start the server and open the file before tracing (a taken port fails
 * at once). 0 or the exit status. */
int cmd_metrics_open(const struct cli *c, struct cmd_metrics *cm);
/* In the tracing loop: answer scrapes, rewrite the file when due. */
void cmd_metrics_tick(struct cmd_metrics *cm, struct tracer *t, uint64_t start_ns);
/* The final numbers into the file; stops serving. 0 or 1. */
int cmd_metrics_finish(struct cmd_metrics *cm, const struct report *rep);
void cmd_metrics_close(struct cmd_metrics *cm);

/* The files the command line names, opened before tracing (report_output.c). */
struct cmd_outputs {
	struct outfile report;	    /* -o, or stdout (record: always stdout) */
	struct outfile record;	    /* record: -o or ipcprof.ipcp */
	struct outfile svg;	    /* --svg */
	struct outfile html;	    /* --html */
	struct outfile timeline;    /* --timeline */
	struct perfetto *perfetto;  /* --timeline FILE.perfetto-trace: streamed */
	struct cmd_metrics metrics; /* attach --metrics, --metrics-file */
};

/* Open them all (one-line error and exit status 1 otherwise). */
int cmd_open_outputs(const struct cli *c, struct cmd_outputs *o);
/* Make every written file whole at its path; 1 if any write failed. */
int cmd_commit_outputs(struct cmd_outputs *o);
void cmd_abort_outputs(struct cmd_outputs *o);

/* The report in c's --format, and --svg. */
int write_report(const struct cli *c, const struct report *rep, struct cmd_outputs *o);

#endif
