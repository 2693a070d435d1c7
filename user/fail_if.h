/* SPDX-License-Identifier: MIT */
/*
 * compare --fail-if EXPR: a regression a CI job refuses. EXPR is
 *   FIELD OP CHANGE
 * FIELD a compared quantity by its JSON name (serialize_ns, wall_ns,
 * bytes_written, faults_cow, processes...); OP `>` or `<`; CHANGE B minus A,
 * either relative (`+10%`, `-5%`) or absolute in the field's unit (`+50ms`,
 * `+2us`, `-1MB`, `+4KiB`, `+3`; no suffix: ns, bytes or a count). The
 * comparison is strict: exactly +10% does not trip `>+10%`. A zero baseline
 * makes any increase +inf% and any decrease -inf%.
 */
#ifndef IPCPROF_FAIL_IF_H
#define IPCPROF_FAIL_IF_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

struct fail_if {
	char field[32];
	char op;       /* '>' or '<' */
	bool relative; /* amount in percent */
	double amount; /* percent, or ns / bytes / count */
	const char *text;
};

/* 0, or -EINVAL with a one-line reason. */
int fail_if_parse(const char *expr, struct fail_if *out, char *err, size_t errlen);

/* Whether B against A trips it; msg says why, or the values when not. */
bool fail_if_check(const struct fail_if *f, const struct report *a, const struct report *b,
		   char *msg, size_t len);

#endif
