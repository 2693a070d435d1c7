// SPDX-License-Identifier: MIT
#include "tasks_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procfs.h"

/* Never called: only its first instruction is probed, in this process. */
__attribute__((noinline, used)) void tasks_trace_anchor(void)
{
	__asm__ volatile("" ::: "memory");
}

/*
 * There is no system call for "wait for an RCU Tasks Trace grace period",
 * but removing a uprobe waits for one (uprobe_unregister_sync, 6.12+): a
 * perf uprobe on a function of our own that nothing calls, limited to this
 * process, opened and closed. No BPF program is involved, and on kernels
 * without that wait it only costs the open and close.
 */
int tasks_trace_sync(void)
{
	struct perf_event_attr attr;
	unsigned long type;
	uint64_t off = 0;
	int fd, rc;

	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "re");
	int ok = f && fscanf(f, "%lu", &type) == 1;

	if (f)
		fclose(f);
	if (!ok)
		return -ENOENT;
	rc = proc_addr_offset("/proc", getpid(), (uintptr_t)tasks_trace_anchor, &off);
	if (rc)
		return rc;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = (__u32)type;
	attr.config1 = (__u64)(uintptr_t) "/proc/self/exe"; /* uprobe_path */
	attr.config2 = off;				    /* probe_offset */
	attr.disabled = 1;
	fd = (int)syscall(__NR_perf_event_open, &attr, getpid(), -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}
