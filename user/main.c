// SPDX-License-Identifier: MIT
/*
 * ipcprof: where does the time go when processes exchange data?
 *
 * Traces a command (ipcprof run) or live processes (ipcprof attach) with
 * all their descendants and splits IPC time into serialization, syscalls
 * (on CPU / blocked), kernel copies, fork and shared-memory set-up.
 */
#include <argp.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bandwidth.h"
#include "compare.h"
#include "elfsym.h"
#include "launch.h"
#include "live.h"
#include "procfs.h"
#include "record.h"
#include "report.h"
#include "serializers.h"
#include "timeline.h"
#include "tracer.h"
#include "util.h"

enum mode { MODE_NONE, MODE_RUN, MODE_RECORD, MODE_ATTACH, MODE_PROBE, MODE_REPORT, MODE_COMPARE };
enum format { FMT_TEXT, FMT_JSON, FMT_CSV };

static struct env {
	enum mode mode;
	const char *output;
	enum format format;
	bool follow;
	uint32_t sample_hz;
	bool verbose;
	const char *user;
	const char **uprobes;
	int n_uprobes;
	struct pid_list pids;
	double duration_s; /* attach: 0 = until targets exit or Ctrl-C */
	char **cmd;
	enum probe_mode probe_mode;
	const char *svg;      /* --svg FILE */
	const char *timeline; /* --timeline FILE */
	bool live;	      /* attach --live */
	const char *files[2]; /* report, compare: recordings */
	int n_files;
} env = {
    .follow = true,
    .sample_hz = 99,
};

static volatile sig_atomic_t exiting;

const char *argp_program_version = "ipcprof " IPCPROF_VERSION;
const char *argp_program_bug_address = NULL;

static const char doc_top[] =
    "Profile inter-process communication: serialization, IPC syscalls (on CPU and "
    "blocked), kernel copies, fork and shared mappings.\n"
    "\n"
    "USAGE:\n"
    "  ipcprof run [OPTIONS] -- CMD [ARGS...]\n"
    "  ipcprof attach -p PID[,PID...] [-d SECONDS] [OPTIONS]\n"
    "  ipcprof record [OPTIONS] -o FILE.ipcp -- CMD [ARGS...]\n"
    "  ipcprof report [--format FMT] FILE.ipcp\n"
    "  ipcprof compare A.ipcp B.ipcp\n"
    "  ipcprof probe [--probe-mode MODE]   (how each phase is measured on this kernel)\n"
    "\n"
    "EXAMPLES:\n"
    "  ipcprof run -- python3 scripts/bench/seed_transfer.py queue\n"
    "  ipcprof run --format json -o out.json -- ./server\n"
    "  ipcprof attach -p 1234 -d 10\n"
    "  ipcprof run --uprobe ./app:encode_msg=serialize -- ./app\n"
    "\n"
    "Run 'ipcprof run --help' or 'ipcprof attach --help' for the options.";
static const char doc_record[] = "Like run, and also save the report to a recording (-o FILE, "
				 "default ipcprof.ipcp) for ipcprof report and compare.";
static const char doc_report[] = "Print a recording, in any --format, as the live run would have.";
static const char doc_compare[] = "Two recordings side by side: phases, bytes, faults and the "
				  "ratio B/A. --format text (default) or json.";
static const char doc_probe[] = "Print how each phase would be measured on this kernel: the attach "
				"points, fentry/fexit or kprobe or the fallback, and why "
				"alternatives were rejected.";

static const char doc_run[] = "Launch CMD, trace it and all its descendants from its first "
			      "instruction, print the report when it exits.\n"
			      "The exit status of CMD is passed through.";
static const char doc_attach[] =
    "Trace live processes and their descendants until -d SECONDS pass, every target "
    "exits, or SIGINT/SIGTERM arrives; then print the report.";

enum {
	OPT_FORMAT = 'f',
	OPT_NO_FOLLOW = 0x100,
	OPT_UPROBE,
	OPT_SAMPLE_HZ,
	OPT_USER,
	OPT_PROBE_MODE,
	OPT_SVG,
	OPT_TIMELINE,
	OPT_LIVE,
};

