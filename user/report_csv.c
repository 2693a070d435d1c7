// SPDX-License-Identifier: MIT
/* The CSV report: one row per process, the columns of the JSON's processes.
 * Quoting as RFC 4180; a dozen lines, so no library. */
#include <string.h>

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

int report_write_csv(const struct report *rep, FILE *out)
{
	fprintf(out, "pid,ppid,comm,exited,exit_code,wall_ns,thread_ns");
	for (int p = 0; p < PH_COUNT; p++)
		fprintf(out, ",%s", phase_fields[p]);
	fprintf(out, ",serialize_calls,deserialize_calls,ipc_calls,bytes_written,bytes_read,"
		     "fork_calls,mmap_calls,mmap_bytes,samples_ipc,samples_copy,faults_cow,"
		     "faults_first_touch,faults_other,faults_kernel\n");
	for (int i = 0; i < rep->n_procs; i++) {
		const struct proc_row *r = &rep->procs[i];

		fprintf(out, "%u,%u,", r->pid, r->ppid);
		csv_field(out, r->comm);
		fprintf(out, ",%d,%d,%llu,%llu", r->exited, r->exited ? r->exit_code : 0,
			(unsigned long long)r->wall_ns, (unsigned long long)r->thread_ns);
		for (int p = 0; p < PH_COUNT; p++)
			fprintf(out, ",%llu", (unsigned long long)r->phase_ns[p]);
		fprintf(out,
			",%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n",
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
	}
	return ferror(out) ? -1 : 0;
}
