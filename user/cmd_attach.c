// SPDX-License-Identifier: MIT
/* ipcprof attach: trace live processes and their descendants. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "procfs.h"
#include "util.h"

/* The targets and (unless --no-follow) their descendants, registered. */
static int register_targets(const struct cli *c, struct tracer *t, uint64_t start_ns,
			    size_t *n_traced)
{
	struct pid_list all = {0};
	int rc = 0;

	for (size_t i = 0; i < c->pids.n && !rc; i++) {
		if (!pid_list_has(&all, c->pids.pids[i]))
			rc = pid_list_add(&all, c->pids.pids[i]);
		if (!rc && c->follow)
			rc = proc_descendants("/proc", c->pids.pids[i], &all);
	}
	for (size_t i = 0; i < all.n && !rc; i++) {
		pid_t ppid = 0;

		if (proc_ppid("/proc", all.pids[i], &ppid))
			continue; /* exited meanwhile */
		rc = tracer_add_process(t, all.pids[i], ppid, start_ns);
		if (rc == -ESRCH) { /* exited while we looked: nothing to trace */
			rc = 0;
			continue;
		}
		if (!rc) {
			tracer_plan_process(t, all.pids[i]);
			(*n_traced)++;
		}
	}
	pid_list_free(&all);
	return rc;
}

static bool any_target_alive(const struct cli *c, struct tracer *t)
{
	for (size_t i = 0; i < c->pids.n; i++)
		/* /proc too: a target may have died before we hooked in */
		if (!tracer_exited(t, c->pids.pids[i]) && proc_alive("/proc", c->pids.pids[i]))
			return true;
	return false;
}

int cmd_attach(const struct cli *c, struct tracer *t, struct report *rep, struct live *lv,
	       struct cmd_metrics *cm, char *err, size_t errlen)
{
	size_t n_traced = 0;
	uint64_t end;
	int rc;

	rep->start_ns = now_ns();
	rc = register_targets(c, t, rep->start_ns, &n_traced);
	if (rc) {
		snprintf(err, errlen, "registering processes: %s", strerror(-rc));
		return 1;
	}
	tracer_seed_threads(t);
	fprintf(stderr, "ipcprof: tracing %zu processes; Ctrl-C to stop\n", n_traced);
	end = c->duration_s > 0 ? now_ns() + (uint64_t)(c->duration_s * 1e9) : 0;
	while (!cmd_exiting) {
		rc = tracer_poll(t, metrics_server_wake_fd(cm->srv), 100);
		if (rc < 0) {
			snprintf(err, errlen, "polling events: %s", strerror(-rc));
			return 1;
		}
		live_tick(lv, t);
		cmd_metrics_tick(cm, t, rep->start_ns);
		if (!any_target_alive(c, t) || (end && now_ns() >= end))
			break;
	}
	rep->interrupted = cmd_exiting != 0;
	rep->exit_status = -1;
	return 0;
}