static const struct argp_option run_opts[] = {
    {"output", 'o', "FILE", 0, "Write the report to FILE instead of stdout", 0},
    {"format", OPT_FORMAT, "FMT", 0, "Report format: text (default), json or csv", 0},
    {"no-follow", OPT_NO_FOLLOW, NULL, 0, "Do not follow child processes", 0},
    {"svg", OPT_SVG, "FILE", 0, "Also draw the breakdown as stacked bars into FILE (SVG)", 0},
    {"timeline", OPT_TIMELINE, "FILE", 0,
     "run/record/attach: also write a Chrome/Perfetto trace-event timeline to FILE", 0},
    {"uprobe", OPT_UPROBE, "BIN:SYM=KIND", 0,
     "Count time in function SYM of BIN as KIND (serialize or deserialize); repeatable", 0},
    {"sample-hz", OPT_SAMPLE_HZ, "HZ", 0,
     "CPU sampling rate of the sampled phases (copy, fault time, compute; default 99: each sample "
     "costs ~50 us of timer interrupt in a VM)",
     0},
    {"user", OPT_USER, "NAME", 0, "run: run CMD as NAME (default: the sudo caller)", 0},
    {"pid", 'p', "PID[,PID]", 0, "attach: processes to trace", 0},
    {"duration", 'd', "SECONDS", 0, "attach: stop after SECONDS", 0},
    {"live", OPT_LIVE, NULL, 0, "attach: refresh a top-like view every second", 0},
    {"probe-mode", OPT_PROBE_MODE, "MODE", 0,
     "Precise kernel probes: auto (fentry, else kprobe; default), fentry, kprobe, or "
     "fallback (sampled/tracepoint only)",
     0},
    {"verbose", 'v', NULL, 0, "Show libbpf's messages", 0},
    {0},
};

static const char doc_run[], doc_attach[], doc_probe[];

static const struct {
	const char *name;
	enum mode mode;
	const char *doc;
	const char *args_doc;
} subcommands[] = {
    {"run", MODE_RUN, doc_run, "-- CMD [ARGS...]"},
    {"record", MODE_RECORD, doc_record, "-- CMD [ARGS...]"},
    {"attach", MODE_ATTACH, doc_attach, NULL},
    {"report", MODE_REPORT, doc_report, "FILE.ipcp"},
    {"compare", MODE_COMPARE, doc_compare, "A.ipcp B.ipcp"},
    {"probe", MODE_PROBE, doc_probe, NULL},
};

static void die_usage(struct argp_state *state, const char *fmt, const char *arg)
{
	char buf[256];

	snprintf(buf, sizeof(buf), fmt, arg);
	argp_error(state, "%s", buf);
}

