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

static int fail(char *err, size_t errlen, const char *path, int rc)
{
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
	return rc;
}

/* A device, FIFO or terminal: opened now, written in place. */
static int open_special(struct outfile *o, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return fail(err, errlen, path, -errno);
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
		for (int i = 0; i < 100 && fd < 0; i++) {
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

int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen)
{
	char *dup_dir = NULL, *dup_base = NULL;
	struct stat st;
	int fd, rc = 0;

	memset(o, 0, sizeof(*o));
	o->opened = true;
	o->dirfd = -1;
	o->path = path;
	if (!path) {
		o->f = stdout;
		return 0;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return fail(err, errlen, path, -EISDIR);
		return open_special(o, path, err, errlen);
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
	o->chown = launch_invoker(&o->uid, &o->gid);
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
	int fd = fileno(o->f);

	if (o->chown && fchown(fd, o->uid, o->gid))
		return -errno;
	if (o->tmpname[0]) { /* already named: just move it into place */
		if (renameat(o->dirfd, o->tmpname, o->dirfd, o->base))
			return -errno;
		o->tmpname[0] = '\0';
		return 0;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (int i = 0; i < 100; i++) {
		snprintf(tmp, sizeof(tmp), ".ipcprof-%d-%d.tmp", getpid(), i);
		if (linkat(AT_FDCWD, proc, o->dirfd, tmp, AT_SYMLINK_FOLLOW) == 0)
			break;
		if (errno != EEXIST)
			return -errno;
	}
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
