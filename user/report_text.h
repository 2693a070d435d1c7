/* SPDX-License-Identifier: MIT */
/* Sections of the text report kept in files of their own. */
#ifndef IPCPROF_REPORT_TEXT_H
#define IPCPROF_REPORT_TEXT_H

#include <stdio.h>

#include "report.h"

/* SHARED MEMORY: each segment, most bytes touched first, with every
 * process's use of it and the channels its descriptor went through. */
void report_text_segments(const struct report *rep, FILE *out);

#endif
