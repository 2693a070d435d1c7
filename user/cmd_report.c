// SPDX-License-Identifier: MIT
/* ipcprof report / compare: recordings only, no BPF. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "compare.h"
#include "record.h"

static int compare(const struct cli *c, const struct report reps[2])
{
	FILE *out = stdout;
	int rc;

	if (c->format == FMT_CSV) {
		fprintf(stderr, "ipcprof: compare writes text or json, not csv\n");
		return 2;
	}
	if (c->output && !(out = fopen(c->output, "w"))) {
		fprintf(stderr, "ipcprof: cannot write %s: %s\n", c->output, strerror(errno));
		return 1;
	}
	rc = (c->format == FMT_JSON ? compare_write_json : compare_write_text)(
		 &reps[0], c->files[0], &reps[1], c->files[1], out)
		 ? 1
		 : 0;
	if (out != stdout && fclose(out))
		rc = 1;
	return rc;
}

int cmd_recordings(struct cli *c)
{
	struct report reps[2] = {{0}};
	char err[512];
	int rc = 1;

	for (int i = 0; i < c->n_files; i++) {
		if (record_read(c->files[i], &reps[i], err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			goto cleanup;
		}
	}
	if (c->mode == MODE_REPORT)
		rc = write_report(c, &reps[0], c->output) ? 1 : 0;
	else
		rc = compare(c, reps);
cleanup:
	report_free(&reps[0]);
	report_free(&reps[1]);
	return rc;
}
