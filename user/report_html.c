// SPDX-License-Identifier: MIT
/*
 * --html: the report as one self-contained page (no script, no network,
 * inline CSS and the --svg bars inline) that reads on a phone and in a CI
 * artifact browser. Every number cell carries the exact value it shows
 * (data-field, data-value: integer ns, bytes or counts, as in the JSON
 * report), so tools and tests can read the page without parsing "12.3 ms".
 * Strings from traced programs (comm, paths, function names, the command)
 * are escaped: they are the traced program's choice.
 */
#include <stdlib.h>
#include <string.h>

#include "breakdown.h"
#include "findings.h"
#include "report.h"
#include "segments.h"
#include "util.h"

#define HTML_SITES 50 /* call-site rows shown, most IPC time first */

static const char css[] =
    "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:12px;"
    "color:#222;background:#fff}"
    "h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em;"
    "border-bottom:1px solid #ddd}"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
    "table{border-collapse:collapse;font-size:.9em}"
    "th,td{padding:3px 8px;border-bottom:1px solid #eee;white-space:nowrap;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "th{background:#f6f6f6;position:sticky;top:0}"
    "svg{max-width:100%;height:auto}"
    ".meta{color:#555}.note{color:#8a5a00}code{font-size:.95em}tr.split td{color:#555}"
    "@media (max-width:600px){body{padding:6px}table{font-size:.8em}}";

void report_html_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			/* control characters: shown, not interpreted */
			fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
		}
	}
}

enum cell { C_NS, C_BYTES, C_COUNT };

/* A number cell: exact value in the attributes, human-readable text. */
static void num(FILE *out, const char *field, uint64_t v, enum cell kind)
{
	char b[32];

	fprintf(out, "<td class=\"n\" data-field=\"%s\" data-value=\"%llu\">", field,
		(unsigned long long)v);
	if (kind == C_NS)
		fputs(fmt_ns(v, b, sizeof(b)), out);
	else if (kind == C_BYTES)
		fputs(fmt_bytes(v, b, sizeof(b)), out);
	else
		fprintf(out, "%llu", (unsigned long long)v);
	fputs("</td>", out);
}

static void text_cell(FILE *out, const char *field, const char *s)
{
	fprintf(out, "<td data-field=\"%s\">", field);
	report_html_escape(out, s);
	fputs("</td>", out);
}

static void head(const struct report *rep, FILE *out)
{
	char b[32];

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>ipcprof: ",
	      out);
	report_html_escape(out, rep->target);
	fprintf(out, "</title>\n<style>%s</style></head>\n<body>\n<h1>ipcprof report</h1>\n", css);
	fputs("<p class=\"meta\"><code id=\"target\">", out);
	report_html_escape(out, rep->target);
	fprintf(
	    out,
	    "</code><br>traced for <span data-field=\"duration_ns\" data-value=\"%llu\">%s</span>",
	    (unsigned long long)rep->totals.wall_ns, fmt_ns(rep->totals.wall_ns, b, sizeof(b)));
	if (rep->exit_status >= 0)
		fprintf(out, ", exit status %d", rep->exit_status);
	if (rep->interrupted)
		fputs(", interrupted", out);
	fprintf(out, "; %d processes, %d channels; ipcprof %s</p>\n", rep->n_procs, rep->n_chans,
		IPCPROF_VERSION);
	if (rep->lost_events || rep->map_full)
		fprintf(out,
			"<p class=\"note\">%llu events lost: the numbers are incomplete.</p>\n",
			(unsigned long long)(rep->lost_events + rep->map_full));
}

/* One row of the hierarchy: "~" and the 95% range for an estimate. */
static void estimate_row(FILE *out, const char *field, const char *label, bool split,
			 const struct estimate *e, uint64_t whole, const char *method)
{
	char b[32], lo[32], hi[32];

	fprintf(out, "<tr data-entry=\"%s\"%s><td>%s", field, split ? " class=\"split\"" : "",
		split ? "&nbsp;&nbsp;of which " : "");
	report_html_escape(out, label);
	fprintf(out, "</td><td class=\"n\" data-field=\"%s\" data-value=\"%llu\">%s%s</td>", field,
		(unsigned long long)e->ns, e->exact ? "" : "~", fmt_ns(e->ns, b, sizeof(b)));
	fprintf(out, "<td class=\"n\">%.1f%%</td>",
		whole ? 100.0 * (double)e->ns / (double)whole : 0.0);
	if (e->unavailable)
		fputs("<td>not measured</td>", out);
	else if (e->exact)
		fputs("<td>exact</td>", out);
	else
		fprintf(out, "<td data-lo=\"%llu\" data-hi=\"%llu\">%s &ndash; %s</td>",
			(unsigned long long)e->lo_ns, (unsigned long long)e->hi_ns,
			fmt_ns(e->lo_ns, lo, sizeof(lo)), fmt_ns(e->hi_ns, hi, sizeof(hi)));
	text_cell(out, "method", method);
	fputs("</tr>\n", out);
}

