// SPDX-License-Identifier: MIT
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

struct creds {
	bool drop;
	uid_t uid;
	gid_t gid;
	char name[64];
};

static int pick_creds(const char *user, struct creds *c, char *err, size_t errlen)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	uint64_t v;

	memset(c, 0, sizeof(*c));
	if (user) {
		struct passwd *pw = getpwnam(user);

		if (!pw) {
			snprintf(err, errlen, "--user %s: no such user", user);
			return -EINVAL;
		}
		c->drop = true;
		c->uid = pw->pw_uid;
		c->gid = pw->pw_gid;
		snprintf(c->name, sizeof(c->name), "%s", pw->pw_name);
		return 0;
	}
	if (su && sg && parse_u64(su, 0, UINT32_MAX, &v)) {
		struct passwd *pw;

		c->uid = (uid_t)v;
		if (!parse_u64(sg, 0, UINT32_MAX, &v))
			return 0;
		c->gid = (gid_t)v;
		c->drop = c->uid != 0;
		pw = getpwuid(c->uid);
		snprintf(c->name, sizeof(c->name), "%s", pw ? pw->pw_name : "");
	}
	return 0;
}

int launch_check(char *const argv[], const char *user, char *err, size_t errlen)
{
	char *path = find_in_path(argv[0]);
	struct creds c;

	if (!path) {
		snprintf(err, errlen, "%s: command not found", argv[0]);
		return -ENOENT;
	}
	free(path);
	return pick_creds(user, &c, err, errlen);
}

int launch_stopped(struct launch *l, char *const argv[], const char *user, char *err, size_t errlen)
{
	struct creds c;
	int pfd[2], status, rc;
	pid_t pid;

	rc = launch_check(argv, user, err, errlen);
	if (rc)
		return rc;
	pick_creds(user, &c, err, errlen);
	if (pipe2(pfd, O_CLOEXEC)) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-rc));
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-rc));
		close(pfd[0]);
		close(pfd[1]);
		return rc;
	}
	if (pid == 0) {
		int e;

		close(pfd[0]);
		if (c.drop &&
		    ((c.name[0] && initgroups(c.name, c.gid)) || setgid(c.gid) || setuid(c.uid))) {
			e = errno;
			goto fail;
		}
		/* wait here until the tracer has registered us */
		raise(SIGSTOP);
		execvp(argv[0], argv);
		e = errno;
	fail:
		if (write(pfd[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	l->pid = pid;
	l->errfd = pfd[0];
	if (waitpid(pid, &status, WUNTRACED) < 0 || !WIFSTOPPED(status)) {
		int e = 0;

		if (read(pfd[0], &e, sizeof(e)) == sizeof(e))
			snprintf(err, errlen, "%s: cannot switch to uid %u: %s", argv[0],
				 (unsigned)c.uid, strerror(e));
		else
			snprintf(err, errlen, "%s: child did not start", argv[0]);
		close(pfd[0]);
		return e ? -e : -ECHILD;
	}
	return 0;
}

int launch_continue(struct launch *l, char *err, size_t errlen)
{
	ssize_t n;
	int e = 0;

	kill(l->pid, SIGCONT);
	do
		n = read(l->errfd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(l->errfd);
	l->errfd = -1;
	if (n == sizeof(e)) {
		snprintf(err, errlen, "cannot execute: %s", strerror(e));
		waitpid(l->pid, NULL, 0);
		return -e;
	}
	return 0;
}
