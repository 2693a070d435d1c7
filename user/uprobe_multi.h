/* SPDX-License-Identifier: MIT */
/*
 * uprobe_multi links (Linux 6.6+): many offsets of one file, one process,
 * one link. libbpf 1.1 (Debian 12) predates them, so they are created here
 * with the bpf() syscall directly.
 */
#ifndef IPCPROF_UPROBE_MULTI_H
#define IPCPROF_UPROBE_MULTI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* enum bpf_attach_type in 6.6+ uapi (not in Debian 12's headers) */
#define IPCPROF_BPF_TRACE_UPROBE_MULTI	  48
#define IPCPROF_BPF_F_UPROBE_MULTI_RETURN 1

/* Does this kernel create uprobe_multi links? Asks it without attaching
 * anything (a probe that attaches would cost a grace period to remove). */
bool uprobe_multi_supported(void);

/* A link running `prog_fd` at `offsets` of `path` in process `pid` (entry,
 * or return with `ret`), each with its cookie. Returns the link fd or
 * -errno. */
int uprobe_multi_attach(int prog_fd, const char *path, const uint64_t *offsets,
			const uint64_t *cookies, uint32_t cnt, bool ret, pid_t pid);

#endif
