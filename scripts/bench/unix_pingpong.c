// SPDX-License-Identifier: MIT
/*
 * N round trips of a 100-byte message over a unix socketpair between a
 * process and its child: two IPC calls and, across CPUs, two context
 * switches a side per round trip, with no Python in the way. What each part
 * of ipcprof's per-call work costs is read from the kernel's BPF statistics
 * while it runs (docs/BENCHMARKS.md, "What one IPC call costs"):
 *   cc -O2 -o /tmp/unix_pingpong scripts/bench/unix_pingpong.c
 *   scripts/bench/bpf_profile.sh /tmp/unix_pingpong 100000
 * Prints the mean round trip, by its own clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 100

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000, sv[2];
	char buf[MSG] = {0};
	struct timespec a, b;
	pid_t child;

	if (n <= 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		fprintf(stderr, "usage: unix_pingpong [ROUND_TRIPS]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		for (int i = 0; i < n; i++)
			if (recv(sv[1], buf, MSG, MSG_WAITALL) != MSG ||
			    send(sv[1], buf, MSG, 0) != MSG)
				_exit(1);
		_exit(0);
	}
	for (int i = 0; i < n; i++)
		if (send(sv[0], buf, MSG, 0) != MSG || recv(sv[0], buf, MSG, MSG_WAITALL) != MSG)
			return 1;
	waitpid(child, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f ns per round trip\n",
	       ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
