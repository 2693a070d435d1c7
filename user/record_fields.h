/* SPDX-License-Identifier: MIT */
/*
 * The recording's field tables: every recorded member of the report's
 * structs named once, with its type taken from the member itself, and the
 * conversion of such fields to and from JSON (record_write.c and
 * record_read.c hold the file layers).
 */
#ifndef IPCPROF_RECORD_FIELDS_H
#define IPCPROF_RECORD_FIELDS_H

#include <json.h>
#include <stddef.h>

#include "report.h"

/*
 * Caps on what a reader accepts (the writer refuses to exceed them). Far
 * above a real trace (the kernel side holds 8192 processes and 16384 channel
 * ends at once); a hostile file costs at most ~100 MB of rows.
 */
#define MAX_LINE      (64 * 1024)
#define MAX_STR	      4096
#define MAX_TARGET    (32 * 1024)
#define MAX_PROCS     32768
#define MAX_CHANS     32768
#define MAX_ENDS      65536 /* over all channels */
#define MAX_NOTES     1024  /* notes, and probes */
#define MAX_SITES     65536 /* Python call sites */
#define MAX_SEG_USES  65536 /* shared segments, per process */
#define MAX_FD_PASSES 65536
#define JSON_DEPTH    8

#define RECORD_FORMAT_NAME "ipcprof-recording"

enum ftype { T_U64, T_U32, T_I32, T_U16, T_U8, T_BOOL, T_DOUBLE };

/* The table's type follows the member's, so they cannot disagree. */
#define FTYPE(x)                                                                                   \
	_Generic((x), unsigned long long                                                           \
		 : T_U64, unsigned long                                                            \
		 : sizeof(unsigned long) == 8 ? T_U64 : T_U32, unsigned int                        \
		 : T_U32, int                                                                      \
		 : T_I32, unsigned short                                                           \
		 : T_U16, unsigned char                                                            \
		 : T_U8, _Bool                                                                     \
		 : T_BOOL, double                                                                  \
		 : T_DOUBLE)

struct field {
	const char *name;
	size_t off;
	enum ftype type;
	size_t n, n2;				/* 0: a scalar; else n (by n2) elements */
	const char *const *keys, *const *keys2; /* index names; NULL: a JSON array */
	uint64_t max;				/* largest valid value, 0: the type's */
};

#define MEMBER(S, f) ((S *)0)->f
#define COUNT(S, f)  (sizeof(MEMBER(S, f)) / sizeof(MEMBER(S, f)[0]))
#define SCALAR(S, f)                                                                               \
	{                                                                                          \
#f, offsetof(S, f), FTYPE(MEMBER(S, f)), 0, 0, NULL, NULL, 0                       \
	}
#define ENUM(S, f, max)                                                                            \
	{                                                                                          \
#f, offsetof(S, f), FTYPE(MEMBER(S, f)), 0, 0, NULL, NULL, max                     \
	}
#define ARRAY(S, f, keys)                                                                          \
	{                                                                                          \
#f, offsetof(S, f), FTYPE(MEMBER(S, f)[0]), COUNT(S, f), 0, keys, NULL, 0          \
	}
#define NAMED(name, S, f)                                                                          \
	{                                                                                          \
		name, offsetof(S, f), FTYPE(MEMBER(S, f)), 0, 0, NULL, NULL, 0                     \
	}
#define NAMED_ARRAY(name, S, f)                                                                    \
	{                                                                                          \
		name, offsetof(S, f), FTYPE(MEMBER(S, f)[0]), COUNT(S, f), 0, NULL, NULL, 0        \
	}
#define END_FIELDS                                                                                 \
	{                                                                                          \
		NULL, 0, 0, 0, 0, NULL, NULL, 0                                                    \
	}

extern const struct field measure_fields[], report_fields[], proc_fields[], channel_fields[],
    end_fields[], site_fields[], seg_use_fields[], fd_pass_fields[];

/* Add base's fields to object o. */
void fields_to_json(json_object *o, const void *base, const struct field *fields);
/* The fields found in o into base (absent ones untouched): NULL, or the
 * name of the first field whose value has the wrong type or range. */
const char *fields_from_json(json_object *o, void *base, const struct field *fields);

#endif
