/* SPDX-License-Identifier: MIT */
/* The command line: subcommands and options (argp), parsed into struct cli. */
#ifndef IPCPROF_CLI_H
#define IPCPROF_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "probe_plan.h"
#include "procfs.h"

enum mode { MODE_NONE, MODE_RUN, MODE_RECORD, MODE_ATTACH, MODE_PROBE, MODE_REPORT, MODE_COMPARE };
enum format { FMT_TEXT, FMT_JSON, FMT_CSV };

struct cli {
	enum mode mode;
	const char *output;
	enum format format;
	bool follow;
	bool call_sites; /* walk Python frames (--no-call-sites: not) */
	uint32_t sample_hz;
	uint32_t thread_sample_hz; /* --thread-sample-hz, 0: off */
	bool verbose;
	const char *user;
	const char **uprobes;
	int n_uprobes;
	struct pid_list pids;
	double duration_s; /* attach: 0 = until targets exit or Ctrl-C */
	char **cmd;
	enum probe_mode probe_mode;
	const char *svg;	  /* --svg FILE */
	const char *html;	  /* --html FILE */
	const char *timeline;	  /* --timeline FILE */
	bool live;		  /* attach --live */
	const char *metrics;	  /* attach --metrics ADDR:PORT */
	const char *metrics_file; /* attach --metrics-file PATH */
	const char *files[2];	  /* report, compare: recordings (compare: or JSON reports) */
	const char **fail_if;	  /* compare --fail-if EXPR (fail_if.h) */
	int n_fail_if;
	int n_files;
};

/*
 * Parse argv into c. Returns 0, or the exit status to leave with at once
 * (2 for a usage error, whose message was printed; argp itself exits after
 * --help, --usage and --version).
 */
int cli_parse(struct cli *c, int argc, char **argv);
void cli_free(struct cli *c);

#endif
