// SPDX-License-Identifier: MIT
#include "bandwidth.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define MEMCPY_BYTES (64u << 20)
#define PIPE_BYTES   (64u << 20)
#define CHUNK	     (64u << 10)

double measure_memcpy_bps(void)
{
	char *a = malloc(MEMCPY_BYTES), *b = malloc(MEMCPY_BYTES);
	uint64_t best = UINT64_MAX;

	if (!a || !b) {
		free(a);
		free(b);
		return 0;
	}
	/* touch both first: this measures copying, not page faults */
	memset(a, 1, MEMCPY_BYTES);
	memset(b, 2, MEMCPY_BYTES);
	for (int i = 0; i < 3; i++) {
		uint64_t t = now_ns();

		memcpy(b, a, MEMCPY_BYTES);
		t = now_ns() - t;
		if (t < best)
			best = t;
		a[i] = b[MEMCPY_BYTES - 1 - i]; /* keep the copies observable */
	}
	free(a);
	free(b);
	return best ? MEMCPY_BYTES / (best / 1e9) : 0;
}

static uint64_t one_pipe_run(void)
{
	static char buf[CHUNK];
	int fds[2], status;
	uint64_t t;
	pid_t pid;

	if (pipe(fds))
		return 0;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		close(fds[1]);
		while (read(fds[0], buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(fds[0]);
	t = now_ns();
	for (unsigned done = 0; done < PIPE_BYTES;) {
		ssize_t n = write(fds[1], buf, CHUNK);

		if (n <= 0)
			break;
		done += (unsigned)n;
	}
	close(fds[1]);
	waitpid(pid, &status, 0);
	return now_ns() - t;
}

double measure_pipe_bps(void)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 2; i++) {
		uint64_t t = one_pipe_run();

		if (t && t < best)
			best = t;
	}
	return best != UINT64_MAX ? PIPE_BYTES / (best / 1e9) : 0;
}
