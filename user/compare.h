/* SPDX-License-Identifier: MIT */
/* Two reports side by side: phases, bytes and their ratios. */
#ifndef IPCPROF_COMPARE_H
#define IPCPROF_COMPARE_H

#include <stdio.h>

#include "report.h"

int compare_write_text(const struct report *a, const char *name_a, const struct report *b,
		       const char *name_b, FILE *out);
int compare_write_json(const struct report *a, const char *name_a, const struct report *b,
		       const char *name_b, FILE *out);

#endif
