// SPDX-License-Identifier: MIT
/* The human-readable report: phases first, then processes, then channels. */
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "report.h"
#include "util.h"

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void method_detail(const struct report *rep, int p, char *buf, size_t len)
{
	const struct proc_row *t = &rep->totals;
	const char *m = rep->methods[p] ? rep->methods[p] : "unavailable";

	switch (p) {
	case PH_SERIALIZE:
	case PH_DESERIALIZE: {
		int a = p == PH_SERIALIZE ? ACT_SERIALIZE : ACT_DESERIALIZE;
		char fb[32];

		if (!strcmp(m, "unavailable")) {
			snprintf(buf, len, "unavailable (see note)");
			break;
		}
		snprintf(buf, len,
			 "%s, %llu calls; its page faults: %s more (%llu CoW, %llu first-touch)", m,
			 (unsigned long long)(p == PH_SERIALIZE ? t->serialize_calls
								: t->deserialize_calls),
			 fmt_ns(t->fault_ns[a], fb, sizeof(fb)),
			 (unsigned long long)t->faults[a][FT_COW],
			 (unsigned long long)t->faults[a][FT_NOT_PRESENT]);
		break;
	}
	case PH_SYSCALL:
		snprintf(buf, len, "%s, %llu IPC calls on CPU, less copy", m,
			 (unsigned long long)t->ipc_calls);
		break;
	case PH_BLOCKED:
		snprintf(buf, len, "%s (sched_switch), off CPU inside IPC calls", m);
		break;
	case PH_COPY:
		snprintf(buf, len, "%s, %llu of %llu samples in IPC calls @ %u Hz", m,
			 (unsigned long long)t->samples_copy, (unsigned long long)t->samples_ipc,
			 rep->sample_hz);
		break;
	case PH_FAULT: {
		uint64_t n[FT_COUNT] = {0}, samples = 0;

		for (int a = 0; a < ACT_COUNT; a++) {
			for (int f = 0; f < FT_COUNT; f++)
				n[f] += t->faults[a][f];
			samples += t->fault_samples[a];
		}
		snprintf(buf, len, "%s, %llu samples; %llu CoW + %llu first-touch faults (exact)",
			 m, (unsigned long long)samples, (unsigned long long)n[FT_COW],
			 (unsigned long long)n[FT_NOT_PRESENT]);
		break;
	}
	case PH_COMPUTE:
		snprintf(buf, len, "%s, %llu samples in user code outside serializers", m,
			 (unsigned long long)(t->user_samples[ACT_POST_FORK] +
					      t->user_samples[ACT_OTHER]));
		break;
	case PH_WAIT:
		snprintf(buf, len, "%s (sched_switch), off CPU outside IPC calls", m);
		break;
	case PH_FORK:
		snprintf(buf, len, "%s, %llu forks + children's start latency", m,
			 (unsigned long long)t->fork_calls);
		break;
	case PH_MMAP:
		snprintf(buf, len, "%s, %llu shared map calls", m,
			 (unsigned long long)t->mmap_calls);
		break;
	default:
		snprintf(buf, len, "%s: thread time minus the above", m);
	}
}

static void write_phases(const struct report *rep, FILE *out)
{
	const struct proc_row *t = &rep->totals;
	char tb[32], mb[128], esc[4 * sizeof(mb)], cb[32];

	/* ±: 95% confidence from the sample counts, for sampled phases */
	/* "±" is two bytes: one more column of width keeps the header aligned */
	fprintf(out, "%-12s %10s %11s %7s  %s\n", "PHASE", "TIME", "±95%", "SHARE", "MEASURED BY");
	for (int p = 0; p < PH_COUNT; p++) {
		method_detail(rep, p, mb, sizeof(mb));
		if (t->ci95_ns[p])
			fmt_ns(t->ci95_ns[p], cb, sizeof(cb));
		else
			snprintf(cb, sizeof(cb), "-");
		if (rep->methods[p] && !strcmp(rep->methods[p], "unavailable"))
			fprintf(out, "%-12s %10s %10s %7s  %s\n", phase_names[p], "n/a", "", "",
				printable(mb, esc, sizeof(esc)));
		else
			fprintf(out, "%-12s %10s %10s %6.1f%%  %s\n", phase_names[p],
				fmt_ns(t->phase_ns[p], tb, sizeof(tb)), cb,
				pct(t->phase_ns[p], t->thread_ns), printable(mb, esc, sizeof(esc)));
	}
	fprintf(out, "%-12s %10s %10s %6.1f%%  summed thread lifetimes\n", "total",
		fmt_ns(t->thread_ns, tb, sizeof(tb)), "", 100.0);
}

static uint64_t ipc_time(const struct proc_row *r)
{
	uint64_t s = 0;

	for (int p = 0; p < PH_OTHER; p++)
		s += r->phase_ns[p];
	return s;
}

static int by_ipc_time(const void *a, const void *b)
{
	uint64_t x = ipc_time(*(const struct proc_row *const *)a);
	uint64_t y = ipc_time(*(const struct proc_row *const *)b);

	return (x < y) - (x > y);
}

