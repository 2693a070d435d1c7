/* SPDX-License-Identifier: MIT */
/* The subcommands, one file each; main.c only parses and dispatches. */
#ifndef IPCPROF_CMD_H
#define IPCPROF_CMD_H

#include <signal.h>
#include <stddef.h>

#include "cli.h"
#include "live.h"
#include "report.h"
#include "serializers.h"
#include "tracer.h"

/* The first SIGINT/SIGTERM once tracing is being set up (0: none yet). */
extern volatile sig_atomic_t cmd_exiting;

/* Each returns the process's exit status. */
int cmd_trace(struct cli *c);	   /* run, record, attach: cmd_trace.c */
int cmd_recordings(struct cli *c); /* report, compare: cmd_report.c */
int cmd_probe(struct cli *c);	   /* probe: cmd_probe.c */

/* Install the stop-and-report signal handlers, then load and attach. */
int cmd_open_tracer(const struct cli *c, struct ser_plan *plan, struct tracer **t);

/*
 * The tracing phase: until the command exits (run, record) or the targets
 * exit, -d passes or a signal comes (attach). They return the exit status
 * to pass on; err is set when tracing itself failed.
 */
int cmd_run(const struct cli *c, struct tracer *t, struct report *rep, struct live *lv, char *err,
	    size_t errlen);
int cmd_attach(const struct cli *c, struct tracer *t, struct report *rep, struct live *lv,
	       char *err, size_t errlen);

/* The report in c's --format to `output` (stdout when NULL), and --svg. */
int write_report(const struct cli *c, const struct report *rep, const char *output);

#endif
