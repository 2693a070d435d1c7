// SPDX-License-Identifier: MIT
#include "watchdog.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ALL_RELEASED 'Q' /* written by ipcprof before a normal exit */
#define MAP_FD	     3
#define PIPE_FD	     4

/* SIGCONT to every process in the map; returns how many there were. Only
 * syscalls here: we are a fork of a threaded process. */
static int release_held(void)
{
	__u32 keys[256], key, *prev = NULL;
	int n = 0;

	/* collect first: deleting while walking would restart the walk */
	while (n < 256 && !bpf_map_get_next_key(MAP_FD, prev, &key)) {
		keys[n++] = key;
		prev = &keys[n - 1];
	}
	for (int i = 0; i < n; i++) {
		kill((pid_t)keys[i], SIGCONT);
		bpf_map_delete_elem(MAP_FD, &keys[i]);
	}
	return n;
}

/* SIGCONT to the processes held longer than the limit (the map holds when
 * each hold began, on the clock bpf_ktime_get_ns reads). */
static void release_stale(void)
{
	__u32 keys[256], key, *prev = NULL;
	struct timespec ts;
	__u64 now, since;
	int n = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	while (n < 256 && !bpf_map_get_next_key(MAP_FD, prev, &key)) {
		keys[n++] = key;
		prev = &keys[n - 1];
	}
	for (int i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(MAP_FD, &keys[i], &since) ||
		    now < since + WATCHDOG_HOLD_LIMIT_NS)
			continue;
		/* deleted first: ipcprof sees the entry gone and notes it */
		bpf_map_delete_elem(MAP_FD, &keys[i]);
		kill((pid_t)keys[i], SIGCONT);
	}
}

static void __attribute__((noreturn)) helper(void)
{
	struct timespec step = {0, 50 * 1000 * 1000};
	struct pollfd pfd = {.fd = PIPE_FD, .events = POLLIN};
	char c = 0;
	int quiet = 0;
	ssize_t r;

	/* its own session: a Ctrl-C or SIGHUP to ipcprof's group misses it */
	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "ipcprof-watch");
	/* five looks a second at the holds while ipcprof lives */
	for (;;) {
		int ready = poll(&pfd, 1, 200);

		if (ready > 0 || (ready < 0 && errno != EINTR))
			break; /* a word from ipcprof, or its end */
		release_stale();
	}
	do
		r = read(PIPE_FD, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r == 1 && c == ALL_RELEASED)
		_exit(0);
	/* ipcprof died: release what is held, and whatever its programs were
	 * still holding while they detached (up to a second) */
	for (int i = 0; i < 20 && quiet < 3; i++) {
		quiet = release_held() ? 0 : quiet + 1;
		nanosleep(&step, NULL);
	}
	_exit(0);
}

int watchdog_start(struct watchdog *w, int held_map_fd)
{
	int pfd[2], devnull;
	pid_t pid;

	w->pid = 0;
	w->fd = -1;
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return rc;
	}
	if (pid == 0) {
		/* keep the map and the pipe only: any other descriptor (BPF
		 * programs, links, the terminal, an output pipe) would outlive
		 * ipcprof in here */
		int map = fcntl(held_map_fd, F_DUPFD, 16), rd = fcntl(pfd[0], F_DUPFD, 16);

		devnull = open("/dev/null", O_RDWR);
		if (map < 0 || rd < 0 || devnull < 0)
			_exit(1);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (dup2(map, MAP_FD) < 0 || dup2(rd, PIPE_FD) < 0)
			_exit(1);
		syscall(SYS_close_range, PIPE_FD + 1, ~0U, 0);
		helper();
	}
	close(pfd[0]);
	w->pid = pid;
	w->fd = pfd[1];
	return 0;
}

void watchdog_done(struct watchdog *w)
{
	char c = ALL_RELEASED;

	if (w->fd < 0)
		return;
	if (write(w->fd, &c, 1) != 1) {
		/* the helper then releases what is held: nothing, by now */
	}
	close(w->fd);
	w->fd = -1;
	/* it exits as soon as it reads that: reap it (not every PID 1 does) */
	while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
		;
	w->pid = 0;
}

bool watchdog_was_released(int held_map_fd, pid_t pid)
{
	__u32 key = (__u32)pid;
	__u64 since;

	return bpf_map_lookup_elem(held_map_fd, &key, &since) && errno == ENOENT;
}
