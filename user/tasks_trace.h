/* SPDX-License-Identifier: MIT */
/*
 * Hurrying the kernel's deferred frees of our programs at exit.
 *
 * Links to the faultable syscall tracepoints are freed after an RCU Tasks
 * Trace grace period, and since 6.x such callbacks are lazy: the kernel
 * batches them for up to rcupdate.rcu_tasks_trace_lazy_ms (250 ms by
 * default) before it starts the grace period. A synchronous waiter starts
 * it at once and takes the lazy callbacks along.
 */
#ifndef __IPCPROF_TASKS_TRACE_H__
#define __IPCPROF_TASKS_TRACE_H__

/* Start an RCU Tasks Trace grace period now and wait for it (a few ms).
 * Returns 0, or -errno when the kernel offers no way to (no uprobe PMU). */
int tasks_trace_sync(void);

#endif
