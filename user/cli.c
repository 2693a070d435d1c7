// SPDX-License-Identifier: MIT
/*
 * The command line. argp parses it; the same option table feeds --help and
 * the man page (help2man reads `ipcprof --help` and the subcommands' help).
 */
#include "cli.h"

#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

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
    "  ipcprof compare [--fail-if EXPR] A B   (recordings or JSON reports)\n"
    "  ipcprof probe [--probe-mode MODE] [--format json]\n"
    "\n"
    "EXAMPLES:\n"
    "  ipcprof run -- python3 scripts/bench/seed_transfer.py queue\n"
    "  ipcprof run --format json -o out.json -- ./server\n"
    "  ipcprof attach -p 1234 -d 10\n"
    "  ipcprof run --uprobe ./app:encode_msg=serialize -- ./app\n"
    "\n"
    "Run 'ipcprof SUBCOMMAND --help' for the options that apply to it.\n"
    "\n"
    "Options:";
static const char doc_record[] = "Like run, and also save the report to a recording (-o FILE, "
				 "default ipcprof.ipcp) for ipcprof report and compare.";
static const char doc_report[] = "Print a recording, in any --format, as the live run would have.";
static const char doc_compare[] =
    "Two recordings or JSON reports (--format json) side by side: phases, bytes, faults and the "
    "ratio B/A. --format text (default) or json. With --fail-if, exit 1 when a change trips it "
    "(each one said on stderr), e.g. in CI against a stored baseline.";
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
	OPT_THREAD_SAMPLE_HZ,
	OPT_USER,
	OPT_PROBE_MODE,
	OPT_SVG,
	OPT_HTML,
	OPT_TIMELINE,
	OPT_LIVE,
	OPT_NO_CALL_SITES,
	OPT_METRICS,
	OPT_METRICS_FILE,
	OPT_FAIL_IF,
};

static const struct argp_option run_opts[] = {
    {"output", 'o', "FILE", 0, "Write the report to FILE instead of stdout", 0},
    {"format", OPT_FORMAT, "FMT", 0, "Report format: text (default), json or csv", 0},
    {"no-follow", OPT_NO_FOLLOW, NULL, 0, "Do not follow child processes", 0},
    {"no-call-sites", OPT_NO_CALL_SITES, NULL, 0,
     "Do not walk Python frames at each IPC call (saves ~0.6 us per IPC call of a CPython process)",
     0},
    {"svg", OPT_SVG, "FILE", 0, "Also draw the breakdown as stacked bars into FILE (SVG)", 0},
    {"html", OPT_HTML, "FILE", 0,
     "Also write the report as one self-contained HTML page (no network) into FILE", 0},
    {"timeline", OPT_TIMELINE, "FILE", 0,
     "run/record/attach: also write a timeline to FILE: native Perfetto protobuf if FILE ends "
     "in .perfetto-trace or .pftrace (streamed), else Chrome trace-event JSON",
     0},
    {"uprobe", OPT_UPROBE, "BIN:SYM=KIND", 0,
     "Count time in function SYM of BIN as KIND (serialize or deserialize); repeatable", 0},
    {"sample-hz", OPT_SAMPLE_HZ, "HZ", 0,
     "CPU sampling rate of the sampled phases (copy, fault time, compute; default 99: each sample "
     "costs ~50 us of timer interrupt in a VM)",
     0},
    {"thread-sample-hz", OPT_THREAD_SAMPLE_HZ, "HZ", 0,
     "run/record/attach: also sample each traced thread at HZ while it runs, keeping the samples "
     "inside serializers and IPC calls: narrower copy and page-fault splits of their exact "
     "times, for ~45 us of timer interrupt per tick of a running thread and ~1 us per context "
     "switch of a traced thread (0, the default: off; at 1000 a busy thread runs 5-7% slower "
     "here, see docs/BENCHMARKS.md)",
     0},
    {"user", OPT_USER, "NAME", 0, "run: run CMD as NAME (default: the sudo caller)", 0},
    {"pid", 'p', "PID[,PID]", 0, "attach: processes to trace", 0},
    {"duration", 'd', "SECONDS", 0, "attach: stop after SECONDS", 0},
    {"live", OPT_LIVE, NULL, 0, "attach: refresh a top-like view every second", 0},
    {"metrics", OPT_METRICS, "ADDR:PORT", 0,
     "attach: serve Prometheus/OpenMetrics counters at http://ADDR:PORT/metrics while tracing "
     "(PORT alone: 127.0.0.1)",
     0},
    {"metrics-file", OPT_METRICS_FILE, "PATH", 0,
     "attach: rewrite PATH with the counters every 5 s, for node_exporter's textfile collector", 0},
    {"fail-if", OPT_FAIL_IF, "EXPR", 0,
     "compare: exit 1 if B changed from A as EXPR says: FIELD>CHANGE or FIELD<CHANGE, e.g. "
     "serialize_ns>+10% or wall_ns>+50ms (repeatable)",
     0},
    {"probe-mode", OPT_PROBE_MODE, "MODE", 0,
     "Precise kernel probes: auto (fentry, else kprobe; default), fentry, kprobe, or "
     "fallback (sampled/tracepoint only)",
     0},
    {"verbose", 'v', NULL, 0, "Show libbpf's messages", 0},
    {0},
};

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
    {"compare", MODE_COMPARE, doc_compare, "A B"},
    {"probe", MODE_PROBE, doc_probe, NULL},
};

