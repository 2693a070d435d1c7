// SPDX-License-Identifier: MIT
/*
 * attach --metrics / --metrics-file: snapshots of the counters while
 * tracing, as the HTTP server asks for them (metrics_http.c) and every
 * METRICS_FILE_EVERY_NS for the file, then the final numbers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "util.h"

#define METRICS_FILE_EVERY_NS 5000000000ull
/* Scrapes closer together than this share a snapshot: anyone on the host
 * can connect to 127.0.0.1, and a scraper in a tight loop must not keep the
 * tracing loop reading maps all the time (at most 10 snapshots a second). */
#define METRICS_MIN_SNAPSHOT_NS 100000000ull

int cmd_metrics_open(const struct cli *c, struct cmd_metrics *cm)
{
	char err[512];
	int rc;

	memset(cm, 0, sizeof(*cm));
	if (c->mode != MODE_ATTACH || (!c->metrics && !c->metrics_file))
		return 0;
	cm->m = metrics_new(METRICS_MAX_PROCS, METRICS_MAX_ENDS);
	if (!cm->m) {
		fprintf(stderr, "ipcprof: out of memory\n");
		return 1;
	}
	if (c->metrics_file) {
		if (outfile_open(&cm->file, c->metrics_file, err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			return 1;
		}
		cm->file_on = true;
	}
	if (c->metrics) {
		rc = metrics_server_start(&cm->srv, c->metrics, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "ipcprof: %s\n", err);
			return rc == -EINVAL ? 2 : 1;
		}
		metrics_server_url(cm->srv, err, sizeof(err));
		fprintf(stderr, "ipcprof: serving metrics at %s\n", err);
		if (!metrics_server_is_loopback(cm->srv))
			fprintf(stderr, "ipcprof: note: the metrics (process names, pids, "
					"channels) are served without authentication to every "
					"host that can reach this address\n");
	}
	return 0;
}

/* A snapshot of the counters into cm->m, once per tick. */
static int snapshot(struct cmd_metrics *cm)
{
	struct report rep = {0};
	int rc;

	if (cm->snapped)
		return 0;
	if (cm->last_snap_ns && now_ns() - cm->last_snap_ns < METRICS_MIN_SNAPSHOT_NS)
		return 0; /* the last one is fresh enough */
	cm->last_snap_ns = now_ns();
	rep.start_ns = cm->start_ns;
	rc = tracer_collect(cm->t, &rep);
	if (!rc) {
		report_finish(&rep);
		rc = metrics_update(cm->m, &rep);
	}
	report_free(&rep);
	cm->snapped = rc == 0;
	return rc;
}

static char *render(void *ctx, bool openmetrics, size_t *len)
{
	struct cmd_metrics *cm = ctx;

	return snapshot(cm) ? NULL : metrics_format(cm->m, openmetrics, len);
}

static int write_file(struct cmd_metrics *cm)
{
	char err[512] = "", *text;
	size_t len = 0;

	text = metrics_format(cm->m, false, &len);
	if (!text || !cm->file.f || fwrite(text, 1, len, cm->file.f) != len ||
	    outfile_publish(&cm->file, err, sizeof(err))) {
		if (!text)
			snprintf(err, sizeof(err), "%s: out of memory", cm->file.path);
		else if (!err[0])
			snprintf(err, sizeof(err), "cannot write %s", cm->file.path);
		/* the file keeps its last good version; tracing and the
		 * HTTP endpoint go on without it */
		fprintf(stderr, "ipcprof: %s: no more versions of the metrics file\n", err);
		outfile_abort(&cm->file);
		cm->file_on = false;
		cm->file_failed = true;
		free(text);
		return 1;
	}
	free(text);
	return 0;
}

void cmd_metrics_tick(struct cmd_metrics *cm, struct tracer *t, uint64_t start_ns)
{
	uint64_t now = now_ns();

	if (!cm->m)
		return;
	cm->t = t;
	cm->start_ns = start_ns;
	cm->snapped = false;
	metrics_server_answer(cm->srv, render, cm);
	if (cm->file_on && now >= cm->next_file_ns) {
		cm->next_file_ns = now + METRICS_FILE_EVERY_NS;
		if (!snapshot(cm))
			write_file(cm);
	}
}

int cmd_metrics_finish(struct cmd_metrics *cm, const struct report *rep)
{
	char err[512], *text;
	size_t len = 0;
	int rc = 0;

	if (!cm->m)
		return 0;
	metrics_server_stop(cm->srv); /* tracing is over: no more scrapes */
	cm->srv = NULL;
	if (!cm->file_on)
		return cm->file_failed ? 1 : 0;
	if (metrics_update(cm->m, rep) || !(text = metrics_format(cm->m, false, &len)))
		return 1;
	if (!cm->file.f || fwrite(text, 1, len, cm->file.f) != len)
		rc = 1;
	free(text);
	if (outfile_commit(&cm->file, err, sizeof(err))) {
		fprintf(stderr, "ipcprof: %s\n", err);
		rc = 1;
	}
	cm->file_on = false;
	return rc;
}

void cmd_metrics_close(struct cmd_metrics *cm)
{
	metrics_server_stop(cm->srv);
	cm->srv = NULL;
	if (cm->file_on)
		outfile_abort(&cm->file);
	cm->file_on = false;
	metrics_free(cm->m);
	cm->m = NULL;
}
