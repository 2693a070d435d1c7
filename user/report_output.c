// SPDX-License-Identifier: MIT
/* Where the command line's outputs go: opened before tracing, committed
 * after (outfile.c), each in the format asked for. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

int cmd_open_outputs(const struct cli *c, struct cmd_outputs *o)
{
	char err[512];
	int rc;
	struct {
		struct outfile *f;
		const char *path;
		bool wanted;
	} all[] = {
	    {&o->report, c->mode == MODE_RECORD ? NULL : c->output, true},
	    {&o->record, c->output ? c->output : "ipcprof.ipcp", c->mode == MODE_RECORD},
	    {&o->svg, c->svg, c->svg && c->mode != MODE_COMPARE},
	    {&o->html, c->html, c->html && c->mode != MODE_COMPARE},
	    {&o->timeline, c->timeline,
	     c->timeline &&
		 (c->mode == MODE_RUN || c->mode == MODE_RECORD || c->mode == MODE_ATTACH)},
	};

	memset(o, 0, sizeof(*o));
	rc = cmd_metrics_open(c, &o->metrics);
	if (rc) {
		cmd_abort_outputs(o);
		return rc;
	}
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!all[i].wanted)
			continue;
		if (outfile_open(all[i].f, all[i].path, err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			cmd_abort_outputs(o);
			return 1;
		}
	}
	return 0;
}

int cmd_commit_outputs(struct cmd_outputs *o)
{
	struct outfile *all[] = {&o->report, &o->record, &o->svg, &o->html, &o->timeline};
	char err[512];
	int rc = 0;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (outfile_commit(all[i], err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			rc = 1;
		}
	}
	return rc;
}

void cmd_abort_outputs(struct cmd_outputs *o)
{
	cmd_metrics_close(&o->metrics);
	perfetto_free(o->perfetto); /* after the tracer: it feeds it */
	o->perfetto = NULL;
	outfile_abort(&o->report);
	outfile_abort(&o->record);
	outfile_abort(&o->svg);
	outfile_abort(&o->html);
	outfile_abort(&o->timeline);
}

int write_report(const struct cli *c, const struct report *rep, struct cmd_outputs *o)
{
	int rc;

	if (c->format == FMT_JSON)
		rc = report_write_json(rep, o->report.f);
	else if (c->format == FMT_CSV)
		rc = report_write_csv(rep, o->report.f);
	else
		rc = report_write_text(rep, o->report.f);
	if (o->svg.f && report_write_svg(rep, o->svg.f))
		rc = -EIO;
	if (o->html.f && report_write_html(rep, o->html.f))
		rc = -EIO;
	return rc; /* write errors are also caught at commit */
}
