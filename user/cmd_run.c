// SPDX-License-Identifier: MIT
/* ipcprof run / record: launch the command stopped, trace it, wait for it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "launch.h"
#include "util.h"

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

/*
 * Wait for the launched command, handling kernel events meanwhile. 0 when
 * it exited (*status set), 1 when we gave up after a signal, -1 on error.
 */
static int wait_command(struct tracer *t, struct live *lv, pid_t pid, int *status)
{
	/* readable when the command exits: the report follows at once */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	uint64_t grace_end = 0;
	int rc;

	for (;;) {
		pid_t r;

		rc = tracer_poll(t, pidfd, 100);
		live_tick(lv, t);
		if (rc < 0) {
			fprintf(stderr, "ipcprof: polling events: %s\n", strerror(-rc));
			break;
		}
		r = waitpid(pid, status, WNOHANG);
		if (r == pid) {
			rc = 0;
			break;
		}
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "ipcprof: waitpid: %s\n", strerror(errno));
			rc = -1;
			break;
		}
		if (cmd_exiting && !grace_end) {
			/* Ctrl-C reached the command too; SIGTERM only us */
			if (cmd_exiting == SIGTERM)
				kill(pid, SIGTERM);
			grace_end = now_ns() + 2000000000ull;
		}
		if (grace_end && now_ns() > grace_end) {
			rc = 1; /* report what we have; the command lives on */
			break;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return rc < 0 ? -1 : rc;
}

int cmd_run(const struct cli *c, struct tracer *t, struct report *rep, struct live *lv, char *err,
	    size_t errlen)
{
	struct launch l;
	int status = 0, rc;

	if (launch_stopped(&l, c->cmd, c->user, err, errlen))
		return 127;
	rep->start_ns = now_ns();
	rc = tracer_add_process(t, l.pid, getpid(), rep->start_ns);
	if (rc) {
		snprintf(err, errlen, "registering pid %d: %s", l.pid, strerror(-rc));
		kill(l.pid, SIGKILL);
		waitpid(l.pid, NULL, 0);
		return 1;
	}
	if (launch_continue(&l, err, errlen))
		return 127;
	rc = wait_command(t, lv, l.pid, &status);
	if (rc < 0)
		return 1;
	rep->interrupted = cmd_exiting != 0;
	rep->exit_status = rc == 0 ? status_code(status) : -1;
	return rep->exit_status >= 0 ? rep->exit_status : 130;
}
