// SPDX-License-Identifier: MIT
/* The human-readable report: phases first, then processes, then channels. */
#include <stdlib.h>
#include <string.h>

#include "breakdown.h"
#include "findings.h"
#include "report.h"
#include "report_text.h"
#include "util.h"

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* "k of n samples (99 Hz per CPU + 1000 Hz per thread)" */
static void sample_note(const struct report *rep, uint64_t k, uint64_t n, char *buf, size_t len)
{
	if (n < k) /* a recording older than the activities' sample counts */
		snprintf(buf, len, "%llu samples @ %u Hz", (unsigned long long)k, rep->sample_hz);
	else if (rep->thread_sample_hz)
		snprintf(buf, len, "%llu of %llu samples (%u Hz per CPU + %u Hz per thread)",
			 (unsigned long long)k, (unsigned long long)n, rep->sample_hz,
			 rep->thread_sample_hz);
	else
		snprintf(buf, len, "%llu of %llu samples @ %u Hz", (unsigned long long)k,
			 (unsigned long long)n, rep->sample_hz);
}

/* Sampled fault time of the activities [from, to): its samples and the
 * exact counts of the faults. */
static void fault_counts(const struct report *rep, const char *m, int from, int to, char *buf,
			 size_t len)
{
	const struct proc_row *t = &rep->totals;
	uint64_t samples = 0, cow = 0, first = 0;

	for (int a = from; a < to; a++) {
		samples += t->fault_samples[a];
		cow += t->faults[a][FT_COW];
		first += t->faults[a][FT_NOT_PRESENT];
	}
	snprintf(buf, len, "%s, %llu samples @ %u Hz; %llu CoW + %llu first-touch (exact)", m,
		 (unsigned long long)samples, rep->sample_hz, (unsigned long long)cow,
		 (unsigned long long)first);
}

/* How a top-level quantity was measured, with its counts. */
static void measured_detail(const struct report *rep, int id, char *buf, size_t len)
{
	const struct proc_row *t = &rep->totals;
	const char *m = breakdown_method(rep, measured_defs[id].phase);
	switch (id) {
	case MS_SERIALIZER:
	case MS_DESERIALIZER:
		snprintf(buf, len, "%s, %llu calls", m,
			 (unsigned long long)(id == MS_SERIALIZER ? t->serialize_calls
								  : t->deserialize_calls));
		break;
	case MS_IPC_ONCPU:
		snprintf(buf, len, "%s, %llu IPC calls", m, (unsigned long long)t->ipc_calls);
		break;
	case MS_BLOCKED:
		snprintf(buf, len, "%s (sched_switch), off CPU waiting for a peer", m);
		break;
	case MS_FORK:
		snprintf(buf, len, "%s, %llu forks + children's start latency", m,
			 (unsigned long long)t->fork_calls);
		break;
	case MS_MMAP:
		snprintf(buf, len, "%s, %llu shared map calls", m,
			 (unsigned long long)t->mmap_calls);
		break;
	case MS_WAIT:
		snprintf(buf, len, "%s (sched_switch), off CPU outside IPC calls", m);
		break;
	case MS_COMPUTE:
		snprintf(buf, len, "%s, %llu samples @ %u Hz in user code outside serializers", m,
			 (unsigned long long)(t->user_samples[ACT_POST_FORK] +
					      t->user_samples[ACT_OTHER]),
			 rep->sample_hz);
		break;
	case MS_FAULTS_ELSEWHERE:
		fault_counts(rep, m, ACT_POST_FORK, ACT_COUNT, buf, len);
		break;
	default:
		snprintf(buf, len, "%s: thread time minus the above", m);
	}
}