/* What was measured exactly, the sampled splits of it beneath (breakdown.h). */
static void breakdown(const struct report *rep, FILE *out)
{
	const struct proc_row *t = &rep->totals;
	struct measured ms[MS_COUNT];

	breakdown_of(t, rep->methods, ms);
	fputs("<h2>Where the time went</h2>\n<p class=\"meta\">Summed thread time of every traced "
	      "process. Each amount its own hook measured stands as measured; beneath it, the "
	      "sampled estimates of what it was made of (~, with their 95% range; a split's share "
	      "is of the line above it).</p>\n"
	      "<div class=\"scroll\"><table id=\"breakdown\"><tr><th>what</th><th>time</th>"
	      "<th>share</th><th>95% range</th><th>method</th></tr>\n",
	      out);
	for (int i = 0; i < MS_COUNT; i++) {
		const struct measured *m = &ms[i];
		char field[64];

		estimate_row(out, measured_defs[i].name, measured_defs[i].label, false, &m->e,
			     t->thread_ns, breakdown_method(rep, measured_defs[i].phase));
		for (int k = 0; m->e.ns && k < m->n_splits; k++) {
			snprintf(field, sizeof(field), "%s.%s", measured_defs[i].name,
				 m->splits[k].name);
			estimate_row(out, field, m->splits[k].label, true, &m->splits[k].e, m->e.ns,
				     breakdown_method(rep, m->splits[k].phase));
		}
	}
	fputs("<tr><td><b>total</b></td>", out);
	num(out, "thread_ns", t->thread_ns, C_NS);
	fputs("<td class=\"n\">100%</td><td></td><td></td></tr>\n</table></div>\n", out);
}

static void phases(const struct report *rep, FILE *out)
{
	const struct proc_row *t = &rep->totals;
	struct estimate est[PH_COUNT];

	fputs("<h2>The same time as a partition</h2>\n<p class=\"meta\">Copy and page faults cut "
	      "out of the exact times above: what a sampled share leaves of an exact time is an "
	      "estimate too (~, with its 95% range).</p>\n"
	      "<div class=\"scroll\"><table id=\"phases\"><tr><th>phase</th><th>time</th>"
	      "<th>share</th><th>method</th></tr>\n",
	      out);
	breakdown_phases(t, rep->methods, est);
	for (int p = 0; p < PH_COUNT; p++) {
		double share =
		    t->thread_ns ? 100.0 * (double)t->phase_ns[p] / (double)t->thread_ns : 0;
		const struct estimate e = est[p];
		char b[32], lo[32], hi[32];

		fprintf(out, "<tr data-phase=\"%s\"><td>%s</td>", phase_names[p], phase_names[p]);
		fprintf(out, "<td class=\"n\" data-field=\"%s\" data-value=\"%llu\">%s%s",
			phase_fields[p], (unsigned long long)e.ns, e.exact ? "" : "~",
			fmt_ns(e.ns, b, sizeof(b)));
		if (!e.exact)
			fprintf(out, " (%s &ndash; %s)", fmt_ns(e.lo_ns, lo, sizeof(lo)),
				fmt_ns(e.hi_ns, hi, sizeof(hi)));
		fputs("</td>", out);
		fprintf(out, "<td class=\"n\">%.1f%%</td>", share);
		text_cell(out, "method", rep->methods[p] ? rep->methods[p] : "unavailable");
		fputs("</tr>\n", out);
	}
	fputs("<tr><td><b>total</b></td>", out);
	num(out, "thread_ns", t->thread_ns, C_NS);
	fputs("<td class=\"n\">100%</td><td></td></tr>\n</table></div>\n", out);
}

