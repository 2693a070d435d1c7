/* SPDX-License-Identifier: MIT */
/*
 * No process is left stopped, however ipcprof ends (even SIGKILL or OOM):
 * a small helper process, forked before any program is attached, holds the
 * read end of a pipe and the `held` map (processes the BPF side stopped
 * until their uprobes exist). When ipcprof's write end closes without the
 * word that all is released, the helper sends SIGCONT to every process
 * still in the map, and exits.
 *
 * It also time-boxes the holds while ipcprof lives: a process held longer
 * than WATCHDOG_HOLD_LIMIT_NS (its probe planning stuck on a slow or
 * hostile file, or ipcprof busy) is released and removed from the map, so
 * ipcprof can tell (watchdog_was_released) and say which probes came late.
 */
#ifndef IPCPROF_WATCHDOG_H
#define IPCPROF_WATCHDOG_H

#include <stdbool.h>
#include <sys/types.h>

#define WATCHDOG_HOLD_LIMIT_NS 1000000000ull

struct watchdog {
	pid_t pid; /* the helper, 0 when none */
	int fd;	   /* our end of the pipe, -1 when none */
};

/* Start the helper with a copy of held_map_fd. 0 or -errno. */
int watchdog_start(struct watchdog *w, int held_map_fd);

/* Whether the helper released pid's hold (time limit) before we did. */
bool watchdog_was_released(int held_map_fd, pid_t pid);

/* We released every hold ourselves: tell the helper and let it go. */
void watchdog_done(struct watchdog *w);

#endif
