// SPDX-License-Identifier: MIT
/* ipcprof report / compare: recordings only, no BPF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "compare.h"
#include "fail_if.h"
#include "record.h"
#include "report_json_read.h"

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

/* --fail-if: each condition B trips, one line each. 1 if any. */
static int check_fail_if(const struct cli *c, const struct fail_if *f, const struct report reps[2])
{
	char msg[512];
	int rc = 0;

	for (int i = 0; i < c->n_fail_if; i++) {
		if (fail_if_check(&f[i], &reps[0], &reps[1], msg, sizeof(msg))) {
			fprintf(stderr, "ipcprof: fail-if %s\n", msg);
			rc = 1;
		}
	}
	return rc;
}

int cmd_recordings(struct cli *c)
{
	struct report reps[2] = {{0}};
	struct fail_if *conds = NULL;
	struct cmd_outputs outs;
	char err[700];
	int rc = 1;

	if (c->n_fail_if && !(conds = calloc((size_t)c->n_fail_if, sizeof(*conds)))) {
		fprintf(stderr, "ipcprof: out of memory\n");
		return 1;
	}
	for (int i = 0; i < c->n_fail_if; i++) {
		if (fail_if_parse(c->fail_if[i], &conds[i], err, sizeof(err))) {
			fprintf(stderr, "ipcprof: %s\n", err);
			free(conds);
			return 2;
		}
	}
	for (int i = 0; i < c->n_files; i++) {
		/* compare also takes JSON reports: a baseline kept as plain JSON */
		bool json = c->mode == MODE_COMPARE && report_file_is_json(c->files[i]);

		if ((json ? report_json_read : record_read)(c->files[i], &reps[i], err,
							    sizeof(err))) {
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
	if (!rc && c->mode == MODE_COMPARE)
		rc = check_fail_if(c, conds, reps);
cleanup:
	free(conds);
	report_free(&reps[0]);
	report_free(&reps[1]);
	return rc;
}