static void write_procs(const struct report *rep, FILE *out)
{
	const struct proc_row **rows = calloc(rep->n_procs ? rep->n_procs : 1, sizeof(*rows));
	char b[PH_COUNT + 3][32], comm[4 * IPCPROF_COMM_LEN];

	if (!rows)
		return;
	for (int i = 0; i < rep->n_procs; i++)
		rows[i] = &rep->procs[i];
	qsort(rows, rep->n_procs, sizeof(*rows), by_ipc_time);
	fprintf(out, "\nPROCESSES (most IPC time first)\n");
	fprintf(out, "%7s %7s %-15s %9s", "PID", "PPID", "COMM", "WALL");
	for (int p = 0; p < PH_COUNT; p++) {
		char head[16];
		int i;

		for (i = 0; phase_names[p][i] && i < 9; i++)
			head[i] = (char)(phase_names[p][i] - 32 * (phase_names[p][i] >= 'a'));
		head[i] = '\0';
		fprintf(out, " %9s", head);
	}
	fprintf(out, " %10s %10s\n", "WRITTEN", "READ");
	for (int i = 0; i < rep->n_procs && i < 20; i++) {
		const struct proc_row *r = rows[i];

		fprintf(out, "%7u %7u %-15s %9s", r->pid, r->ppid,
			printable(r->comm, comm, sizeof(comm)),
			fmt_ns(r->wall_ns, b[0], sizeof(b[0])));
		for (int p = 0; p < PH_COUNT; p++)
			fprintf(out, " %9s", fmt_ns(r->phase_ns[p], b[p + 1], sizeof(b[0])));
		fprintf(out, " %10s %10s\n", fmt_bytes(r->bytes_written, b[0], sizeof(b[0])),
			fmt_bytes(r->bytes_read, b[1], sizeof(b[1])));
	}
	if (rep->n_procs > 20)
		fprintf(out, "... %d more processes (see --format json)\n", rep->n_procs - 20);
	free(rows);
}

static void write_ends(const struct report *rep, const struct channel *c, int dir, FILE *out)
{
	char comm[4 * IPCPROF_COMM_LEN];
	int shown = 0;

	for (int i = 0; i < c->n_ends; i++) {
		const struct proc_row *r;

		if (c->ends[i].dir != dir)
			continue;
		r = report_find_proc(rep, c->ends[i].tgid);
		fprintf(out, "%s%u (%s)", shown++ ? ", " : "", c->ends[i].tgid,
			r ? printable(r->comm, comm, sizeof(comm)) : "?");
	}
	if (!shown)
		fprintf(out, "untraced");
}

static void write_chans(const struct report *rep, FILE *out)
{
	char name[64], b1[32], b2[32], b3[32], b4[32], b5[32];

	fprintf(out, "\nCHANNELS (most bytes first)\n");
	if (!rep->n_chans)
		fprintf(out, "  none: no pipe, FIFO or unix socket I/O by traced processes\n");
	for (int i = 0; i < rep->n_chans && i < 20; i++) {
		const struct channel *c = &rep->chans[i];

		fprintf(out, "  %-28s ", chan_name(c, name, sizeof(name)));
		write_ends(rep, c, DIR_WRITE, out);
		fprintf(out, " -> ");
		write_ends(rep, c, DIR_READ, out);
		fprintf(out, ": %s in %llu writes, %s in %llu reads, blocked %s\n",
			fmt_bytes(c->bytes_written, b1, sizeof(b1)),
			(unsigned long long)c->write_calls,
			fmt_bytes(c->bytes_read, b2, sizeof(b2)), (unsigned long long)c->read_calls,
			fmt_ns(c->blocked_ns, b3, sizeof(b3)));
		if (c->last_ns > c->first_ns && c->bytes_written >= 4096)
			fprintf(out, "  %28s %s in %s = %s (single pipe here: %s, memcpy: %s)\n",
				"",
				fmt_bytes(c->bytes_read ? c->bytes_read : c->bytes_written, b1,
					  sizeof(b1)),
				fmt_ns(c->last_ns - c->first_ns, b2, sizeof(b2)),
				fmt_rate(chan_rate(c), b3, sizeof(b3)),
				fmt_rate(rep->pipe_bps, b4, sizeof(b4)),
				fmt_rate(rep->memcpy_bps, b5, sizeof(b5)));
	}
	if (rep->n_chans > 20)
		fprintf(out, "  ... %d more channels (see --format json)\n", rep->n_chans - 20);
}

