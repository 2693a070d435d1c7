// SPDX-License-Identifier: MIT
/*
 * What run, record and attach share: load the tracer, trace (cmd_run.c or
 * cmd_attach.c), then read the counters, label the methods and write the
 * report, the timeline and the recording.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bandwidth.h"
#include "cmd.h"
#include "launch.h"
#include "procfs.h"
#include "record.h"
#include "timeline.h"
#include "util.h"

volatile sig_atomic_t cmd_exiting;

static void on_signal(int sig)
{
	if (cmd_exiting) { /* second Ctrl-C: give up at once */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	cmd_exiting = sig;
}

static void to_perfetto(void *ctx, const struct slice_event *s)
{
	perfetto_slice(ctx, s);
}

int cmd_open_tracer(const struct cli *c, struct ser_plan *plan, struct perfetto *pf,
		    struct tracer **t)
{
	struct tracer_opts topts = {0};
	char err[512] = "";

	if (geteuid() != 0)
		fprintf(stderr, "ipcprof: warning: not root; loading BPF programs will likely "
				"fail\n");
	for (int i = 0; i < c->n_uprobes; i++) {
		if (ser_plan_add_user(plan, c->uprobes[i], err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			return 2;
		}
	}
	topts.follow = c->follow;
	topts.sample_hz = c->sample_hz;
	topts.thread_sample_hz = c->thread_sample_hz;
	topts.verbose = c->verbose;
	topts.plan = plan;
	topts.probe_mode = c->probe_mode;
	topts.timeline = c->timeline != NULL;
	topts.seed_threads = c->mode == MODE_ATTACH;
	topts.call_sites = c->call_sites;
	if (pf) {
		topts.on_slice = to_perfetto;
		topts.slice_ctx = pf;
		topts.timeline_faults = true;
	}
	/* from here on Ctrl-C means: stop and report (loading takes a while) */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal); /* the terminal went away: report, release */
	if (tracer_open(t, &topts, err, sizeof(err))) {
		fprintf(stderr, "ipcprof: %s\n", err);
		return 1;
	}
	perfetto_set_site_namer(pf, tracer_site_name, *t);
	return 0;
}

/*
 * The report's name for what was traced, after the checks that can fail
 * before anything is loaded. Returns 0 or the exit status.
 */
static int describe_target(const struct cli *c, char *buf, size_t len)
{
	char err[512];
	size_t off = 0;
	int rc;

	if (proc_pidns_nested("/proc") > 0) {
		/* BPF sees the kernel's global PIDs, we would see the container's:
		 * nothing would be traced, and a host process with a registered
		 * PID could be held */
		fprintf(stderr, "ipcprof: running inside a PID namespace (a container?): run it "
				"in the host's PID namespace (e.g. docker run --pid=host)\n");
		return 1;
	}
	if (c->mode == MODE_ATTACH) {
		off += snprintf(buf, len, "attach -p");
		for (size_t i = 0; i < c->pids.n; i++) {
			if (!proc_exists("/proc", c->pids.pids[i])) {
				fprintf(stderr, "ipcprof: no such process: %d\n", c->pids.pids[i]);
				return 1;
			}
			if (off < len)
				off += snprintf(buf + off, len - off, "%s%d", i ? "," : " ",
						c->pids.pids[i]);
		}
		return 0;
	}
	rc = launch_check(c->cmd, c->user, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ipcprof: %s\n", err);
		return rc == -ENOENT ? 127 : 2;
	}
	buf[0] = '\0';
	for (int i = 0; c->cmd[i] && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " " : "", c->cmd[i]);
	return 0;
}

/* Trace until the command or the targets are done. Returns the exit status;
 * *failed when tracing itself failed (no report then). */
static int trace(const struct cli *c, struct tracer *t, struct report *rep, struct cmd_outputs *o,
		 bool *failed)
{
	struct live lv = {0};
	char err[512] = "";
	int rc;

	lv.view = c->live;
	lv.progress = !c->live && isatty(STDERR_FILENO);
	lv.start_ns = now_ns();
	lv.next_ns = lv.start_ns + 1000000000ull;
	lv.target = rep->target;
	rc = c->mode == MODE_ATTACH ? cmd_attach(c, t, rep, &lv, &o->metrics, err, sizeof(err))
				    : cmd_run(c, t, rep, &lv, err, sizeof(err));
	live_done(&lv);
	/* the kernel frees programs a grace period after their links: start
	 * that now, so it runs while we read the counters and write reports */
	tracer_detach(t);
	*failed = err[0] != '\0';
	if (*failed)
		fprintf(stderr, "ipcprof: %s\n", err);
	return rc;
}

