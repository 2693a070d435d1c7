// SPDX-License-Identifier: MIT
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"

/* Named link attempts before giving up: the names are ours only by luck of
 * nobody having made them first, so running out is an error, never a reason
 * to rename whatever holds the last name over the target. */
#define LINK_TRIES 100

static int fail(char *err, size_t errlen, const char *path, int rc)
{
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
	return rc;
}

static int fail_msg(char *err, size_t errlen, const char *path, const char *why)
{
	snprintf(err, errlen, "cannot write %s: %s", path, why);
	return -EPERM;
}

/* A device, FIFO or terminal: opened now, written in place. Only character
 * devices and FIFOs (/dev/null, a terminal, /dev/stdout's pipe): root writing
 * a report into a disk or a socket is never what was meant. The type is read
 * from the very file then opened (an O_PATH descriptor, reopened through
 * /proc), so a link swapped in between cannot redirect the write. */
static int open_special(struct outfile *o, const char *path, char *err, size_t errlen)
{
	char proc[64];
	struct stat st;
	int pfd, fd;

	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return fail(err, errlen, path, -errno);
	if (fstat(pfd, &st)) {
		fd = -errno;
		close(pfd);
		return fail(err, errlen, path, fd);
	}
	if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		close(pfd);
		return fail_msg(err, errlen, path, "not a regular file, character device or FIFO");
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fd = -errno;
	close(pfd);
	if (fd < 0)
		return fail(err, errlen, path, fd);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		close(fd);
		return fail(err, errlen, path, -ENOMEM);
	}
	return 0;
}

/* The next version of the file: unnamed in the held directory, or named
 * exclusively where the file system has no O_TMPFILE. fd or -errno. */
static int open_tmp(struct outfile *o)
{
	/* unnamed until commit: nothing to follow, nothing left on SIGKILL */
	int fd = openat(o->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);

	if (fd < 0 && errno == EOPNOTSUPP) {
		/* a file system without O_TMPFILE: a named temporary file, made
		 * exclusively (a SIGKILL would leave it behind) */
		for (int i = 0; i < LINK_TRIES && fd < 0; i++) {
			snprintf(o->tmpname, sizeof(o->tmpname), ".ipcprof-%d-%d.tmp", getpid(), i);
			fd = openat(o->dirfd, o->tmpname,
				    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (fd < 0 && errno != EEXIST)
				break;
		}
		if (fd < 0)
			o->tmpname[0] = '\0';
	}
	return fd < 0 ? -errno : fd;
}

/* Could the invoker have made a file in this directory themselves? Only then
 * is the new file theirs: otherwise a sudo user would own whatever root wrote
 * for them in /etc. Judged from the mode bits with the primary group only:
 * a wrong "no" leaves a root-owned report, never the reverse. */
static bool invoker_may_create(int dirfd, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstat(dirfd, &st))
		return false;
	if (st.st_uid == uid)
		return st.st_mode & S_IWUSR;
	if (st.st_gid == gid)
		return st.st_mode & S_IWGRP;
	return st.st_mode & S_IWOTH;
}

/* Who owns the new version, and with what mode: an existing file keeps its
 * owner and mode when that owner is root or the invoker (a report rewritten
 * over a 0600 file stays 0600); anything else is a new file. */
static void pick_owner(struct outfile *o)
{
	uid_t uid;
	gid_t gid;
	bool sudo = launch_invoker(&uid, &gid);
	struct stat st;

	if (!fstatat(o->dirfd, o->base, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode) &&
	    (st.st_uid == 0 || (sudo && st.st_uid == uid))) {
		o->keep_mode = true;
		o->mode = st.st_mode & 0777;
		o->chown = true;
		o->uid = st.st_uid;
		o->gid = st.st_gid;
		return;
	}
	o->chown = sudo && invoker_may_create(o->dirfd, uid, gid);
	o->uid = uid;
	o->gid = gid;
}

/* What a path names, for outfile_open: a file to replace (absent, regular,
 * or a symlink to such: the link itself is replaced), a special file to
 * write in place, or an error. */
static int classify(const char *path, bool *special, char *err, size_t errlen)
{
	struct stat lst, st;
	uid_t uid = 0;
	gid_t gid;

	*special = false;
	if (lstat(path, &lst))
		return errno == ENOENT ? 0 : fail(err, errlen, path, -errno);
	if (S_ISREG(lst.st_mode))
		return 0;
	if (S_ISDIR(lst.st_mode))
		return fail(err, errlen, path, -EISDIR);
	if (!S_ISLNK(lst.st_mode)) {
		*special = true;
		return 0;
	}
	if (stat(path, &st))
		return errno == ENOENT ? 0 : fail(err, errlen, path, -errno);
	if (S_ISREG(st.st_mode))
		return 0;
	if (S_ISDIR(st.st_mode))
		return fail(err, errlen, path, -EISDIR);
	/* a link to a device or FIFO is followed (/dev/stdout) only when root
	 * or the invoker made it: not one planted in /tmp by someone else */
	launch_invoker(&uid, &gid);
	if (lst.st_uid != 0 && lst.st_uid != uid)
		return fail_msg(err, errlen, path,
				"a symbolic link to a device, owned by another user");
	*special = true;
	return 0;
}

