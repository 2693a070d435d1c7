/* SPDX-License-Identifier: MIT */
/*
 * No process is left stopped, however ipcprof ends (even SIGKILL or OOM):
 * a small helper process, forked before any program is attached, holds the
 * read end of a pipe and the `held` map (processes the BPF side stopped
 * until their uprobes exist). When ipcprof's write end closes without the
 * word that all is released, the helper sends SIGCONT to every process
 * still in the map, and exits.
 */
#ifndef IPCPROF_WATCHDOG_H
#define IPCPROF_WATCHDOG_H

#include <sys/types.h>

struct watchdog {
	pid_t pid; /* the helper, 0 when none */
	int fd;	   /* our end of the pipe, -1 when none */
};

/* Start the helper with a copy of held_map_fd. 0 or -errno. */
int watchdog_start(struct watchdog *w, int held_map_fd);

/* We released every hold ourselves: tell the helper and let it go. */
void watchdog_done(struct watchdog *w);

#endif
