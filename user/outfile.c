// SPDX-License-Identifier: MIT
#include "outfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"

/* Named link attempts before giving up. The names carry 64 random bits, so
 * nobody can plant them ahead; running out is still an error, never a reason
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

/* Whom ipcprof works for: the sudo caller, else root (uid 0). Looked up
 * once per output (the passwd and group databases are read). */
struct invoker {
	uid_t uid;
	gid_t gid;
	bool sudo;
};

/*
 * ipcprof's own descriptors named as files (/dev/stdout, /dev/stderr,
 * /dev/fd/N, /proc/self/fd/N): the number, else -1. They are written through
 * a duplicate of the descriptor, as a shell does, whatever it holds (a file
 * the shell truncated or appends to, a pipe, a socket): replacing the link
 * instead would rename a report over /dev/stdout for the whole system.
 */
static int own_fd(const char *path)
{
	static const char *const prefixes[] = {"/dev/fd/", "/proc/self/fd/",
					       "/proc/thread-self/fd/"};
	const char *num = NULL;
	char mine[48], *end;
	unsigned long n;

	if (!strcmp(path, "/dev/stdout"))
		return 1;
	if (!strcmp(path, "/dev/stderr"))
		return 2;
	snprintf(mine, sizeof(mine), "/proc/%d/fd/", getpid());
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) && !num; i++)
		if (!strncmp(path, prefixes[i], strlen(prefixes[i])))
			num = path + strlen(prefixes[i]);
	if (!num && !strncmp(path, mine, strlen(mine)))
		num = path + strlen(mine);
	if (!num || !isdigit((unsigned char)*num))
		return -1;
	errno = 0;
	n = strtoul(num, &end, 10);
	return *end || errno || n > INT_MAX ? -1 : (int)n;
}

static int open_own_fd(struct outfile *o, int n, const char *path, char *err, size_t errlen)
{
	int fd = fcntl(n, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return fail(err, errlen, path, -errno);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		close(fd);
		return fail(err, errlen, path, -ENOMEM);
	}
	return 0;
}

/* A device, FIFO or terminal: opened now, written in place. Only character
 * devices and FIFOs (/dev/null, a terminal): root writing a report into a
 * disk or a socket is never what was meant, nor into a FIFO someone else
 * planted. The file opened must be the one `want` describes (what classify
 * checked): an O_PATH descriptor is compared, then reopened through /proc,
 * so a link swapped in between cannot redirect the write. */