static void die_usage(struct argp_state *state, const char *fmt, const char *arg)
{
	char buf[256];

	snprintf(buf, sizeof(buf), fmt, arg);
	argp_error(state, "%s", buf);
}

static void parse_pids(struct cli *c, struct argp_state *state, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;

	if (!copy)
		argp_failure(state, 1, ENOMEM, "parsing -p");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (!parse_u64(tok, 1, INT32_MAX, &v))
			die_usage(state, "invalid PID '%s'", tok);
		if (pid_list_add(&c->pids, (pid_t)v))
			argp_failure(state, 1, ENOMEM, "parsing -p");
	}
	free(copy);
}

/* One of `names` (NULL-terminated), as its index; a usage error otherwise. */
static int pick(struct argp_state *state, const char *what, const char *arg,
		const char *const *names)
{
	char list[128] = "";

	for (int i = 0; names[i]; i++) {
		if (!strcmp(arg, names[i]))
			return i;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 names[i]);
	}
	argp_error(state, "unknown %s '%s' (%s)", what, arg, list);
	return 0;
}

static void only_for(struct argp_state *state, enum mode mode, const char *opt)
{
	const struct cli *c = state->input;

	if (c->mode != mode)
		argp_error(state, "%s only applies to '%s'", opt,
			   mode == MODE_ATTACH ? "attach" : "run");
}

/* A positional argument: a recording, or the command and all after it. */
static void take_arg(struct cli *c, struct argp_state *state, char *arg)
{
	if ((c->mode == MODE_REPORT && c->n_files < 1) ||
	    (c->mode == MODE_COMPARE && c->n_files < 2)) {
		c->files[c->n_files++] = arg;
		return;
	}
	if (c->mode != MODE_RUN && c->mode != MODE_RECORD)
		die_usage(state, "unexpected argument '%s'", arg);
	c->cmd = &state->argv[state->next - 1];
	state->next = state->argc;
}

static void check_complete(const struct cli *c, struct argp_state *state)
{
	if ((c->mode == MODE_RUN || c->mode == MODE_RECORD) && !c->cmd)
		argp_error(state, "missing command: ipcprof %s [OPTIONS] -- CMD [ARGS...]",
			   c->mode == MODE_RUN ? "run" : "record");
	if (c->mode == MODE_REPORT && c->n_files != 1)
		argp_error(state, "missing recording: ipcprof report FILE.ipcp");
	if (c->mode == MODE_COMPARE && c->n_files != 2)
		argp_error(state,
			   "compare needs two recordings or JSON reports: ipcprof compare A B");
	if (c->mode == MODE_ATTACH && !c->pids.n)
		argp_error(state, "missing -p PID");
}

