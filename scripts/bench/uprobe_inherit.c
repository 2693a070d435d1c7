// SPDX-License-Identifier: MIT
/*
 * Why each forked child of a probed process needs uprobes of its own
 * (docs/BENCHMARKS.md, "Why every child needs an attach of its own"): can a
 * per-process uprobe follow fork by itself? A perf uprobe (the "uprobe" PMU,
 * as libbpf opens one per PID) on this program's own probed(), opened for a
 * target process, once with attr.inherit and once without; the target calls
 * probed() 3 times, then forks a child that calls it 10 times.
 *   cc -O2 -o /tmp/uprobe_inherit scripts/bench/uprobe_inherit.c
 *   /tmp/uprobe_inherit      (root)
 * Counts only, and deliberately: with a BPF program attached to the event,
 * the failing fork also left the program loaded with no holder until reboot.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) void probed(void)
{
	__asm__ volatile("" ::: "memory");
}

/* probed()'s offset in the file mapped at its address (/proc/self/maps) */
static int probed_offset(char *path, size_t len, uint64_t *off)
{
	uintptr_t addr = (uintptr_t)probed, lo, hi;
	unsigned long long pgoff;
	char line[4096], file[4096];
	FILE *f = fopen("/proc/self/maps", "r");
	int rc = -1;

	if (!f)
		return -1;
	while (rc && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %llx %*s %*s %4095s", &lo, &hi, &pgoff, file) == 4 &&
		    addr >= lo && addr < hi) {
			snprintf(path, len, "%s", file);
			*off = addr - lo + pgoff;
			rc = 0;
		}
	fclose(f);
	return rc;
}

/* The target: waits for "go", calls probed() 3 times, forks a child that
 * calls it 10 times; exits with 0, or with the fork's errno. */
static void target(int go)
{
	char c;
	pid_t child;
	int st;

	if (read(go, &c, 1) != 1)
		_exit(100);
	for (int i = 0; i < 3; i++)
		probed();
	child = fork();
	if (child < 0)
		_exit(errno);
	if (child == 0) {
		for (int i = 0; i < 10; i++)
			probed();
		_exit(0);
	}
	waitpid(child, &st, 0);
	_exit(0);
}

static int run(const char *path, uint64_t off, int inherit)
{
	struct perf_event_attr attr;
	uint64_t count = 0;
	int go[2], fd, st, type;
	char *tracer_path;
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
	pid_t pid;

	if (!f || fscanf(f, "%d", &type) != 1) {
		fprintf(stderr, "uprobe_inherit: no uprobe PMU\n");
		return 1;
	}
	fclose(f);
	if (pipe(go))
		return 1;
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		target(go[0]);
	}
	close(go[0]);
	/* the path in memory the target does not have (mapped after its fork),
	 * as a tracer's own memory is to the process it traces */
	tracer_path = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tracer_path == MAP_FAILED)
		return 1;
	snprintf(tracer_path, 4096, "%s", path);
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = (__u32)type;
	attr.config1 = (uint64_t)(uintptr_t)tracer_path; /* uprobe_path */
	attr.config2 = off;				 /* probe_offset */
	attr.inherit = inherit;
	fd = (int)syscall(SYS_perf_event_open, &attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "uprobe_inherit: perf_event_open: %s\n", strerror(errno));
	if (write(go[1], "g", 1) != 1)
		return 1;
	close(go[1]);
	waitpid(pid, &st, 0);
	if (fd >= 0 && read(fd, &count, sizeof(count)) != sizeof(count))
		count = 0;
	printf("inherit=%d: target's fork %s; calls counted %llu (target 3, child 10)\n", inherit,
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "succeeded"
	       : WIFEXITED(st)			     ? strerror(WEXITSTATUS(st))
						     : "not reached (target killed by a signal)",
	       (unsigned long long)count);
	if (fd >= 0)
		close(fd);
	munmap(tracer_path, 4096);
	return 0;
}

int main(void)
{
	char path[4096];
	uint64_t off;

	if (probed_offset(path, sizeof(path), &off)) {
		fprintf(stderr, "uprobe_inherit: probed() not found in /proc/self/maps\n");
		return 1;
	}
	return run(path, off, 0) || run(path, off, 1);
}
