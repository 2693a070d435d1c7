// SPDX-License-Identifier: MIT
/* The CSV report: one row per process, the columns of the JSON's processes.
 * Quoting as RFC 4180; a dozen lines, so no library. */
#include <string.h>

#include "breakdown.h"
#include "report.h"

static void csv_field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* breakdown_<name>[_<split>]_ns, _lo_ns, _hi_ns: the JSON's breakdown, flat */
static void breakdown_head(FILE *out)
{
	static const char *const ends[] = {"ns", "lo_ns", "hi_ns"};
	struct measured ms[MS_COUNT];
	struct proc_row none = {0};

	breakdown_of(&none, NULL, ms); /* only the split names are read */
	for (int i = 0; i < MS_COUNT; i++) {
		for (int e = 0; e < 3; e++)
			fprintf(out, ",breakdown_%s_%s", measured_defs[i].name, ends[e]);
		for (int k = 0; k < ms[i].n_splits; k++)
			for (int e = 0; e < 3; e++)
				fprintf(out, ",breakdown_%s_%s_%s", measured_defs[i].name,
					ms[i].splits[k].name, ends[e]);
	}
}

/* empty cells for what was not measured at all */
static void estimate_cells(FILE *out, const struct estimate *e)
{
	if (e->unavailable) {
		fputs(",,,", out);
		return;
	}
	fprintf(out, ",%llu,%llu,%llu", (unsigned long long)e->ns, (unsigned long long)e->lo_ns,
		(unsigned long long)e->hi_ns);
}

static void breakdown_cells(FILE *out, const struct report *rep, const struct proc_row *r)
{
	struct measured ms[MS_COUNT];

	breakdown_of(r, rep->methods, ms);
	for (int i = 0; i < MS_COUNT; i++) {
		estimate_cells(out, &ms[i].e);
		for (int k = 0; k < ms[i].n_splits; k++)
			estimate_cells(out, &ms[i].splits[k].e);
	}
}

int report_write_csv(const struct report *rep, FILE *out)
{
	fprintf(out, "pid,ppid,comm,exited,exit_code,wall_ns,thread_ns");
	for (int p = 0; p < PH_COUNT; p++)
		fprintf(out, ",%s", phase_fields[p]);
	fprintf(out, ",serialize_calls,deserialize_calls,ipc_calls,bytes_written,bytes_read,"
		     "fork_calls,mmap_calls,mmap_bytes,samples_ipc,samples_copy,faults_cow,"
		     "faults_first_touch,faults_other,faults_kernel");
	breakdown_head(out);
	fputc('\n', out);
	for (int i = 0; i < rep->n_procs; i++) {
		const struct proc_row *r = &rep->procs[i];

		fprintf(out, "%u,%u,", r->pid, r->ppid);
		csv_field(out, r->comm);
		fprintf(out, ",%d,%d,%llu,%llu", r->exited, r->exited ? r->exit_code : 0,
			(unsigned long long)r->wall_ns, (unsigned long long)r->thread_ns);
		for (int p = 0; p < PH_COUNT; p++)
			fprintf(out, ",%llu", (unsigned long long)r->phase_ns[p]);
		fprintf(out,
			",%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu",
			(unsigned long long)r->serialize_calls,
			(unsigned long long)r->deserialize_calls, (unsigned long long)r->ipc_calls,
			(unsigned long long)r->bytes_written, (unsigned long long)r->bytes_read,
			(unsigned long long)r->fork_calls, (unsigned long long)r->mmap_calls,
			(unsigned long long)r->mmap_bytes, (unsigned long long)r->samples_ipc,
			(unsigned long long)r->samples_copy,
			(unsigned long long)proc_row_faults(r, FT_COW),
			(unsigned long long)proc_row_faults(r, FT_NOT_PRESENT),
			(unsigned long long)proc_row_faults(r, FT_OTHER),
			(unsigned long long)r->faults_kernel);
		breakdown_cells(out, rep, r);
		fputc('\n', out);
	}
	return ferror(out) ? -1 : 0;
}