static void processes(const struct report *rep, FILE *out)
{
	struct measured tot[MS_COUNT];

	fputs("<h2>Processes</h2>\n<p class=\"meta\">Exact amounts as above, ~: sampled; IPC calls "
	      "on CPU include their copy routines.</p>\n"
	      "<div class=\"scroll\"><table id=\"processes\"><tr><th>pid</th>"
	      "<th>ppid</th><th>comm</th><th>wall</th>",
	      out);
	breakdown_of(&rep->totals, rep->methods, tot);
	for (int i = 0; i < MS_COUNT; i++) {
		fprintf(out, "<th>%s", tot[i].e.exact || tot[i].e.unavailable ? "" : "~");
		report_html_escape(out, measured_defs[i].label);
		fputs("</th>", out);
		if (i == MS_IPC_ONCPU)
			fprintf(out, "<th>%scopy routines</th>",
				tot[i].splits[SPLIT_IPC_COPY].e.exact ? "" : "~");
	}
	fputs("<th>written</th><th>read</th><th>IPC calls</th><th>CoW faults</th>"
	      "<th>first-touch faults</th></tr>\n",
	      out);
	for (int i = 0; i < rep->n_procs; i++) {
		const struct proc_row *r = &rep->procs[i];
		struct measured ms[MS_COUNT];
		char field[64];
		uint64_t cow = 0, first = 0;

		for (int a = 0; a < ACT_COUNT; a++) {
			cow += r->faults[a][FT_COW];
			first += r->faults[a][FT_NOT_PRESENT];
		}
		fprintf(out, "<tr data-pid=\"%u\">", r->pid);
		num(out, "pid", r->pid, C_COUNT);
		num(out, "ppid", r->ppid, C_COUNT);
		text_cell(out, "comm", r->comm);
		num(out, "wall_ns", r->wall_ns, C_NS);
		breakdown_of(r, rep->methods, ms);
		for (int k = 0; k < MS_COUNT; k++) {
			snprintf(field, sizeof(field), "breakdown.%s", measured_defs[k].name);
			num(out, field, ms[k].e.ns, C_NS);
			if (k == MS_IPC_ONCPU) /* its first split */
				num(out, "breakdown.ipc_oncpu.copy",
				    ms[k].splits[SPLIT_IPC_COPY].e.ns, C_NS);
		}
		num(out, "bytes_written", r->bytes_written, C_BYTES);
		num(out, "bytes_read", r->bytes_read, C_BYTES);
		num(out, "ipc_calls", r->ipc_calls, C_COUNT);
		num(out, "faults_cow", cow, C_COUNT);
		num(out, "faults_first_touch", first, C_COUNT);
		fputs("</tr>\n", out);
	}
	fputs("</table></div>\n", out);
}

static void channels(const struct report *rep, FILE *out)
{
	char name[CHAN_NAME_MAX], b[32];

	if (!rep->n_chans)
		return;
	fputs("<h2>Channels</h2>\n<div class=\"scroll\"><table id=\"channels\"><tr><th>channel</th>"
	      "<th>kind</th><th>written</th><th>read</th><th>writes</th><th>reads</th>"
	      "<th>on CPU</th><th>blocked</th><th>descriptors</th><th>rate</th></tr>\n",
	      out);
	for (int i = 0; i < rep->n_chans; i++) {
		const struct channel *c = &rep->chans[i];

		chan_name(c, name, sizeof(name));
		fputs("<tr data-channel=\"", out);
		report_html_escape(out, name);
		fputs("\">", out);
		text_cell(out, "name", name);
		text_cell(out, "kind", chan_kind_name(c->kind));
		num(out, "bytes_written", c->bytes_written, C_BYTES);
		num(out, "bytes_read", c->bytes_read, C_BYTES);
		num(out, "write_calls", c->write_calls, C_COUNT);
		num(out, "read_calls", c->read_calls, C_COUNT);
		num(out, "oncpu_ns", c->oncpu_ns, C_NS);
		num(out, "blocked_ns", c->blocked_ns, C_NS);
		num(out, "fds_passed", channel_fds_passed(c), C_COUNT);
		fprintf(out, "<td class=\"n\">%s</td></tr>\n",
			fmt_rate(chan_rate(c), b, sizeof(b)));
	}
	fputs("</table></div>\n", out);
}

/* One row per process and segment, the segment's own cells on its first. */
static void segment_rows(const struct report *rep, const struct segment *g, FILE *out)
{
	char route[160];

	for (int u = 0; u < g->n_uses; u++) {
		const struct seg_use *s = g->uses[u];
		uint64_t ci = 0, ns = seg_use_fault_ns(rep, s, &ci);

		fprintf(out, "<tr data-ino=\"%llu\" data-pid=\"%u\">", (unsigned long long)g->ino,
			s->pid);
		text_cell(out, "name", u ? "" : g->name);
		text_cell(out, "kind", u ? "" : seg_kind_names[g->kind % SEGK_COUNT]);
		if (u)
			text_cell(out, "size", "");
		else
			num(out, "size", g->size, C_BYTES);
		num(out, "pid", s->pid, C_COUNT);
		text_cell(out, "role", seg_use_role(g, s));
		num(out, "bytes_mapped", s->s.bytes_mapped, C_BYTES);
		num(out, "bytes_touched", s->bytes_touched, C_BYTES);
		num(out, "faults_read", s->s.faults[SF_READ], C_COUNT);
		num(out, "faults_write", s->s.faults[SF_WRITE], C_COUNT);
		num(out, "fault_ns", ns, C_NS);
		route[0] = '\0';
		if (!u && g->n_routes)
			snprintf(route, sizeof(route), "socket:[%llu] %u -> %u (%llu)",
				 (unsigned long long)g->routes[0].chan_ino, g->routes[0].from_pid,
				 g->routes[0].to_pid,
				 (unsigned long long)seg_route_fds(&g->routes[0]));
		text_cell(out, "passed_via", route);
		fputs("</tr>\n", out);
	}
}

