/* SPDX-License-Identifier: MIT */
/* Starting the traced command stopped, so no instruction runs untraced. */
#ifndef IPCPROF_LAUNCH_H
#define IPCPROF_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct launch {
	pid_t pid;
	int errfd; /* reads the child's exec errno; EOF once exec succeeded */
};

/*
 * What launch_stopped() checks before it forks, so a mistyped command or
 * user fails before any BPF is loaded: -ENOENT (command not found) or
 * -EINVAL (no such user), with the reason in err.
 */
int launch_check(char *const argv[], const char *user, char *err, size_t errlen);

/*
 * Fork a child that drops to `user` (or SUDO_UID/SUDO_GID when NULL and
 * started through sudo), stops itself, and execs argv once continued.
 * Returns 0 with the child stopped, or -errno with a one-line reason in err.
 */
int launch_stopped(struct launch *l, char *const argv[], const char *user, char *err,
		   size_t errlen);

/* The user who ran ipcprof through sudo (not root), to own the files it
 * writes: true and *uid, *gid set, or false. */
bool launch_invoker(uid_t *uid, gid_t *gid);

/* Let the child exec. Returns 0, or -errno (exec's) with the reason in err. */
int launch_continue(struct launch *l, char *err, size_t errlen);

#endif
