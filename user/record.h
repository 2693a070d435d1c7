/* SPDX-License-Identifier: MIT */
/*
 * Recordings (.ipcp): a finished report saved so `ipcprof report` and
 * `ipcprof compare` can print it later exactly as the live run did.
 *
 * Format 3 is a gzip stream of JSON lines (`zcat x.ipcp` shows it), one
 * record per line, each an object with one key naming what it holds:
 *
 *   {"recording":{"format":"ipcprof-recording","version":3,"writer":..,
 *                 "target":..,"start_ns":..,"methods":{..},"measure":{..},..}}
 *   {"note":"..."}  {"probe":"..."}              any number, in order
 *   {"proc":{"pid":..,"comm":..,"phase_ns":{"serialize":..},..}}
 *   {"channel":{"ino":..,"kind":..}}  then its ends: {"end":{"tgid":..,..}}
 *   {"done":{"procs":N,"channels":M,"ends":E}} last: without it, truncated
 *
 * Every field is named: a reader takes 0 for a field it does not find and
 * skips fields and records it does not know, so adding one needs no new
 * version; `version` changes only when an older reader would misread a
 * newer file, and a reader refuses versions above its own. Every count,
 * line and string has a cap (record.c), so what a file claims never sizes
 * an allocation: memory follows the bytes actually read.
 */
#ifndef IPCPROF_RECORD_H
#define IPCPROF_RECORD_H

#include <stddef.h>
#include <stdio.h>

#include "report.h"

#define RECORD_VERSION 3 /* 3: JSON lines (2: raw structs, no longer read) */

int record_write(const struct report *rep, FILE *f, const char *path, char *err, size_t errlen);

/* Fills a zeroed `rep`; on error writes a one-line reason and returns
 * -errno (-EINVAL: truncated, corrupt, foreign or newer files). */
int record_read(const char *path, struct report *rep, char *err, size_t errlen);

/* The decoder alone, on the uncompressed lines in memory (for fuzzing):
 * same result and errors as record_read without the file and zlib. */
int record_decode(const char *text, size_t len, const char *name, struct report *rep, char *err,
		  size_t errlen);

#endif