int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen)
{
	char *dup_dir = NULL, *dup_base = NULL;
	bool special;
	int fd, rc = 0;

	memset(o, 0, sizeof(*o));
	o->opened = true;
	o->dirfd = -1;
	o->path = path;
	if (!path) {
		o->f = stdout;
		return 0;
	}
	rc = classify(path, &special, err, errlen);
	if (rc || special) {
		if (!rc)
			rc = open_special(o, path, err, errlen);
		goto out;
	}
	dup_dir = strdup(path);
	dup_base = strdup(path);
	if (!dup_dir || !dup_base) {
		rc = fail(err, errlen, path, -ENOMEM);
		goto out;
	}
	o->dirfd = open(dirname(dup_dir), O_DIRECTORY | O_PATH | O_CLOEXEC);
	if (o->dirfd < 0) {
		rc = fail(err, errlen, path, -errno);
		goto out;
	}
	o->base = strdup(basename(dup_base));
	fd = o->base ? open_tmp(o) : -ENOMEM;
	if (fd < 0) {
		rc = fail(err, errlen, path, fd);
		goto out;
	}
	o->f = fdopen(fd, "w");
	if (!o->f) {
		close(fd);
		rc = fail(err, errlen, path, -ENOMEM);
		goto out;
	}
	o->replace = true;
	pick_owner(o);
out:
	free(dup_dir);
	free(dup_base);
	if (rc)
		outfile_abort(o);
	return rc;
}

/* Link the unnamed file under a fresh name, then rename it over the target
 * (rename replaces a symlink there instead of following it). */
static int link_over(struct outfile *o)
{
	char proc[64], tmp[64];
	int fd = fileno(o->f), i;

	if (o->chown && fchown(fd, o->uid, o->gid))
		return -errno;
	if (o->keep_mode && fchmod(fd, o->mode))
		return -errno;
	if (o->tmpname[0]) { /* already named: just move it into place */
		if (renameat(o->dirfd, o->tmpname, o->dirfd, o->base))
			return -errno;
		o->tmpname[0] = '\0';
		return 0;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (i = 0; i < LINK_TRIES; i++) {
		snprintf(tmp, sizeof(tmp), ".ipcprof-%d-%d.tmp", getpid(), i);
		if (linkat(AT_FDCWD, proc, o->dirfd, tmp, AT_SYMLINK_FOLLOW) == 0)
			break;
		if (errno != EEXIST)
			return -errno;
	}
	if (i == LINK_TRIES) /* every name taken: none of them is ours */
		return -EEXIST;
	if (renameat(o->dirfd, tmp, o->dirfd, o->base)) {
		int rc = -errno;

		unlinkat(o->dirfd, tmp, 0);
		return rc;
	}
	return 0;
}
int outfile_publish(struct outfile *o, char *err, size_t errlen)
{
	int rc = 0, fd;

	if (!o->f)
		return 0;
	errno = 0;
	if (fflush(o->f) || ferror(o->f))
		rc = -(errno ? errno : EIO);
	if (!o->replace) /* a device or FIFO: written in place */
		return rc ? fail(err, errlen, o->path ? o->path : "standard output", rc) : 0;
	if (!rc)
		rc = link_over(o);
	if (fclose(o->f) && !rc)
		rc = -errno;
	o->f = NULL;
	fd = open_tmp(o);
	if (fd >= 0 && !(o->f = fdopen(fd, "w"))) {
		close(fd);
		fd = -ENOMEM;
	}
	if (!rc && fd < 0)
		rc = fd;
	return rc ? fail(err, errlen, o->path, rc) : 0;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
	int rc = 0;

	if (!o->f)
		return 0;
	errno = 0;
	if (fflush(o->f) || ferror(o->f))
		rc = -(errno ? errno : EIO);
	if (!rc && o->replace)
		rc = link_over(o);
	if (o->f != stdout && fclose(o->f) && !rc)
		rc = -errno;
	o->f = NULL;
	outfile_abort(o);
	if (rc)
		return fail(err, errlen, o->path ? o->path : "standard output", rc);
	return 0;
}

void outfile_abort(struct outfile *o)
{
	/* an output never asked for is all zeros: its dirfd 0 is stdin */
	if (!o->opened)
		return;
	o->opened = false;
	if (o->f && o->f != stdout)
		fclose(o->f); /* an unnamed file: gone with its descriptor */
	o->f = NULL;
	if (o->tmpname[0] && o->dirfd >= 0)
		unlinkat(o->dirfd, o->tmpname, 0);
	o->tmpname[0] = '\0';
	if (o->dirfd >= 0)
		close(o->dirfd);
	o->dirfd = -1;
	free(o->base);
	o->base = NULL;
}