static void split_detail(const struct report *rep, int id, const struct split *sp, char *buf,
			 size_t len)
{
	const struct proc_row *t = &rep->totals;
	const char *m = breakdown_method(rep, sp->phase);
	int a = measured_defs[id].act;
	char sn[96];

	if (id == MS_BLOCKED) {
		snprintf(buf, len, "%s (sched_switch), %s", m,
			 !strcmp(sp->name, "in_poll") ? "off CPU until an IPC fd was ready"
						      : "off CPU inside IPC calls");
	} else if (sp->phase == PH_COPY) {
		sample_note(rep, t->samples_copy, t->samples_ipc, sn, sizeof(sn));
		snprintf(buf, len, "%s, %s", m, sp->e.exact ? "timed" : sn);
	} else if (id == MS_FAULTS_ELSEWHERE) {
		bool shared = !strcmp(sp->name, "shared_memory");

		/* ACT_SHARED is the last activity: the rest is the two before */
		fault_counts(rep, m, shared ? ACT_SHARED : ACT_POST_FORK,
			     shared ? ACT_COUNT : ACT_SHARED, buf, len);
	} else if (sp->phase == PH_FAULT && a >= 0) {
		sample_note(rep, t->fault_samples[a], t->act_samples[a], sn, sizeof(sn));
		snprintf(buf, len, "%s, %s; %llu CoW + %llu first-touch (exact)", m,
			 sp->e.exact ? "timed" : sn, (unsigned long long)t->faults[a][FT_COW],
			 (unsigned long long)t->faults[a][FT_NOT_PRESENT]);
	} else {
		snprintf(buf, len, "%s: the above less the splits beside it", m);
	}
}

/* "~12.0 ms" for an estimate, "12.0 ms" for an exact amount */
static const char *fmt_estimate(const struct estimate *e, char *buf, size_t len)
{
	char b[32];

	snprintf(buf, len, "%s%s", e->exact ? "" : "~", fmt_ns(e->ns, b, sizeof(b)));
	return buf;
}

/* "8.1 ms .. 40.3 ms": the 95% range of an estimate, "" when exact */
static const char *fmt_range(const struct estimate *e, char *buf, size_t len)
{
	char lo[32], hi[32];

	if (e->exact)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s .. %s", fmt_ns(e->lo_ns, lo, sizeof(lo)),
			 fmt_ns(e->hi_ns, hi, sizeof(hi)));
	return buf;
}

/*
 * What was measured exactly, each with the sampled splits of it beneath,
 * then the sampled rest: the top level sums to the threads' time.
 */
