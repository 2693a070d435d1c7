/* SPDX-License-Identifier: MIT */
/*
 * Findings: a few sentences a person can act on, derived only from the
 * measured numbers of a report, each citing them. The rules and their
 * thresholds are one table (user/findings.c).
 */
#ifndef IPCPROF_FINDINGS_H
#define IPCPROF_FINDINGS_H

#include "report.h"

#define FINDINGS_MAX 8

struct finding {
	const char *rule; /* the rule's id, e.g. "serialization-dominates" */
	double value;	  /* the measured quantity the rule compared */
	double threshold; /* ... and the rule's threshold */
	char text[640];
};

/* Evaluate every rule on `rep`; returns how many fired (<= max). */
int findings_derive(const struct report *rep, struct finding *out, int max);

#endif