#define HTML_SEGMENTS 100
static void shared_memory(const struct report *rep, FILE *out)
{
	struct segment *v;
	int n = segments_build(rep, &v);

	if (n <= 0)
		return;
	fputs("<h2>Shared memory</h2>\n<p class=\"meta\">Each shared segment, most bytes touched "
	      "first: bytes and faults exact, fault time sampled (~).</p>\n<div class=\"scroll\">"
	      "<table id=\"shared_memory\"><tr><th>segment</th><th>kind</th><th>size</th>"
	      "<th>pid</th><th></th><th>mapped</th><th>touched</th><th>read faults</th>"
	      "<th>write faults</th><th>~fault time</th><th>passed via</th></tr>\n",
	      out);
	for (int i = 0; i < n && i < HTML_SEGMENTS; i++)
		segment_rows(rep, &v[i], out);
	fputs("</table></div>\n", out);
	segments_free(v, n);
}

static void call_sites(const struct report *rep, FILE *out)
{
	char where[300];

	if (!rep->n_sites)
		return;
	fputs("<h2>Call sites</h2>\n<p class=\"meta\">The Python lines behind the IPC, most IPC "
	      "time first.</p>\n<div class=\"scroll\"><table id=\"call_sites\"><tr><th>line</th>"
	      "<th>function</th><th>pid</th><th>IPC calls</th><th>written</th><th>read</th>"
	      "<th>serialize</th><th>deserialize</th><th>syscall</th><th>blocked</th></tr>\n",
	      out);
	for (int i = 0; i < rep->n_sites && i < HTML_SITES; i++) {
		const struct call_site *c = &rep->sites[i];

		snprintf(where, sizeof(where), "%s:%d", c->file, c->line);
		fputs("<tr>", out);
		text_cell(out, "site", where);
		text_cell(out, "function", c->function);
		num(out, "pid", c->pid, C_COUNT);
		num(out, "ipc_calls", c->s.ipc_calls, C_COUNT);
		num(out, "bytes_written", c->s.bytes_written, C_BYTES);
		num(out, "bytes_read", c->s.bytes_read, C_BYTES);
		num(out, "serialize_ns", c->s.serialize_ns, C_NS);
		num(out, "deserialize_ns", c->s.deserialize_ns, C_NS);
		num(out, "syscall_ns", c->s.syscall_ns, C_NS);
		num(out, "blocked_ns", c->s.blocked_ns, C_NS);
		fputs("</tr>\n", out);
	}
	fputs("</table></div>\n", out);
}

static void findings_and_notes(const struct report *rep, FILE *out)
{
	struct finding f[FINDINGS_MAX];
	int n = findings_derive(rep, f, FINDINGS_MAX);

	if (n > 0) {
		fputs("<h2>Findings</h2>\n<ul id=\"findings\">\n", out);
		for (int i = 0; i < n; i++) {
			fprintf(out, "<li data-rule=\"%s\">", f[i].rule);
			report_html_escape(out, f[i].text);
			fputs("</li>\n", out);
		}
		fputs("</ul>\n", out);
	}
	if (rep->n_notes) {
		fputs("<h2>Notes</h2>\n<ul class=\"note\">\n", out);
		for (int i = 0; i < rep->n_notes; i++) {
			fputs("<li>", out);
			report_html_escape(out, rep->notes[i]);
			fputs("</li>\n", out);
		}
		fputs("</ul>\n", out);
	}
}

int report_write_html(const struct report *rep, FILE *out)
{
	head(rep, out);
	findings_and_notes(rep, out);
	breakdown(rep, out);
	phases(rep, out);
	fputs("<h2>Breakdown</h2>\n<div class=\"scroll\" id=\"bars\">\n", out);
	report_write_svg(rep, out);
	fputs("</div>\n", out);
	processes(rep, out);
	channels(rep, out);
	shared_memory(rep, out);
	call_sites(rep, out);
	fputs("</body></html>\n", out);
	return ferror(out) ? -1 : 0;
}