/* --timeline and record's recording. Returns 0 or 1. */
static int write_extras(struct tracer *t, const struct report *rep, struct cmd_outputs *o)
{
	char err[512];
	int rc = 0;

	if (o->perfetto) {
		tracer_flush_timeline(t);
		if (perfetto_finish(o->perfetto, rep, err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s: %s\n", o->timeline.path, err);
			rc = 1;
		}
	} else if (o->timeline.f) {
		size_t n;
		const struct slice_event *s = tracer_slices(t, &n);

		if (timeline_write(o->timeline.f, o->timeline.path, rep, s, n, err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			rc = 1;
		}
	}
	if (o->record.f) {
		if (record_write(rep, o->record.f, o->record.path, err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			rc = 1;
		} else {
			fprintf(stderr, "ipcprof: recorded %d processes, %d channels to %s\n",
				rep->n_procs, rep->n_chans, o->record.path);
		}
	}
	return rc;
}

/* Counters to report rows, methods, limits; then every output. */
static int finish(const struct cli *c, struct tracer *t, const struct ser_plan *plan,
		  struct report *rep, struct cmd_outputs *o, int rc)
{
	if (tracer_collect(t, rep)) {
		fprintf(stderr, "ipcprof: reading the kernel's counters failed\n");
		return 1;
	}
	tracer_label_methods(t, plan, rep);
	if (rep->n_chans) {
		/* this machine's limits, beside which each channel's rate is
		 * shown: measured after tracing (never beside a live target),
		 * once per boot */
		machine_limits(IPCPROF_CACHE_DIR, &rep->memcpy_bps, &rep->pipe_bps);
	}
	report_finish(rep);
	/* record: the live report goes to stdout, to be checked against `report` */
	if (write_report(c, rep, o) && !rc)
		rc = 1;
	if (write_extras(t, rep, o) && !rc)
		rc = 1;
	if (cmd_metrics_finish(&o->metrics, rep) && !rc)
		rc = 1;
	if (cmd_commit_outputs(o) && !rc)
		rc = 1;
	if (rep->lost_events || rep->map_full)
		fprintf(stderr, "ipcprof: warning: %llu events lost\n",
			(unsigned long long)(rep->lost_events + rep->map_full));
	if (c->mode == MODE_ATTACH && rep->interrupted)
		rc = 0;
	return rc;
}

int cmd_trace(struct cli *c)
{
	struct cmd_outputs outs;
	struct ser_plan plan = {0};
	struct report rep = {0};
	struct tracer *t = NULL;
	char target[4096];
	bool failed = false;
	int rc;

	rc = describe_target(c, target, sizeof(target));
	if (rc)
		return rc;
	/* a bad output path fails now, not after the whole trace */
	rc = cmd_open_outputs(c, &outs);
	if (rc)
		return rc;
	if (outs.timeline.f && perfetto_wanted(c->timeline) &&
	    perfetto_open(&outs.perfetto, outs.timeline.f)) {
		fprintf(stderr, "ipcprof: %s: out of memory\n", c->timeline);
		rc = 1;
		goto cleanup;
	}
	rc = cmd_open_tracer(c, &plan, outs.perfetto, &t);
	if (rc)
		goto cleanup;
	if (cmd_exiting) {
		/* Ctrl-C while loading: nothing was traced yet */
		fprintf(stderr, "ipcprof: interrupted before tracing started\n");
		rc = 130;
		goto cleanup;
	}
	rep.target = target;
	rc = trace(c, t, &rep, &outs, &failed);
	if (!failed)
		rc = finish(c, t, &plan, &rep, &outs, rc);
cleanup:
	tracer_close(t); /* first: its last records go to a streamed timeline */
	cmd_abort_outputs(&outs);
	report_free(&rep);
	ser_plan_free(&plan);
	return rc;
}