static void write_phases(const struct report *rep, FILE *out)
{
	const struct proc_row *t = &rep->totals;
	struct measured ms[MS_COUNT];
	char tb[32], rb[80], mb[256], esc[4 * sizeof(mb)];

	breakdown_of(t, rep->methods, ms);
	fprintf(out, "%-28s %10s %7s  %-22s %s\n", "WHERE THE TIME WENT", "TIME", "SHARE",
		"95% RANGE", "MEASURED BY (~: a sampled estimate)");
	for (int i = 0; i < MS_COUNT; i++) {
		const struct measured *m = &ms[i];

		measured_detail(rep, i, mb, sizeof(mb));
		if (m->e.unavailable) {
			fprintf(out, "%-28s %10s %7s  %-22s %s\n", measured_defs[i].label, "n/a",
				"", "", printable(mb, esc, sizeof(esc)));
			continue;
		}
		fprintf(out, "%-28s %10s %6.1f%%  %-22s %s\n", measured_defs[i].label,
			fmt_estimate(&m->e, tb, sizeof(tb)), pct(m->e.ns, t->thread_ns),
			fmt_range(&m->e, rb, sizeof(rb)), printable(mb, esc, sizeof(esc)));
		if (!m->e.ns)
			continue;
		for (int k = 0; k < m->n_splits; k++) {
			const struct split *sp = &m->splits[k];
			char label[40];

			snprintf(label, sizeof(label), "  of which %s", sp->label);
			split_detail(rep, i, sp, mb, sizeof(mb));
			fprintf(out, "%-28s %10s %6.1f%%  %-22s %s\n", label,
				fmt_estimate(&sp->e, tb, sizeof(tb)), pct(sp->e.ns, m->e.ns),
				fmt_range(&sp->e, rb, sizeof(rb)), printable(mb, esc, sizeof(esc)));
		}
	}
	fprintf(out, "%-28s %10s %6.1f%%  %-22s %s\n", "total",
		fmt_ns(t->thread_ns, tb, sizeof(tb)), 100.0, "", "summed thread lifetimes");
	fprintf(out, "(a split's share is of the line above it; the phase partition, with copy "
		     "and faults cut out of the\n exact times, is in --format json and csv)\n");
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

/* The process table's columns: the exact quantities, and copy, the one
 * split the seeds ask about. A column is headed "~" when its total is an
 * estimate, and each estimated cell carries "~" too. */
static const struct {
	const char *head;
	int id;	   /* enum measured_id */
	int split; /* index into its splits, -1: the quantity itself */
} proc_cols[] = {
    {"SERIALIZE", MS_SERIALIZER, -1},
    {"DESERIAL", MS_DESERIALIZER, -1},
    {"IPC-CPU", MS_IPC_ONCPU, -1},
    {"COPY", MS_IPC_ONCPU, SPLIT_IPC_COPY},
    {"BLOCKED", MS_BLOCKED, -1},
    {"FORK", MS_FORK, -1},
    {"MMAP", MS_MMAP, -1},
    {"WAIT", MS_WAIT, -1},
    {"COMPUTE", MS_COMPUTE, -1},
    {"FAULTS*", MS_FAULTS_ELSEWHERE, -1},
    {"OTHER", MS_OTHER, -1},
};
#define N_PROC_COLS (sizeof(proc_cols) / sizeof(proc_cols[0]))

static const struct estimate *proc_col(const struct measured *ms, size_t c)
{
	const struct measured *m = &ms[proc_cols[c].id];

	return proc_cols[c].split < 0 ? &m->e : &m->splits[proc_cols[c].split].e;
}

static void write_procs(const struct report *rep, FILE *out)
{
	const struct proc_row **rows = calloc(rep->n_procs ? rep->n_procs : 1, sizeof(*rows));
	char b[2][32], head[16], comm[4 * IPCPROF_COMM_LEN];
	struct measured ms[MS_COUNT];

	if (!rows)
		return;
	for (int i = 0; i < rep->n_procs; i++)
		rows[i] = &rep->procs[i];
	qsort(rows, rep->n_procs, sizeof(*rows), by_ipc_time);
	fprintf(out,
		"\nPROCESSES (most IPC time first; ~: sampled; IPC-CPU includes COPY; FAULTS*: "
		"page faults outside serializers and IPC calls)\n");
	fprintf(out, "%7s %7s %-15s %9s", "PID", "PPID", "COMM", "WALL");
	breakdown_of(&rep->totals, rep->methods, ms);
	for (size_t c = 0; c < N_PROC_COLS; c++) {
		const struct estimate *e = proc_col(ms, c);

		snprintf(head, sizeof(head), "%s%s", e->exact || e->unavailable ? "" : "~",
			 proc_cols[c].head);
		fprintf(out, " %9s", head);
	}
	fprintf(out, " %10s %10s\n", "WRITTEN", "READ");
	for (int i = 0; i < rep->n_procs && i < 20; i++) {
		const struct proc_row *r = rows[i];

		breakdown_of(r, rep->methods, ms);
		fprintf(out, "%7u %7u %-15s %9s", r->pid, r->ppid,
			printable(r->comm, comm, sizeof(comm)),
			fmt_ns(r->wall_ns, b[0], sizeof(b[0])));
		for (size_t c = 0; c < N_PROC_COLS; c++) {
			const struct estimate *e = proc_col(ms, c);

			if (e->unavailable)
				snprintf(b[1], sizeof(b[1]), "n/a");
			else
				fmt_estimate(e, b[1], sizeof(b[1]));
			fprintf(out, " %9s", b[1]);
		}
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

/*
 * A connection made only to hand descriptors over (multiprocessing's
 * resource sharer makes one per shared segment): a few bytes of its own
 * beside them. Shown together, so that a hundred of them do not bury the
 * channels that carry data.
 */
#define HANDOFF_MAX_BYTES 4096
static bool small(const struct channel *c)
{
	return c->bytes_written < HANDOFF_MAX_BYTES && c->bytes_read < HANDOFF_MAX_BYTES;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Which channels belong to hand-off connections: those that carried
 * descriptors, and the other direction of the same socket (the request
 * that asked for them). Returns how many, marks them in `mark`. */
static int mark_handoffs(const struct report *rep, bool *mark)
{
	uint64_t *inos = malloc((size_t)rep->n_chans * sizeof(*inos) + 1);
	int n_inos = 0, n = 0;

	if (!inos)
		return 0;
	for (int i = 0; i < rep->n_chans; i++) {
		const struct channel *c = &rep->chans[i];

		mark[i] = channel_fds_passed(c) && small(c);
		if (mark[i])
			inos[n_inos++] = c->ino;
	}
	qsort(inos, (size_t)n_inos, sizeof(*inos), cmp_u64);
	for (int i = 0; i < rep->n_chans; i++) {
		const struct channel *c = &rep->chans[i];

		/* a socket channel is named by its sender: the reply's sender
		 * is the request's receiver */
		if (!mark[i] && c->peer_ino && small(c) &&
		    bsearch(&c->peer_ino, inos, (size_t)n_inos, sizeof(*inos), cmp_u64))
			mark[i] = true;
		n += mark[i];
	}
	free(inos);
	return n;
}

static void write_handoffs(const struct report *rep, const bool *mark, int n, FILE *out)
{
	uint64_t fds = 0, bytes = 0, blocked = 0, oncpu = 0;
	char b1[32], b2[32], b3[32];

	for (int i = 0; i < rep->n_chans; i++) {
		const struct channel *c = &rep->chans[i];

		if (!mark[i])
			continue;
		fds += channel_fds_passed(c);
		bytes += c->bytes_written > c->bytes_read ? c->bytes_written : c->bytes_read;
		blocked += c->blocked_ns;
		oncpu += c->oncpu_ns;
	}
	fprintf(out,
		"  %d descriptor hand-off channel%s (both directions, each under %d B of its "
		"own): %llu descriptors, %s, on CPU %s, blocked %s (each in --format json)\n",
		n, n == 1 ? "" : "s", HANDOFF_MAX_BYTES, (unsigned long long)fds,
		fmt_bytes(bytes, b1, sizeof(b1)), fmt_ns(oncpu, b2, sizeof(b2)),
		fmt_ns(blocked, b3, sizeof(b3)));
}

static void write_chans(const struct report *rep, FILE *out)
{
	char name[CHAN_NAME_MAX], b1[32], b2[32], b3[32], b4[32], b5[32];
	bool *mark = calloc((size_t)rep->n_chans + 1, sizeof(*mark));
	int shown = 0, handoffs = mark ? mark_handoffs(rep, mark) : 0;

	fprintf(out, "\nCHANNELS (most bytes first)\n");
	if (!rep->n_chans)
		fprintf(out, "  none: no pipe, FIFO or unix socket I/O by traced processes\n");
	for (int i = 0; i < rep->n_chans && shown < 20; i++) {
		const struct channel *c = &rep->chans[i];

		if (handoffs > 1 && mark[i])
			continue;
		shown++;

		fprintf(out, "  %-28s ", chan_name(c, name, sizeof(name)));
		write_ends(rep, c, DIR_WRITE, out);
		fprintf(out, " -> ");
		write_ends(rep, c, DIR_READ, out);
		fprintf(out, ": %s in %llu writes, %s in %llu reads, blocked %s\n",
			fmt_bytes(c->bytes_written, b1, sizeof(b1)),
			(unsigned long long)c->write_calls,
			fmt_bytes(c->bytes_read, b2, sizeof(b2)), (unsigned long long)c->read_calls,
			fmt_ns(c->blocked_ns, b3, sizeof(b3)));
		if (c->blocked_poll_ns)
			fprintf(out, "  %28s readers waited %s in poll/epoll for it\n", "",
				fmt_ns(c->blocked_poll_ns, b3, sizeof(b3)));
		if (channel_fds_passed(c))
			fprintf(out, "  %28s %llu descriptors passed (SCM_RIGHTS)\n", "",
				(unsigned long long)channel_fds_passed(c));
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
	if (handoffs > 1)
		write_handoffs(rep, mark, handoffs, out);
	else
		handoffs = 0;
	free(mark);
	if (rep->n_chans - handoffs > shown)
		fprintf(out, "  ... %d more channels (see --format json)\n",
			rep->n_chans - handoffs - shown);
}

static void write_faults(const struct report *rep, FILE *out)
{
	static const char *const label[ACT_COUNT] = {
	    "serialize", "deserialize", "IPC syscalls", "post-fork", "other", "shared memory",
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
			"      %s written, %s read in %llu IPC calls; serializer %s, "
			"deserializer %s, IPC on CPU %s, blocked %s (all exact); page faults: %llu "
			"CoW, %llu first-touch\n",
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
	report_text_segments(rep, out);
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
