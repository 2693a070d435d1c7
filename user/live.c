// SPDX-License-Identifier: MIT
#include "live.h"

#include <stdlib.h>

#include "util.h"

static void view(const struct live *lv, const struct report *rep, FILE *out)
{
	char b[8][32], comm[4 * IPCPROF_COMM_LEN];

	/* home the cursor and clear the screen, like top */
	fprintf(out, "\033[H\033[2J");
	fprintf(out, "ipcprof live: %s, %s traced, %d processes, %d channels (Ctrl-C: report)\n\n",
		lv->target, fmt_ns(now_ns() - lv->start_ns, b[0], sizeof(b[0])), rep->n_procs,
		rep->n_chans);
	fprintf(out, "%7s %-15s %9s %9s %9s %9s %9s %10s %10s\n", "PID", "COMM", "SERIALIZE",
		"DESERIAL", "IPC-CPU", "BLOCKED", "~FAULT", "WRITTEN", "READ");
	for (int i = 0; i < rep->n_procs && i < 15; i++) {
		const struct proc_row *r = &rep->procs[i];

		/* a name is the program's to choose: no escape sequences reach the terminal */
		fprintf(out, "%7u %-15s %9s %9s %9s %9s %9s %10s %10s\n", r->pid,
			printable(r->comm, comm, sizeof(comm)),
			/* exact: the serializers' whole time, their faults included */
			fmt_ns(r->activity_ns[ACT_SERIALIZE], b[0], sizeof(b[0])),
			fmt_ns(r->activity_ns[ACT_DESERIALIZE], b[1], sizeof(b[1])),
			fmt_ns(r->ipc_oncpu_ns, b[2], sizeof(b[2])),
			fmt_ns(r->phase_ns[PH_BLOCKED], b[3], sizeof(b[3])),
			fmt_ns(r->phase_ns[PH_FAULT], b[4], sizeof(b[4])),
			fmt_bytes(r->bytes_written, b[5], sizeof(b[5])),
			fmt_bytes(r->bytes_read, b[6], sizeof(b[6])));
	}
	fprintf(out, "\n");
	for (int i = 0; i < rep->n_chans && i < 8; i++) {
		const struct channel *c = &rep->chans[i];
		char name[CHAN_NAME_MAX];

		fprintf(out, "%-30s %10s written %10s read\n", chan_name(c, name, sizeof(name)),
			fmt_bytes(c->bytes_written, b[0], sizeof(b[0])),
			fmt_bytes(c->bytes_read, b[1], sizeof(b[1])));
	}
	fflush(out);
}

void live_tick(struct live *lv, struct tracer *t)
{
	struct report rep = {0};
	uint64_t now = now_ns();
	char b1[32], b2[32];

	if ((!lv->view && !lv->progress) || now < lv->next_ns)
		return;
	lv->next_ns = now + 1000000000ull;
	if (now - lv->start_ns < 1000000000ull)
		return; /* short runs get no progress noise */
	rep.start_ns = lv->start_ns;
	if (tracer_collect(t, &rep) == 0) {
		report_finish(&rep);
		if (lv->view)
			view(lv, &rep, stdout);
		else
			fprintf(stderr,
				"\r\033[Kipcprof: %s, %d processes, %s moved through %d channels",
				fmt_ns(now - lv->start_ns, b1, sizeof(b1)), rep.n_procs,
				fmt_bytes(rep.totals.bytes_written, b2, sizeof(b2)), rep.n_chans);
	}
	report_free(&rep);
}

void live_done(struct live *lv)
{
	if (lv->progress && now_ns() - lv->start_ns >= 1000000000ull)
		fprintf(stderr, "\r\033[K");
}
