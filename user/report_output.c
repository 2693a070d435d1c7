// SPDX-License-Identifier: MIT
/* Writing a report where the command line asked: format, file, SVG. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static int write_svg(const char *path, const struct report *rep)
{
	FILE *svg = fopen(path, "w");
	int rc;

	if (!svg) {
		fprintf(stderr, "ipcprof: cannot write %s: %s\n", path, strerror(errno));
		return -EIO;
	}
	rc = report_write_svg(rep, svg);
	if (fclose(svg) || rc) {
		fprintf(stderr, "ipcprof: cannot write %s: %s\n", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

int write_report(const struct cli *c, const struct report *rep, const char *output)
{
	FILE *out = stdout;
	int rc;

	if (output && !(out = fopen(output, "w"))) {
		fprintf(stderr, "ipcprof: cannot write %s: %s\n", output, strerror(errno));
		return -EIO;
	}
	if (c->format == FMT_JSON)
		rc = report_write_json(rep, out);
	else if (c->format == FMT_CSV)
		rc = report_write_csv(rep, out);
	else
		rc = report_write_text(rep, out);
	if (out != stdout && fclose(out))
		rc = -1;
	else if (out == stdout)
		fflush(stdout);
	if (rc)
		fprintf(stderr, "ipcprof: writing the report failed\n");
	if (c->svg && write_svg(c->svg, rep))
		rc = -1;
	return rc;
}
