/* SPDX-License-Identifier: MIT */
/* JSON reports read back, for compare (report_json_read.c). */
#ifndef IPCPROF_REPORT_JSON_READ_H
#define IPCPROF_REPORT_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

/* Decode data (the JSON report, possibly after a command's own output).
 * 0, or -errno with a one-line reason naming `name` and the member. */
int report_json_decode(const char *data, size_t len, const char *name, struct report *rep,
		       char *err, size_t errlen);
int report_json_read(const char *path, struct report *rep, char *err, size_t errlen);

/* Not a recording (those are gzip streams): read it as a JSON report. */
bool report_file_is_json(const char *path);

#endif
