/* SPDX-License-Identifier: MIT */
/*
 * Output files written by root on behalf of a user: checked and opened
 * before tracing starts (a bad -o fails at once, not after the trace), and
 * never written through a path the traced command could have changed
 * meanwhile. A regular file is written into an unnamed O_TMPFILE in the
 * directory held open since the start, then linked and renamed over the
 * target: a planted symlink is replaced, not followed; a failed write leaves
 * the old file intact; a SIGKILL leaves nothing behind. Devices, FIFOs and
 * terminals (/dev/null, /dev/stdout) are opened at once and written in place;
 * a symlink to one is followed only when root or the invoker owns it. A new
 * file belongs to the sudo caller only where they could have created it.
 */
#ifndef IPCPROF_OUTFILE_H
#define IPCPROF_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct outfile {
	bool opened;	  /* by outfile_open: a zeroed one is never closed */
	const char *path; /* as given; NULL: stdout */
	FILE *f;	  /* where to write */
	int dirfd;	  /* regular file: its directory, -1 otherwise */
	char *base;	  /* regular file: its name in dirfd */
	bool replace;	  /* regular file: link and rename at commit */
	char tmpname[64]; /* without O_TMPFILE: the named temporary file */
	uid_t uid;	  /* the new version's owner, when chown: the file's */
	gid_t gid;	  /* owner if it existed, else the sudo caller */
	bool chown;
	bool keep_mode; /* the file existed: its mode carries over */
	mode_t mode;
};

/* Open `path` (NULL: stdout) for writing, or fail with a one-line reason. */
int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen);

/* Make the file whole at its path: flush, check every write, link + rename.
 * Returns 0 or -errno with the reason (disk full, closed pipe...). Closes. */
int outfile_commit(struct outfile *o, char *err, size_t errlen);

/* Periodic versions (--metrics-file): make what was written so far the
 * file at its path, as commit does, and go on writing a fresh version.
 * After a failure nothing more can be written: the caller aborts. */
int outfile_publish(struct outfile *o, char *err, size_t errlen);

/* Give up: the target is left as it was. */
void outfile_abort(struct outfile *o);

#endif
