// SPDX-License-Identifier: MIT
/*
 * Attach the empty programs of empty_hooks.bpf.c (ipcprof's hooks, doing
 * nothing) for SECONDS, or until SIGINT/SIGTERM, then detach:
 *
 *   make .output/bench/empty_hooks
 *   .output/bench/empty_hooks SECONDS
 *
 * scripts/bench/pgbench_attach.py --floor runs it beside ipcprof.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "empty_hooks.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct empty_hooks_bpf *skel;
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
	long ticks;
	char *end;
	int rc = 1;

	if (argc != 2 || (ticks = strtol(argv[1], &end, 10) * 10) <= 0 || *end) {
		fprintf(stderr, "usage: empty_hooks SECONDS\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	skel = empty_hooks_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "empty_hooks: loading: %s\n", strerror(errno));
		return 1;
	}
	if (empty_hooks_bpf__attach(skel)) {
		fprintf(stderr, "empty_hooks: attaching: %s\n", strerror(errno));
		goto cleanup;
	}
	while (!stop && ticks-- > 0)
		nanosleep(&tick, NULL);
	rc = 0;
cleanup:
	empty_hooks_bpf__destroy(skel);
	return rc;
}
