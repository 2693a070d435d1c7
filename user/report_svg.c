// SPDX-License-Identifier: MIT
/* --svg: one stacked bar per process (the exact quantities of breakdown.h
 * and the sampled rest, paler) and per channel (on CPU vs blocked), scaled to
 * the longest, with a legend; readable without a terminal. */
#include <string.h>

#include "breakdown.h"
#include "report.h"
#include "util.h"

/* by enum measured_id; the channels' bars use MS_IPC_ONCPU and MS_BLOCKED */
static const char *const colors[MS_COUNT] = {
    "#4e79a7", "#a0cbe8", "#f28e2b", "#59a14f", "#b07aa1",
    "#9c755f", "#bab0ac", "#76b7b2", "#e15759", "#d4d4d4",
};

#define WIDTH	 960
#define LABEL_W	 230
#define BAR_W	 (WIDTH - LABEL_W - 120)
#define BAR_H	 18
#define ROW_H	 26
#define MAX_ROWS 20

static void xml_text(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '<')
			fputs("&lt;", out);
		else if (*s == '>')
			fputs("&gt;", out);
		else if (*s == '&')
			fputs("&amp;", out);
		else if (*s == '"')
			fputs("&quot;", out);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fputc('?', out); /* not allowed in XML 1.0, even escaped */
		else
			fputc(*s, out);
	}
}

static void bar(FILE *out, double y, const uint64_t *parts, const int *color_of, const bool *pale,
		int n, uint64_t scale, const char *label, const char *total)
{
	double x = LABEL_W;

	fprintf(out, "<text x=\"%d\" y=\"%.0f\" class=\"l\">", LABEL_W - 8, y + 13);
	xml_text(out, label);
	fprintf(out, "</text>\n");
	for (int i = 0; i < n; i++) {
		double w = scale ? (double)BAR_W * (double)parts[i] / (double)scale : 0;

		if (w < 0.05)
			continue;
		fprintf(
		    out,
		    "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"%s\"%s/>\n", x,
		    y, w, BAR_H, colors[color_of[i]],
		    pale && pale[i] ? " fill-opacity=\"0.55\"" : "");
		x += w;
	}
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" class=\"v\">%s</text>\n", x + 6, y + 13, total);
}

int report_write_svg(const struct report *rep, FILE *out)
{
	int n_procs = rep->n_procs < MAX_ROWS ? rep->n_procs : MAX_ROWS;
	int n_chans = rep->n_chans < MAX_ROWS ? rep->n_chans : MAX_ROWS;
	int ms_idx[MS_COUNT], chan_idx[2] = {MS_IPC_ONCPU, MS_BLOCKED};
	uint64_t scale = 1;
	double y = 70;
	int height = 150 + (n_procs + n_chans) * ROW_H + 60;
	char label[CHAN_NAME_MAX + 64], total[32];
	struct measured tot[MS_COUNT];

	for (int i = 0; i < MS_COUNT; i++)
		ms_idx[i] = i;
	for (int i = 0; i < n_procs; i++)
		if (rep->procs[i].thread_ns > scale)
			scale = rep->procs[i].thread_ns;
	fprintf(out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<style>.l{text-anchor:end}.v{fill:#333}.h{font-weight:bold;font-size:14px}"
		"</style>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		WIDTH, height, WIDTH, height);
	fprintf(out, "<text x=\"10\" y=\"22\" class=\"h\">ipcprof: ");
	xml_text(out, rep->target);
	fprintf(out, "</text>\n<text x=\"10\" y=\"50\" class=\"h\">Processes: where each "
		     "one's thread time went</text>\n");
	for (int i = 0; i < n_procs; i++, y += ROW_H) {
		const struct proc_row *r = &rep->procs[i];
		struct measured ms[MS_COUNT];
		uint64_t parts[MS_COUNT];
		bool pale[MS_COUNT];

		breakdown_of(r, rep->methods, ms);
		for (int k = 0; k < MS_COUNT; k++) {
			parts[k] = ms[k].e.ns;
			pale[k] = !ms[k].e.exact;
		}
		snprintf(label, sizeof(label), "%u %s", r->pid, r->comm);
		bar(out, y, parts, ms_idx, pale, MS_COUNT, scale, label,
		    fmt_ns(r->thread_ns, total, sizeof(total)));
	}
	y += 20;
	fprintf(out,
		"<text x=\"10\" y=\"%.0f\" class=\"h\">Channels: time in their IPC calls "
		"(same scale)</text>\n",
		y);
	y += 20;
	for (int i = 0; i < n_chans; i++, y += ROW_H) {
		const struct channel *c = &rep->chans[i];
		uint64_t parts[2] = {c->oncpu_ns, c->blocked_ns};
		char name[CHAN_NAME_MAX], bytes[32];

		snprintf(label, sizeof(label), "%s %s", chan_name(c, name, sizeof(name)),
			 fmt_bytes(c->bytes_written, bytes, sizeof(bytes)));
		bar(out, y, parts, chan_idx, NULL, 2, scale, label,
		    fmt_ns(c->oncpu_ns + c->blocked_ns, total, sizeof(total)));
	}
	y += 16;
	/* estimates (in the totals) are pale and marked "~" */
	breakdown_of(&rep->totals, rep->methods, tot);
	for (int i = 0; i < MS_COUNT; i++) {
		double x = 10 + (i % 4) * 236, ly = y + (i / 4) * 20;
		bool sampled = !tot[i].e.exact && !tot[i].e.unavailable;

		fprintf(out,
			"<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"%s/>"
			"<text x=\"%.0f\" y=\"%.0f\">%s%s (",
			x, ly, colors[i], sampled ? " fill-opacity=\"0.55\"" : "", x + 16, ly + 11,
			sampled ? "~" : "", measured_defs[i].label);
		xml_text(out, breakdown_method(rep, measured_defs[i].phase));
		fprintf(out, ")</text>\n");
	}
	fprintf(out, "</svg>\n");
	return ferror(out) ? -1 : 0;
}
