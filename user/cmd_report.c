// SPDX-License-Identifier: MIT
/* ipcprof report / compare: recordings only, no BPF. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "compare.h"
#include "record.h"

static int compare(const struct cli *c, const struct report reps[2], FILE *out)
{
	if (c->format == FMT_CSV) {
		fprintf(stderr, "ipcprof: compare writes text or json, not csv\n");
		return 2;
	}
	return (c->format == FMT_JSON ? compare_write_json : compare_write_text)(
		   &reps[0], c->files[0], &reps[1], c->files[1], out)
		   ? 1
		   : 0;
}

int cmd_recordings(struct cli *c)
{
	struct report reps[2] = {{0}};
	struct cmd_outputs outs;
	char err[512];
	int rc = 1;

	for (int i = 0; i < c->n_files; i++) {
		if (record_read(c->files[i], &reps[i], err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			goto cleanup;
		}
	}
	if (cmd_open_outputs(c, &outs))
		goto cleanup;
	if (c->mode == MODE_REPORT)
		rc = write_report(c, &reps[0], &outs) ? 1 : 0;
	else
		rc = compare(c, reps, outs.report.f);
	if (rc == 2)
		cmd_abort_outputs(&outs);
	else if (cmd_commit_outputs(&outs))
		rc = 1;
cleanup:
	report_free(&reps[0]);
	report_free(&reps[1]);
	return rc;
}