static int open_special(struct outfile *o, const char *path, const struct stat *want,
			const struct invoker *inv, char *err, size_t errlen)
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
	if (st.st_dev != want->st_dev || st.st_ino != want->st_ino) {
		close(pfd);
		return fail_msg(err, errlen, path, "it changed while being opened");
	}
	if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		close(pfd);
		return fail_msg(err, errlen, path, "not a regular file, character device or FIFO");
	}
	if (S_ISFIFO(st.st_mode) && st.st_uid != 0 && st.st_uid != inv->uid) {
		close(pfd);
		return fail_msg(err, errlen, path, "a FIFO owned by another user");
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

/* A name for a temporary link in the target's directory: random, so that
 * nobody who can write there can take all the names ahead of us. */
static void tmp_name(char *buf, size_t len)
{
	unsigned long long r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r ^= (unsigned long long)(uintptr_t)buf ^ (unsigned long long)getpid() << 32;
	snprintf(buf, len, ".ipcprof-%d-%016llx.tmp", getpid(), r);
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
			tmp_name(o->tmpname, sizeof(o->tmpname));
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
 * for them in /etc. Yes for their own writable directory and for a sticky
 * world-writable one (/tmp); no otherwise, even where a group or an ACL might
 * let them: a wrong "no" leaves a root-owned report, never the reverse. */
static bool invoker_may_create(int dirfd, uid_t uid)
{
	struct stat st;

	if (fstat(dirfd, &st))
		return false;
	if (st.st_uid == uid)
		return st.st_mode & S_IWUSR;
	return (st.st_mode & (S_IWOTH | S_ISVTX)) == (S_IWOTH | S_ISVTX);
}

/* Who owns the new version, and with what mode: an existing file keeps its
 * owner and mode when that owner is root or the invoker (a report rewritten
 * over a 0600 file stays 0600); anything else is a new file. */
static void pick_owner(struct outfile *o, const struct invoker *inv)
{
	struct stat st;

	if (!fstatat(o->dirfd, o->base, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode) &&
	    (st.st_uid == 0 || (inv->sudo && st.st_uid == inv->uid))) {
		o->keep_mode = true;
		o->mode = st.st_mode & 0777;
		o->chown = true;
		o->uid = st.st_uid;
		o->gid = st.st_gid;
		return;
	}
	o->chown = inv->sudo && invoker_may_create(o->dirfd, inv->uid);
	o->uid = inv->uid;
	o->gid = inv->gid;
}

/* /dev itself, /proc and /sys hold no reports: a link there that names a
 * regular file (/dev/core -> /proc/kcore) is not ours to replace. */
static bool system_dir(int dirfd)
{
	char proc[64], dir[PATH_MAX];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
	n = readlink(proc, dir, sizeof(dir) - 1);
	if (n < 0)
		return true; /* cannot tell: refuse */
	dir[n] = '\0';
	return !strcmp(dir, "/dev") || !strcmp(dir, "/proc") || !strncmp(dir, "/proc/", 6) ||
	       !strcmp(dir, "/sys") || !strncmp(dir, "/sys/", 5);
}

/* What a path names, for outfile_open: a file to replace (absent, regular,
 * or a symlink to such: the link itself is replaced), a special file to
 * write in place (*special, with what it must be in *want), or an error. */
static int classify(const char *path, const struct invoker *inv, bool *special, struct stat *want,
		    char *err, size_t errlen)
{
	size_t len = strlen(path);
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	struct stat lst;

	*special = false;
	if (!len || path[len - 1] == '/' || !strcmp(base, ".") || !strcmp(base, ".."))
		return fail_msg(err, errlen, path, "not a file name");
	if (lstat(path, &lst))
		return errno == ENOENT ? 0 : fail(err, errlen, path, -errno);
	if (S_ISREG(lst.st_mode))
		return 0;
	if (S_ISDIR(lst.st_mode))
		return fail(err, errlen, path, -EISDIR);
	if (!S_ISLNK(lst.st_mode)) {
		*want = lst;
		*special = true;
		return 0;
	}
	if (stat(path, want))
		return errno == ENOENT ? 0 : fail(err, errlen, path, -errno);
	if (S_ISREG(want->st_mode))
		return 0;
	if (S_ISDIR(want->st_mode))
		return fail(err, errlen, path, -EISDIR);
	/* a link to a device or FIFO is followed only when root or the
	 * invoker made it: not one planted in /tmp by someone else */
	if (lst.st_uid != 0 && lst.st_uid != inv->uid)
		return fail_msg(err, errlen, path,
				"a symbolic link to a device, owned by another user");
	*special = true;
	return 0;
}

int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen)
{
	char *dup_dir = NULL, *dup_base = NULL;
	struct invoker inv = {0};
	struct stat want;
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
	if ((fd = own_fd(path)) >= 0) {
		rc = open_own_fd(o, fd, path, err, errlen);
		goto out;
	}
	inv.sudo = launch_invoker(&inv.uid, &inv.gid);
	rc = classify(path, &inv, &special, &want, err, errlen);
	if (rc || special) {
		if (!rc)
			rc = open_special(o, path, &want, &inv, err, errlen);
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
	if (system_dir(o->dirfd)) {
		rc = fail_msg(err, errlen, path, "no reports in /dev, /proc or /sys");
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
	pick_owner(o, &inv);
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
		tmp_name(tmp, sizeof(tmp));
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
	if (rc) /* the caller aborts: a named temporary file is removed then */
		return fail(err, errlen, o->path, rc);
	fd = open_tmp(o);
	if (fd >= 0 && !(o->f = fdopen(fd, "w"))) {
		close(fd);
		fd = -ENOMEM;
	}
	return fd < 0 ? fail(err, errlen, o->path, fd) : 0;
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
