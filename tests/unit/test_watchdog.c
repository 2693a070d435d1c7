// SPDX-License-Identifier: MIT
/*
 * The watchdog against real stopped processes and a real BPF hash map
 * (root only; skipped with the reason otherwise): it releases holds older
 * than the limit while ipcprof lives, and every hold when ipcprof dies.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"
#include "watchdog.h"

static int held_map(void)
{
	return bpf_map_create(BPF_MAP_TYPE_HASH, "held", sizeof(__u32), sizeof(__u64), 64, NULL);
}

/* A child that stops itself, as the BPF side stops a process at exec. */
static pid_t stopped_child(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		raise(SIGSTOP);
		_exit(7);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
	assert_true(WIFSTOPPED(status));
	return pid;
}

static void hold(int map, pid_t pid, uint64_t since)
{
	__u32 key = (__u32)pid;
	__u64 v = since;

	assert_int_equal(bpf_map_update_elem(map, &key, &v, BPF_ANY), 0);
}

/* Whether pid ran to its end within ms milliseconds. */
static bool finishes_within(pid_t pid, int ms)
{
	int status;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 7;
		usleep(10000);
	}
	return false;
}

static void test_holds_over_the_limit_are_released(void **state)
{
	struct watchdog w;
	pid_t stale, fresh;
	int map = held_map();

	(void)state;
	if (map < 0)
		skip(); /* no BPF maps for us: not root */
	stale = stopped_child();
	fresh = stopped_child();
	hold(map, stale, now_ns() - 2 * WATCHDOG_HOLD_LIMIT_NS);
	hold(map, fresh, now_ns() + 60 * WATCHDOG_HOLD_LIMIT_NS); /* not for a minute */
	assert_int_equal(watchdog_start(&w, map), 0);
	/* looked at five times a second */
	assert_true(finishes_within(stale, 1000));
	assert_true(watchdog_was_released(map, stale));
	assert_false(finishes_within(fresh, 500));
	assert_false(watchdog_was_released(map, fresh));
	/* a normal end: ipcprof released the rest itself */
	watchdog_done(&w);
	assert_false(finishes_within(fresh, 300));
	kill(fresh, SIGCONT);
	assert_true(finishes_within(fresh, 1000));
	close(map);
}

static void test_every_hold_is_released_when_ipcprof_dies(void **state)
{
	struct watchdog w;
	pid_t a, b;
	int map = held_map();

	(void)state;
	if (map < 0)
		skip();
	a = stopped_child();
	b = stopped_child();
	hold(map, a, now_ns());
	hold(map, b, now_ns());
	assert_int_equal(watchdog_start(&w, map), 0);
	/* as if killed: our end closes without the word */
	close(w.fd);
	assert_true(finishes_within(a, 1000));
	assert_true(finishes_within(b, 1000));
	waitpid(w.pid, NULL, 0);
	close(map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_holds_over_the_limit_are_released),
	    cmocka_unit_test(test_every_hold_is_released_when_ipcprof_dies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
