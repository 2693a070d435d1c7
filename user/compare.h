/* SPDX-License-Identifier: MIT */
/* Two reports side by side: phases, bytes and their ratios. */
#ifndef IPCPROF_COMPARE_H
#define IPCPROF_COMPARE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"

/* What a compared quantity counts. */
enum cmp_unit { CMP_NS, CMP_BYTES, CMP_COUNT };

/* A compared quantity by its JSON name (wall_ns, serialize_ns, ...,
 * bytes_written, bytes_read, faults_cow, faults_first_touch, processes);
 * false if there is none. */
bool compare_value(const struct report *r, const char *field, uint64_t *out, enum cmp_unit *unit);
/* Those names, comma-separated, for messages. */
void compare_fields(char *buf, size_t len);

int compare_write_text(const struct report *a, const char *name_a, const struct report *b,
		       const char *name_b, FILE *out);
int compare_write_json(const struct report *a, const char *name_a, const struct report *b,
		       const char *name_b, FILE *out);

#endif
