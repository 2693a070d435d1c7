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

/* supplementary groups we carry over (the kernel's NGROUPS_MAX is 65536) */
#define NGROUPS_MAX_LAUNCH 1024

/*
 * Who the command runs as, decided before fork (getpwnam, getgrouplist and
 * setenv are not async-signal-safe, and the tracer has threads): the child
 * only makes syscalls. It fails closed: any doubt is an error, never root.
 */
struct creds {
	bool drop;
	uid_t uid;
	gid_t gid;
	gid_t groups[NGROUPS_MAX_LAUNCH];
	int n_groups;
	char **envp; /* environ with HOME, USER, LOGNAME of the target user */
};

static int strict_id(const char *name, const char *s, uint64_t *v, char *err, size_t errlen)
{
	if (!s || !parse_u64(s, 0, UINT32_MAX - 1, v)) {
		snprintf(err, errlen,
			 "%s is %s%s%s: cannot tell whom to run the command as (use --user NAME)",
			 name, s ? "'" : "unset", s ? s : "", s ? "'" : "");
		return -EINVAL;
	}
	return 0;
}

/* environ with the user's HOME, USER and LOGNAME (malloc'ed array). */
static char **user_environ(const struct passwd *pw)
{
	extern char **environ;
	size_t n = 0, k = 0;
	char **envp;

	while (environ[n])
		n++;
	envp = calloc(n + 4, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "HOME=", 5) && strncmp(environ[i], "USER=", 5) &&
		    strncmp(environ[i], "LOGNAME=", 8))
			envp[k++] = environ[i];
	if (asprintf(&envp[k++], "HOME=%s", pw->pw_dir) < 0 ||
	    asprintf(&envp[k++], "USER=%s", pw->pw_name) < 0 ||
	    asprintf(&envp[k++], "LOGNAME=%s", pw->pw_name) < 0) {
		free(envp);
		return NULL;
	}
	return envp;
}

static int user_creds(const struct passwd *pw, struct creds *c, char *err, size_t errlen)
{
	int n = NGROUPS_MAX_LAUNCH;

	c->drop = true;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	if (getgrouplist(pw->pw_name, pw->pw_gid, c->groups, &n) < 0) {
		snprintf(err, errlen, "%s is in more than %d groups", pw->pw_name,
			 NGROUPS_MAX_LAUNCH);
		return -E2BIG;
	}
	c->n_groups = n;
	c->envp = user_environ(pw);
	if (!c->envp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* The sudo caller, from SUDO_UID/SUDO_GID (and SUDO_USER when set). */
static int sudo_creds(struct creds *c, char *err, size_t errlen)
{
	const char *sudo_user = getenv("SUDO_USER");
	uint64_t uid, gid;
	struct passwd *pw;
	int rc;

	rc = strict_id("SUDO_UID", getenv("SUDO_UID"), &uid, err, errlen);
	if (!rc)
		rc = strict_id("SUDO_GID", getenv("SUDO_GID"), &gid, err, errlen);
	if (rc)
		return rc;
	if (uid == 0)
		return 0; /* sudo from root: root it is */
	pw = getpwuid((uid_t)uid);
	if (!pw || pw->pw_gid != (gid_t)gid || (sudo_user && strcmp(sudo_user, pw->pw_name))) {
		snprintf(err, errlen,
			 "SUDO_UID=%llu, SUDO_GID=%llu%s%s do not name one user in the passwd "
			 "database: cannot tell whom to run the command as (use --user NAME)",
			 (unsigned long long)uid, (unsigned long long)gid,
			 sudo_user ? ", SUDO_USER=" : "", sudo_user ? sudo_user : "");
		return -EINVAL;
	}
	return user_creds(pw, c, err, errlen);
}

static void creds_free(struct creds *c);

static int pick_creds(const char *user, struct creds *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (user) {
		struct passwd *pw = getpwnam(user);

		if (!pw) {
			snprintf(err, errlen, "--user %s: no such user", user);
			return -EINVAL;
		}
		return user_creds(pw, c, err, errlen);
	}
	if (getenv("SUDO_UID") || getenv("SUDO_GID"))
		return sudo_creds(c, err, errlen);
	return 0;
}

bool launch_invoker(uid_t *uid, gid_t *gid)
{
	struct creds c;
	char err[256];
	bool drop = !pick_creds(NULL, &c, err, sizeof(err)) && c.drop;

	*uid = c.uid;
	*gid = c.gid;
	creds_free(&c);
	return drop;
}

static void creds_free(struct creds *c)
{
	if (!c->envp)
		return;
	for (int i = 0; c->envp[i]; i++)
		if (!strncmp(c->envp[i], "HOME=", 5) || !strncmp(c->envp[i], "USER=", 5) ||
		    !strncmp(c->envp[i], "LOGNAME=", 8))
			free(c->envp[i]);
	free(c->envp);
	c->envp = NULL;
}

/* In the child: groups, then gid, then uid, and check that all took. */
static int drop_privileges(const struct creds *c)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups((size_t)c->n_groups, c->groups) || setresgid(c->gid, c->gid, c->gid) ||
	    setresuid(c->uid, c->uid, c->uid))
		return errno;
	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) || ru != c->uid || eu != c->uid ||
	    su != c->uid || rg != c->gid || eg != c->gid || sg != c->gid ||
	    (c->uid != 0 && setuid(0) == 0))
		return EPERM;
	return 0;
}

int launch_check(char *const argv[], const char *user, char *err, size_t errlen)
{
	char *path = find_in_path(argv[0]);
	struct creds c;
	int rc;

	if (!path) {
		snprintf(err, errlen, "%s: command not found", argv[0]);
		return -ENOENT;
	}
	free(path);
	rc = pick_creds(user, &c, err, errlen);
	creds_free(&c);
	return rc;
}

int launch_stopped(struct launch *l, char *const argv[], const char *user, char *err, size_t errlen)
{
	struct creds c;
	int pfd[2], status, rc;
	pid_t pid;

	rc = launch_check(argv, user, err, errlen);
	if (rc)
		return rc;
	rc = pick_creds(user, &c, err, errlen);
	if (rc)
		return rc;
	if (!c.drop && geteuid() == 0)
		fprintf(stderr,
			"ipcprof: warning: %s runs as root (not started through sudo; "
			"--user NAME runs it as NAME)\n",
			argv[0]);
	if (pipe2(pfd, O_CLOEXEC)) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-rc));
		creds_free(&c);
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-rc));
		close(pfd[0]);
		close(pfd[1]);
		creds_free(&c);
		return rc;
	}
	if (pid == 0) {
		int e;

		close(pfd[0]);
		if (c.drop && (e = drop_privileges(&c)))
			goto fail;
		/* ignored signals survive exec: give the command the default */
		signal(SIGPIPE, SIG_DFL);
		/* wait here until the tracer has registered us */
		raise(SIGSTOP);
		if (c.envp)
			environ = c.envp;
		execvp(argv[0], argv);
		e = errno;
	fail:
		if (write(pfd[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	creds_free(&c);
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