static void parse_pids(struct argp_state *state, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;

	if (!copy)
		argp_failure(state, 1, ENOMEM, "parsing -p");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (!parse_u64(tok, 1, INT32_MAX, &v))
			die_usage(state, "invalid PID '%s'", tok);
		if (pid_list_add(&env.pids, (pid_t)v))
			argp_failure(state, 1, ENOMEM, "parsing -p");
	}
	free(copy);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	uint64_t v;
	char *end;

	switch (key) {
	case 'o':
		env.output = arg;
		break;
	case OPT_FORMAT:
		if (!strcmp(arg, "text"))
			env.format = FMT_TEXT;
		else if (!strcmp(arg, "json"))
			env.format = FMT_JSON;
		else if (!strcmp(arg, "csv"))
			env.format = FMT_CSV;
		else
			die_usage(state, "unknown format '%s' (text, json or csv)", arg);
		break;
	case OPT_NO_FOLLOW:
		env.follow = false;
		break;
	case OPT_SVG:
		env.svg = arg;
		break;
	case OPT_TIMELINE:
		env.timeline = arg;
		break;
	case OPT_LIVE:
		if (env.mode != MODE_ATTACH)
			die_usage(state, "%s only applies to 'attach'", "--live");
		env.live = true;
		break;
	case OPT_UPROBE: {
		const char **tmp = realloc(env.uprobes, (env.n_uprobes + 1) * sizeof(*tmp));

		if (!tmp)
			argp_failure(state, 1, ENOMEM, "--uprobe");
		env.uprobes = tmp;
		env.uprobes[env.n_uprobes++] = arg;
		break;
	}
	case OPT_SAMPLE_HZ:
		if (!parse_u64(arg, 1, 100000, &v))
			die_usage(state, "--sample-hz '%s': expected 1..100000", arg);
		env.sample_hz = (uint32_t)v;
		break;
	case OPT_USER:
		if (env.mode != MODE_RUN)
			die_usage(state, "%s only applies to 'run'", "--user");
		env.user = arg;
		break;
	case 'p':
		if (env.mode != MODE_ATTACH)
			die_usage(state, "%s only applies to 'attach'", "-p");
		parse_pids(state, arg);
		break;
	case 'd':
		if (env.mode != MODE_ATTACH)
			die_usage(state, "%s only applies to 'attach'", "-d");
		errno = 0;
		env.duration_s = strtod(arg, &end);
		if (errno || *end || !(env.duration_s > 0) || env.duration_s > 1e7)
			die_usage(state, "-d '%s': expected a positive number of seconds", arg);
		break;
	case OPT_PROBE_MODE:
		if (!strcmp(arg, "auto"))
			env.probe_mode = PROBE_AUTO;
		else if (!strcmp(arg, "fentry"))
			env.probe_mode = PROBE_FENTRY;
		else if (!strcmp(arg, "kprobe"))
			env.probe_mode = PROBE_KPROBE;
		else if (!strcmp(arg, "fallback"))
			env.probe_mode = PROBE_FALLBACK;
		else
			die_usage(state, "unknown probe mode '%s' (auto, fentry, kprobe, fallback)",
				  arg);
		break;
	case 'v':
		env.verbose = true;
		break;
	case ARGP_KEY_ARG:
		if ((env.mode == MODE_REPORT && env.n_files < 1) ||
		    (env.mode == MODE_COMPARE && env.n_files < 2)) {
			env.files[env.n_files++] = arg;
			break;
		}
		if (env.mode != MODE_RUN && env.mode != MODE_RECORD)
			die_usage(state, "unexpected argument '%s'", arg);
		/* CMD and everything after it belong to the command */
		env.cmd = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if ((env.mode == MODE_RUN || env.mode == MODE_RECORD) && !env.cmd)
			argp_error(state, "missing command: ipcprof %s [OPTIONS] -- CMD [ARGS...]",
				   env.mode == MODE_RUN ? "run" : "record");
		if (env.mode == MODE_REPORT && env.n_files != 1)
			argp_error(state, "missing recording: ipcprof report FILE.ipcp");
		if (env.mode == MODE_COMPARE && env.n_files != 2)
			argp_error(state,
				   "compare needs two recordings: ipcprof compare A.ipcp B.ipcp");
		if (env.mode == MODE_ATTACH && !env.pids.n)
			argp_error(state, "missing -p PID");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void on_signal(int sig)
{
	if (exiting) { /* second Ctrl-C: give up at once */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	exiting = sig;
}

static void join_args(char **argv, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; argv[i] && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " " : "", argv[i]);
}

static const char *precise_or(const struct tracer *t, enum probe_group g, const char *fallback)
{
	enum probe_method m = probe_plan_method(tracer_probe_plan(t), g);

	return m == METHOD_NONE ? fallback : method_name(m);
}

/*
 * Copy time is exact for a channel family only when the precise probes see
 * all its copies; a trace that used an uncovered family is partly sampled.
 */
static const char *copy_method(struct report *rep, const struct tracer *t)
{
	static const char *const fam_names[FAM_COUNT] = {"pipes and FIFOs", "unix sockets"};
	static char mixed[32];
	const char *exact = precise_or(t, GROUP_COPY, NULL);
	bool seen[FAM_COUNT] = {false}, any_exact = false, any_sampled = false;

	if (!exact)
		return "sampled";
	for (int i = 0; i < rep->n_procs; i++)
		for (int f = 0; f < FAM_COUNT; f++)
			seen[f] = seen[f] || rep->procs[i].ipc_oncpu_fam_ns[f];
	for (int f = 0; f < FAM_COUNT; f++) {
		if (!seen[f])
			continue;
		if (rep->measure.exact_copy[f]) {
			any_exact = true;
		} else {
			any_sampled = true;
			report_add_note(
			    rep,
			    "copy time for %s is sampled: no probe-able routine carries "
			    "all their copies on this kernel (see ipcprof probe)",
			    fam_names[f]);
		}
	}
	if (!any_sampled)
		return exact;
	if (!any_exact)
		return "sampled";
	snprintf(mixed, sizeof(mixed), "%s+sampled", exact);
	return mixed;
}

/* Processes whose serializer uprobes were removed as too costly. */
static void note_demotions(struct report *rep, const struct tracer *t)
{
	int n;
	const struct ser_demotion *d = tracer_demotions(t, &n);
	bool sampled = false;

	for (int i = 0; i < n; i++) {
		if (d[i].module) {
			sampled = true;
			report_add_note(rep,
					"pid %d called its serializer too often for exact probes "
					"(over %d calls/s; "
					"each uprobe pair costs microseconds): they were removed "
					"after %llu calls, "
					"and its later serializer time is sampled in %s: a lower "
					"bound, as time "
					"in interpreter code that pickle calls is not seen",
					d[i].pid, HOT_SER_RATE, (unsigned long long)d[i].calls,
					d[i].module);
		} else {
			report_add_note(
			    rep,
			    "pid %d called its serializer too often for exact probes (over "
			    "%d calls/s): they were removed after %llu calls; its later "
			    "serializer time is not measured (the serializer is built into "
			    "the interpreter: no module to sample in)",
			    d[i].pid, HOT_SER_RATE, (unsigned long long)d[i].calls);
		}
	}
	if (sampled) {
		if (strcmp(rep->methods[PH_SERIALIZE], "unavailable"))
			rep->methods[PH_SERIALIZE] = "uprobe+sampled";
		if (strcmp(rep->methods[PH_DESERIALIZE], "unavailable"))
			rep->methods[PH_DESERIALIZE] = "uprobe+sampled";
	}
}

static void set_methods(struct report *rep, const struct ser_plan *plan, const struct tracer *t)
{
	bool have[2] = {false, false};

	for (int i = 0; i < plan->n; i++) {
		char desc[4200];

		have[plan->probes[i].dir] = true;
		snprintf(desc, sizeof(desc), "%s:%s (%s%s)", plan->probes[i].path,
			 plan->probes[i].symbol,
			 plan->probes[i].dir == SER_DIR_SERIALIZE ? "serialize" : "deserialize",
			 plan->probes[i].user ? ", --uprobe" : "");
		report_add_probe(rep, desc);
	}
	rep->methods[PH_SERIALIZE] = have[0] ? "uprobe" : "unavailable";
	rep->methods[PH_DESERIALIZE] = have[1] ? "uprobe" : "unavailable";
	note_demotions(rep, t);
	rep->methods[PH_SYSCALL] = "tracepoint";
	rep->methods[PH_BLOCKED] = "tracepoint";
	rep->methods[PH_COPY] = copy_method(rep, t);
	rep->ipc_kernel_method = precise_or(t, GROUP_KFN, NULL);
	rep->methods[PH_FAULT] = precise_or(t, GROUP_FAULT, "sampled");
	rep->methods[PH_WAIT] = "tracepoint";
	rep->methods[PH_COMPUTE] = "sampled";
	rep->methods[PH_FORK] = precise_or(t, GROUP_FORK, "tracepoint");
	rep->methods[PH_MMAP] = precise_or(t, GROUP_MMAP, "tracepoint");
	rep->methods[PH_OTHER] = "derived";
	if (!have[0] || !have[1]) {
		char files[2048] = "";
		size_t off = 0;

		for (int i = 0; i < plan->n_missing && off < sizeof(files); i++)
			off += snprintf(files + off, sizeof(files) - off, "%s%s%s", i ? ", " : "",
					plan->missing[i],
					elf_has_symtab(plan->missing[i]) ? "" : " (stripped)");
		if (plan->n_missing)
			report_add_note(
			    rep,
			    "serializer time not measured: no pickle symbols found in %s; "
			    "use an interpreter with symbols or --uprobe",
			    files);
		else
			report_add_note(rep, "serializer time not measured: no Python interpreter "
					     "or --uprobe target was seen");
	}
	if (rep->lost_events || rep->map_full)
		report_add_note(
		    rep,
		    "%llu events lost (ring buffer full) and %llu map entries could not "
		    "be created: numbers are incomplete",
		    (unsigned long long)rep->lost_events, (unsigned long long)rep->map_full);
}

static int write_report(const struct report *rep)
{
	FILE *out = stdout;
	int rc;

	if (env.output && !(out = fopen(env.output, "w"))) {
		fprintf(stderr, "ipcprof: cannot write %s: %s\n", env.output, strerror(errno));
		return -1;
	}
	if (env.format == FMT_JSON)
		rc = report_write_json(rep, out);
	else if (env.format == FMT_CSV)
		rc = report_write_csv(rep, out);
	else
		rc = report_write_text(rep, out);
	if (out != stdout && fclose(out))
		rc = -1;
	else if (out == stdout)
		fflush(stdout);
	if (rc)
		fprintf(stderr, "ipcprof: writing the report failed\n");
	if (env.svg) {
		FILE *svg = fopen(env.svg, "w");

		if (!svg || report_write_svg(rep, svg) || fclose(svg)) {
			fprintf(stderr, "ipcprof: cannot write %s: %s\n", env.svg, strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

/* Wait for the launched command, handling kernel events meanwhile. */
static struct live lv;

static int wait_command(struct tracer *t, pid_t pid, int *status)
{
	/* readable when the command exits: the report follows at once */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	uint64_t grace_end = 0;
	int rc;

	for (;;) {
		pid_t r;

		rc = tracer_poll(t, pidfd, 100);
		live_tick(&lv, t);
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
		if (exiting && !grace_end) {
			/* Ctrl-C reached the command too; SIGTERM only us */
			if (exiting == SIGTERM)
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

static int cmd_run(struct tracer *t, struct report *rep, char *err, size_t errlen)
{
	struct launch l;
	int status = 0, rc;

	if (launch_stopped(&l, env.cmd, env.user, err, errlen))
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
	rc = wait_command(t, l.pid, &status);
	if (rc < 0)
		return 1;
	rep->interrupted = exiting != 0;
	rep->exit_status = rc == 0 ? status_code(status) : -1;
	return rep->exit_status >= 0 ? rep->exit_status : 130;
}

static int cmd_attach(struct tracer *t, struct report *rep, char *err, size_t errlen)
{
	struct pid_list all = {0};
	size_t n_traced = 0;
	uint64_t end;
	int rc = 0;

	rep->start_ns = now_ns();
	for (size_t i = 0; i < env.pids.n && !rc; i++) {
		if (!pid_list_has(&all, env.pids.pids[i]))
			rc = pid_list_add(&all, env.pids.pids[i]);
		if (!rc && env.follow)
			rc = proc_descendants("/proc", env.pids.pids[i], &all);
	}
	for (size_t i = 0; i < all.n && !rc; i++) {
		char line[1024], path[64];

		pid_t ppid = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", all.pids[i]);
		f = fopen(path, "r");
		if (!f)
			continue; /* exited meanwhile */
		if (fgets(line, sizeof(line), f))
			proc_parse_stat_ppid(line, &ppid);
		fclose(f);
		rc = tracer_add_process(t, all.pids[i], ppid, rep->start_ns);
		if (rc == -ESRCH) { /* exited while we looked: nothing to trace */
			rc = 0;
			continue;
		}
		if (!rc) {
			tracer_plan_process(t, all.pids[i]);
			n_traced++;
		}
	}
	if (rc) {
		pid_list_free(&all);
		snprintf(err, errlen, "registering processes: %s", strerror(-rc));
		return 1;
	}
	fprintf(stderr, "ipcprof: tracing %zu processes; Ctrl-C to stop\n", n_traced);
	pid_list_free(&all);
	end = env.duration_s > 0 ? now_ns() + (uint64_t)(env.duration_s * 1e9) : 0;
	while (!exiting) {
		bool alive = false;

		rc = tracer_poll(t, -1, 100);
		if (rc < 0) {
			snprintf(err, errlen, "polling events: %s", strerror(-rc));
			return 1;
		}
		live_tick(&lv, t);
		for (size_t i = 0; i < env.pids.n && !alive; i++)
			/* /proc too: a target may have died before we hooked in */
			alive = !tracer_exited(t, env.pids.pids[i]) &&
				proc_alive("/proc", env.pids.pids[i]);
		if (!alive || (end && now_ns() >= end))
			break;
	}
	rep->interrupted = exiting != 0;
	rep->exit_status = -1;
	return 0;
}

/* report and compare: no BPF, just recordings */
static int cmd_read_recordings(void)
{
	struct report reps[2] = {{0}};
	char err[512];
	FILE *out = stdout;
	int rc = 1;

	for (int i = 0; i < env.n_files; i++) {
		if (record_read(env.files[i], &reps[i], err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			goto cleanup;
		}
	}
	if (env.mode == MODE_REPORT) {
		rc = write_report(&reps[0]) ? 1 : 0;
		goto cleanup;
	}
	if (env.format == FMT_CSV) {
		fprintf(stderr, "ipcprof: compare writes text or json, not csv\n");
		rc = 2;
		goto cleanup;
	}
	if (env.output && !(out = fopen(env.output, "w"))) {
		fprintf(stderr, "ipcprof: cannot write %s: %s\n", env.output, strerror(errno));
		goto cleanup;
	}
	rc = (env.format == FMT_JSON ? compare_write_json : compare_write_text)(
		 &reps[0], env.files[0], &reps[1], env.files[1], out)
		 ? 1
		 : 0;
	if (out != stdout && fclose(out))
		rc = 1;
cleanup:
	report_free(&reps[0]);
	report_free(&reps[1]);
	return rc;
}

int main(int argc, char **argv)
{
	struct argp argp_top = {run_opts, parse_opt, NULL, doc_top, NULL, NULL, NULL};
	struct argp argp_sub = {run_opts, parse_opt, NULL, NULL, NULL, NULL, NULL};
	struct tracer_opts topts = {0};
	struct ser_plan plan = {0};
	struct report rep = {0};
	struct tracer *t = NULL;
	char err[512] = "", target[4096];
	int rc = 1;

	if (argc < 2 || argv[1][0] == '-') {
		/* only --help, --usage and --version make sense here */
		argp_parse(&argp_top, argc, argv, 0, NULL, NULL);
		fprintf(stderr,
			"ipcprof: missing subcommand (run or attach); see ipcprof --help\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (!strcmp(argv[1], subcommands[i].name)) {
			env.mode = subcommands[i].mode;
			argp_sub.doc = subcommands[i].doc;
			argp_sub.args_doc = subcommands[i].args_doc;
		}
	}
	if (env.mode == MODE_NONE) {
		fprintf(stderr,
			"ipcprof: unknown subcommand '%s' (run, record, attach, report, compare or "
			"probe)\n",
			argv[1]);
		return 2;
	}
	if (argp_parse(&argp_sub, argc - 1, argv + 1, ARGP_IN_ORDER, NULL, NULL))
		return 2;
	if (env.mode == MODE_REPORT || env.mode == MODE_COMPARE)
		return cmd_read_recordings();

	if (env.mode == MODE_ATTACH) {
		for (size_t i = 0; i < env.pids.n; i++)
			if (!proc_exists("/proc", env.pids.pids[i])) {
				fprintf(stderr, "ipcprof: no such process: %d\n", env.pids.pids[i]);
				return 1;
			}
		snprintf(target, sizeof(target), "attach -p");
		for (size_t i = 0; i < env.pids.n; i++)
			snprintf(target + strlen(target), sizeof(target) - strlen(target), "%s%d",
				 i ? "," : " ", env.pids.pids[i]);
	} else if (env.mode == MODE_RUN || env.mode == MODE_RECORD) {
		char *path = find_in_path(env.cmd[0]);

		if (!path) {
			fprintf(stderr, "ipcprof: %s: command not found\n", env.cmd[0]);
			return 127;
		}
		free(path);
		join_args(env.cmd, target, sizeof(target));
	}
	if (env.user && !getpwnam(env.user)) {
		fprintf(stderr, "ipcprof: --user %s: no such user\n", env.user);
		return 2;
	}
	if (geteuid() != 0)
		fprintf(stderr, "ipcprof: warning: not root; loading BPF programs will likely "
				"fail\n");
	for (int i = 0; i < env.n_uprobes; i++) {
		if (ser_plan_add_user(&plan, env.uprobes[i], err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			rc = 2;
			goto cleanup;
		}
	}

	topts.follow = env.follow;
	topts.sample_hz = env.sample_hz;
	topts.verbose = env.verbose;
	topts.plan = &plan;
	topts.probe_mode = env.probe_mode;
	topts.timeline = env.timeline != NULL;
	/* from here on Ctrl-C means: stop and report (loading takes a while) */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (tracer_open(&t, &topts, err, sizeof(err))) {
		fprintf(stderr, "ipcprof: %s\n", err);
		rc = 1;
		goto cleanup;
	}
	if (env.mode == MODE_PROBE) {
		struct utsname u;

		uname(&u);
		printf("ipcprof %s probe plan on Linux %s (all programs loaded and attached)\n\n",
		       IPCPROF_VERSION, u.release);
		probe_plan_print(tracer_probe_plan(t), stdout);
		printf("\nsyscall, blocked, wait: tracepoint (syscalls:sys_enter/exit_*, "
		       "tp_btf/sched_switch)\nserialize, deserialize: uprobe (per process, at "
		       "exec)\ncompute: sampled (cpu-clock @ %u Hz)\n",
		       env.sample_hz);
		rc = 0;
		goto cleanup;
	}
	if (exiting) {
		/* Ctrl-C while loading: nothing was traced yet */
		fprintf(stderr, "ipcprof: interrupted before tracing started\n");
		rc = 130;
		goto cleanup;
	}

	rep.target = target;
	err[0] = '\0';
	lv.view = env.live;
	lv.progress = !env.live && isatty(STDERR_FILENO);
	lv.start_ns = now_ns();
	lv.next_ns = lv.start_ns + 1000000000ull;
	lv.target = target;
	rc = env.mode == MODE_ATTACH ? cmd_attach(t, &rep, err, sizeof(err))
				     : cmd_run(t, &rep, err, sizeof(err));
	live_done(&lv);
	/* the kernel frees programs a grace period after their links: start
	 * that now, so it runs while we read the counters and write reports */
	tracer_detach(t);
	if (err[0]) {
		fprintf(stderr, "ipcprof: %s\n", err);
		goto cleanup;
	}
	if (tracer_collect(t, &rep)) {
		fprintf(stderr, "ipcprof: reading the kernel's counters failed\n");
		rc = 1;
		goto cleanup;
	}
	set_methods(&rep, &plan, t);
	if (rep.n_chans) {
		/* this machine's limits, beside which each channel's rate is
		 * shown: measured after tracing (never beside a live target),
		 * once per boot */
		machine_limits(IPCPROF_CACHE_DIR, &rep.memcpy_bps, &rep.pipe_bps);
	}
	report_finish(&rep);
	if (env.timeline) {
		size_t n;
		const struct slice_event *s = tracer_slices(t, &n);

		if (timeline_write(env.timeline, &rep, s, n, err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			rc = rc ? rc : 1;
		}
	}
	if (env.mode == MODE_RECORD) {
		const char *out = env.output ? env.output : "ipcprof.ipcp";

		/* the live report too, so it can be checked against `report` */
		env.output = NULL;
		if (write_report(&rep) && !rc)
			rc = 1;
		if (record_write(&rep, out, err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			rc = rc ? rc : 1;
		} else {
			fprintf(stderr, "ipcprof: recorded %d processes, %d channels to %s\n",
				rep.n_procs, rep.n_chans, out);
		}
	} else if (write_report(&rep) && !rc) {
		rc = 1;
	}
	if (rep.lost_events || rep.map_full)
		fprintf(stderr, "ipcprof: warning: %llu events lost\n",
			(unsigned long long)(rep.lost_events + rep.map_full));
	if (env.mode == MODE_ATTACH && rep.interrupted)
		rc = 0;
cleanup:
	tracer_close(t);
	report_free(&rep);
	ser_plan_free(&plan);
	pid_list_free(&env.pids);
	free(env.uprobes);
	return rc;
}
