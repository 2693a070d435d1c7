/* SPDX-License-Identifier: MIT */
/*
 * Recordings (.ipcp): a finished report saved so `ipcprof report` and
 * `ipcprof compare` can print it later exactly as the live run did.
 *
 * Layout: a fixed little-endian header (magic, format version, the sizes of
 * the row structs it was written with, payload lengths, CRC-32 of the
 * payload), then the payload compressed with zlib.
 */
#ifndef IPCPROF_RECORD_H
#define IPCPROF_RECORD_H

#include <stddef.h>

#include <stdio.h>

#include "report.h"

#define RECORD_VERSION 2 /* 2: proc_row carries ci95_ns */

int record_write(const struct report *rep, FILE *f, const char *path, char *err, size_t errlen);

/* Fills a zeroed `rep`; on error writes a one-line reason and returns -1
 * (truncated, corrupt, foreign or newer files are all errors). */
int record_read(const char *path, struct report *rep, char *err, size_t errlen);

#endif
