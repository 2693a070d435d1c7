// SPDX-License-Identifier: MIT
/* The text report's SHARED MEMORY section (report_text.c calls it). */
#include "report_text.h"

#include "segments.h"
#include "util.h"

#define TEXT_SEGMENTS 10

static void write_use(const struct report *rep, const struct segment *g, const struct seg_use *u,
		      FILE *out)
{
	const struct proc_row *r = report_find_proc(rep, u->pid);
	char comm[4 * IPCPROF_COMM_LEN], b[4][32];
	uint64_t ci = 0, ns = seg_use_fault_ns(rep, u, &ci);

	fprintf(out, "      %u (%s) %-9s mapped %s, touched %s%s; faults %llu read, %llu write",
		u->pid, r ? printable(r->comm, comm, sizeof(comm)) : "?", seg_use_role(g, u),
		fmt_bytes(u->s.bytes_mapped, b[0], sizeof(b[0])),
		fmt_bytes(u->bytes_touched, b[1], sizeof(b[1])),
		seg_use_touched_exact(u) ? "" : " (faults x page)",
		(unsigned long long)u->s.faults[SF_READ],
		(unsigned long long)u->s.faults[SF_WRITE]);
	if (u->s.faults[SF_WP])
		fprintf(out, ", %llu write-protect", (unsigned long long)u->s.faults[SF_WP]);
	fprintf(out, ", fault time ~%s (±%s)\n", fmt_ns(ns, b[2], sizeof(b[2])),
		fmt_ns(ci, b[3], sizeof(b[3])));
	if (u->map_site[0]) {
		fputs("        mapped at ", out);
		fput_printable(out, u->map_site);
		fputc('\n', out);
	}
}

static void write_routes(const struct segment *g, FILE *out)
{
	for (int i = 0; i < g->n_routes; i++) {
		const struct seg_route *r = &g->routes[i];

		fprintf(out, "      passed over socket:[%llu] ", (unsigned long long)r->chan_ino);
		if (r->from_pid)
			fprintf(out, "from %u ", r->from_pid);
		if (r->to_pid)
			fprintf(out, "to %u ", r->to_pid);
		fprintf(out, "(%llu descriptor%s)\n", (unsigned long long)seg_route_fds(r),
			seg_route_fds(r) == 1 ? "" : "s");
	}
}

void report_text_segments(const struct report *rep, FILE *out)
{
	struct segment *v;
	char b[3][32];
	int n = segments_build(rep, &v);

	if (n <= 0)
		return;
	fprintf(out,
		"\nSHARED MEMORY (%d segment%s, %s touched; bytes and faults exact, fault time "
		"sampled)\n",
		n, n == 1 ? "" : "s", fmt_bytes(segments_bytes_touched(rep), b[0], sizeof(b[0])));
	for (int i = 0; i < n && i < TEXT_SEGMENTS; i++) {
		const struct segment *g = &v[i];

		fputs("  ", out);
		fput_printable(out, g->name[0] ? g->name : "?");
		fprintf(out, " (%s, %s, inode %llu): touched %s, mapped %s, %llu faults\n",
			seg_kind_names[g->kind < SEGK_COUNT ? g->kind : SEGK_FILE],
			fmt_bytes(g->size, b[0], sizeof(b[0])), (unsigned long long)g->ino,
			fmt_bytes(g->bytes_touched, b[1], sizeof(b[1])),
			fmt_bytes(g->bytes_mapped, b[2], sizeof(b[2])),
			(unsigned long long)g->faults);
		for (int u = 0; u < g->n_uses; u++)
			write_use(rep, g, g->uses[u], out);
		write_routes(g, out);
	}
	if (n > TEXT_SEGMENTS)
		fprintf(out, "  ... %d more segments in the JSON report (shared_memory)\n",
			n - TEXT_SEGMENTS);
	segments_free(v, n);
}