static void parse_duration(struct cli *c, struct argp_state *state, const char *arg)
{
	char *end;

	errno = 0;
	c->duration_s = strtod(arg, &end);
	if (errno || *end || !(c->duration_s > 0) || c->duration_s > 1e7)
		die_usage(state, "-d '%s': expected a positive number of seconds", arg);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	static const char *const formats[] = {"text", "json", "csv", NULL};
	static const char *const probe_modes[] = {"auto", "fentry", "kprobe", "fallback", NULL};
	struct cli *c = state->input;
	const char **tmp;
	uint64_t v;

	switch (key) {
	case 'o':
		c->output = arg;
		break;
	case OPT_FORMAT:
		c->format = (enum format)pick(state, "format", arg, formats);
		break;
	case OPT_NO_FOLLOW:
		c->follow = false;
		break;
	case OPT_NO_CALL_SITES:
		c->call_sites = false;
		break;
	case OPT_SVG:
		c->svg = arg;
		break;
	case OPT_HTML:
		c->html = arg;
		break;
	case OPT_TIMELINE:
		c->timeline = arg;
		break;
	case OPT_LIVE:
		only_for(state, MODE_ATTACH, "--live");
		c->live = true;
		break;
	case OPT_FAIL_IF:
		if (c->mode != MODE_COMPARE)
			argp_error(state, "--fail-if only applies to 'compare'");
		tmp = grow_array(c->fail_if, (size_t)c->n_fail_if, sizeof(*c->fail_if));
		if (!tmp)
			argp_failure(state, 1, ENOMEM, "--fail-if");
		c->fail_if = tmp;
		c->fail_if[c->n_fail_if++] = arg;
		break;
	case OPT_METRICS:
		only_for(state, MODE_ATTACH, "--metrics");
		c->metrics = arg;
		break;
	case OPT_METRICS_FILE:
		only_for(state, MODE_ATTACH, "--metrics-file");
		c->metrics_file = arg;
		break;
	case OPT_UPROBE:
		tmp = grow_array(c->uprobes, (size_t)c->n_uprobes, sizeof(*c->uprobes));
		if (!tmp)
			argp_failure(state, 1, ENOMEM, "--uprobe");
		c->uprobes = tmp;
		c->uprobes[c->n_uprobes++] = arg;
		break;
	case OPT_SAMPLE_HZ:
		if (!parse_u64(arg, 1, 100000, &v))
			die_usage(state, "--sample-hz '%s': expected 1..100000", arg);
		c->sample_hz = (uint32_t)v;
		break;
	case OPT_THREAD_SAMPLE_HZ:
		/* past ~10 kHz the ticks (~45 us each here) would be most of the CPU,
		 * and perf would throttle them into uneven samples */
		if (!parse_u64(arg, 0, 10000, &v))
			die_usage(state, "--thread-sample-hz '%s': expected 0..10000", arg);
		c->thread_sample_hz = (uint32_t)v;
		break;
	case OPT_USER:
		only_for(state, MODE_RUN, "--user");
		c->user = arg;
		break;
	case 'p':
		only_for(state, MODE_ATTACH, "-p");
		parse_pids(c, state, arg);
		break;
	case 'd':
		only_for(state, MODE_ATTACH, "-d");
		parse_duration(c, state, arg);
		break;
	case OPT_PROBE_MODE:
		c->probe_mode = (enum probe_mode)pick(state, "probe mode", arg, probe_modes);
		break;
	case 'v':
		c->verbose = true;
		break;
	case ARGP_KEY_ARG:
		take_arg(c, state, arg);
		break;
	case ARGP_KEY_END:
		check_complete(c, state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cli_parse(struct cli *c, int argc, char **argv)
{
	struct argp argp_top = {
	    run_opts, parse_opt, "SUBCOMMAND [OPTION...] [ARGS...]", doc_top, NULL, NULL, NULL};
	struct argp argp_sub = {run_opts, parse_opt, NULL, NULL, NULL, NULL, NULL};

	*c = (struct cli){.follow = true, .sample_hz = 99, .call_sites = true};
	if (argc < 2 || argv[1][0] == '-') {
		/* only --help, --usage and --version make sense here */
		argp_parse(&argp_top, argc, argv, 0, NULL, c);
		fprintf(stderr,
			"ipcprof: missing subcommand (run or attach); see ipcprof --help\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (!strcmp(argv[1], subcommands[i].name)) {
			c->mode = subcommands[i].mode;
			argp_sub.doc = subcommands[i].doc;
			argp_sub.args_doc = subcommands[i].args_doc;
		}
	}
	if (c->mode == MODE_NONE) {
		fprintf(stderr,
			"ipcprof: unknown subcommand '%s' (run, record, attach, report, compare or "
			"probe)\n",
			argv[1]);
		return 2;
	}
	if (argp_parse(&argp_sub, argc - 1, argv + 1, ARGP_IN_ORDER, NULL, c))
		return 2;
	return 0;
}

void cli_free(struct cli *c)
{
	pid_list_free(&c->pids);
	free(c->uprobes);
	free(c->fail_if);
	c->uprobes = NULL;
}
