/* SPDX-License-Identifier: MIT */
/* The subcommands, one file each; main.c only parses and dispatches. */
#ifndef IPCPROF_CMD_H
#define IPCPROF_CMD_H

#include <signal.h>
#include <stddef.h>

#include "cli.h"
#include "live.h"
#include "outfile.h"
#include "perfetto.h"
#include "report.h"
#include "serializers.h"
#include "tracer.h"

/* The first SIGINT/SIGTERM once tracing is being set up (0: none yet). */
extern volatile sig_atomic_t cmd_exiting;

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
	       char *err, size_t errlen);

/* The files the command line names, opened before tracing (report_output.c). */
struct cmd_outputs {
	struct outfile report;	   /* -o, or stdout (record: always stdout) */
	struct outfile record;	   /* record: -o or ipcprof.ipcp */
	struct outfile svg;	   /* --svg */
	struct outfile timeline;   /* --timeline */
	struct perfetto *perfetto; /* --timeline FILE.perfetto-trace: streamed */
};

/* Open them all (one-line error and exit status 1 otherwise). */
int cmd_open_outputs(const struct cli *c, struct cmd_outputs *o);
/* Make every written file whole at its path; 1 if any write failed. */
int cmd_commit_outputs(struct cmd_outputs *o);
void cmd_abort_outputs(struct cmd_outputs *o);

/* The report in c's --format, and --svg. */
int write_report(const struct cli *c, const struct report *rep, struct cmd_outputs *o);

#endif