static void write_faults(const struct report *rep, FILE *out)
{
	static const char *const label[ACT_COUNT] = {
	    "serialize", "deserialize", "IPC syscalls", "post-fork", "other",
	};
	const struct proc_row *t = &rep->totals;
	char b1[32], b2[32];

	fprintf(out, "\nPAGE FAULTS (counts exact, time sampled)\n");
	fprintf(out, "  %-14s %10s %10s %10s %12s %8s %8s\n", "DURING", "FAULT TIME", "OF", "COW",
		"FIRST-TOUCH", "OTHER", "SAMPLES");
	for (int a = 0; a < ACT_COUNT; a++) {
		const uint64_t *n = t->faults[a];

		if (!n[FT_COW] && !n[FT_NOT_PRESENT] && !n[FT_OTHER] && !t->fault_samples[a])
			continue;
		fprintf(out, "  %-14s %10s %10s %10llu %12llu %8llu %8llu\n", label[a],
			fmt_ns(t->fault_ns[a], b1, sizeof(b1)),
			t->activity_ns[a] ? fmt_ns(t->activity_ns[a], b2, sizeof(b2)) : "-",
			(unsigned long long)n[FT_COW], (unsigned long long)n[FT_NOT_PRESENT],
			(unsigned long long)n[FT_OTHER], (unsigned long long)t->fault_samples[a]);
	}
	fprintf(out,
		"  %llu of these faults were taken in kernel mode (copying to/from user "
		"memory)\n",
		(unsigned long long)t->faults_kernel);
}

/* The Python lines behind the IPC, most IPC time first. */
#define TEXT_SITES 10
static void write_sites(const struct report *rep, FILE *out)
{
	char b[6][32];

	if (!rep->n_sites)
		return;
	fprintf(out, "\nCALL SITES (Python code behind the IPC, most IPC time first)\n");
	for (int i = 0; i < rep->n_sites && i < TEXT_SITES; i++) {
		const struct call_site *c = &rep->sites[i];

		fputs("  ", out);
		fput_printable(out, c->file);
		fprintf(out, ":%d in ", c->line);
		fput_printable(out, c->function);
		fprintf(out, " (pid %u)%s\n", c->pid,
			c->user_frame ? "" : ", no caller outside the IPC modules");
		fprintf(out,
			"      %s written, %s read in %llu IPC calls; serialize %s, deserialize "
			"%s, syscall %s, blocked %s; page faults: %llu CoW, %llu first-touch\n",
			fmt_bytes(c->s.bytes_written, b[0], sizeof(b[0])),
			fmt_bytes(c->s.bytes_read, b[1], sizeof(b[1])),
			(unsigned long long)c->s.ipc_calls,
			fmt_ns(c->s.serialize_ns, b[2], sizeof(b[2])),
			fmt_ns(c->s.deserialize_ns, b[3], sizeof(b[3])),
			fmt_ns(c->s.syscall_ns, b[4], sizeof(b[4])),
			fmt_ns(c->s.blocked_ns, b[5], sizeof(b[5])),
			(unsigned long long)c->s.faults[FT_COW],
			(unsigned long long)c->s.faults[FT_NOT_PRESENT]);
	}
	if (rep->n_sites > TEXT_SITES)
		fprintf(out, "  ... %d more in the JSON report (call_sites)\n",
			rep->n_sites - TEXT_SITES);
}

static void write_findings(const struct report *rep, FILE *out)
{
	struct finding f[FINDINGS_MAX];
	int n = findings_derive(rep, f, FINDINGS_MAX);

	if (!n)
		return;
	fprintf(out, "\nFINDINGS (from the numbers above)\n");
	for (int i = 0; i < n; i++) {
		fputs("  - ", out);
		fput_printable(out, f[i].text);
		fputc('\n', out);
	}
}

int report_write_text(const struct report *rep, FILE *out)
{
	const struct proc_row *t = &rep->totals;
	char b1[32], b2[32];

	fprintf(out, "ipcprof %s: ", IPCPROF_VERSION);
	fput_printable(out, rep->target);
	fputc('\n', out);
	fprintf(out, "traced %d processes for %s (thread time %s)", rep->n_procs,
		fmt_ns(t->wall_ns, b1, sizeof(b1)), fmt_ns(t->thread_ns, b2, sizeof(b2)));
	if (rep->exit_status >= 0)
		fprintf(out, ", exit status %d", rep->exit_status);
	if (rep->interrupted)
		fprintf(out, ", interrupted");
	fprintf(out, "\n\n");
	write_phases(rep, out);
	write_procs(rep, out);
	write_faults(rep, out);
	write_chans(rep, out);
	write_sites(rep, out);
	if (rep->n_probes) {
		fprintf(out, "\nSERIALIZER PROBES\n");
		for (int i = 0; i < rep->n_probes; i++) {
			fputs("  ", out);
			fput_printable(out, rep->probes[i]);
			fputc('\n', out);
		}
	}
	for (int i = 0; i < rep->n_notes; i++) {
		fprintf(out, "%snote: ", i ? "" : "\n");
		fput_printable(out, rep->notes[i]);
		fputc('\n', out);
	}
	fprintf(out, "%slost events: %llu\n", rep->n_notes ? "" : "\n",
		(unsigned long long)(rep->lost_events + rep->map_full));
	write_findings(rep, out);
	return ferror(out) ? -1 : 0;
}
