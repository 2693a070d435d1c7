/* SPDX-License-Identifier: MIT */
/*
 * attach --metrics / --metrics-file: the report as Prometheus counters, in
 * the Prometheus text format (0.0.4, what node_exporter's textfile
 * collector reads) or OpenMetrics 1.0 (what a scraper asks for with
 * Accept: application/openmetrics-text).
 *
 * Label cardinality is bounded: the first `max_procs` processes seen (and
 * `max_ends` channel ends of live processes) get series of their own while
 * they live; the rest, and every process once it exits, are summed into
 * pid="other" series, so that the series of a family always add up to the
 * whole. Counters never decrease: a derived phase (compute, other...) that
 * a new sample revises downwards holds its last value until it grows again.
 */
#ifndef IPCPROF_METRICS_H
#define IPCPROF_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

#define METRICS_MAX_PROCS 32
#define METRICS_MAX_ENDS  64

struct metrics;

struct metrics *metrics_new(unsigned max_procs, unsigned max_ends);
void metrics_free(struct metrics *m);

/* Take a snapshot (a report from tracer_collect + report_finish). 0 or
 * -ENOMEM. */
int metrics_update(struct metrics *m, const struct report *rep);

/* The last snapshot as text (malloc'ed, *len bytes), or NULL. */
char *metrics_format(const struct metrics *m, bool openmetrics, size_t *len);

/* A label value as the exposition formats want it: \, " and newline
 * escaped; other control and non-ASCII bytes (comm and paths are the
 * traced programs' choice, not always UTF-8) become '?'. */
void metrics_label_value(const char *in, char *out, size_t len);

#endif
