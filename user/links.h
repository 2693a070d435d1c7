/* SPDX-License-Identifier: MIT */
/* A growable set of BPF links, destroyed together. */
#ifndef IPCPROF_LINKS_H
#define IPCPROF_LINKS_H

#include <pthread.h>
#include <stdbool.h>

struct bpf_link;

struct link_list {
	struct bpf_link **v;
	int n;
	int *fds; /* raw BPF link fds (links libbpf 1.1 cannot create) */
	int n_fds;
};

/* Takes ownership of `l` (or `fd`): destroys it when it cannot be kept. */
int link_list_add(struct link_list *ll, struct bpf_link *l);
int link_list_add_fd(struct link_list *ll, int fd);
void link_list_destroy(struct link_list *ll);

/*
 * Destroying a uprobe link waits for RCU grace periods (~55 ms on 6.18,
 * under a kernel mutex, so one after another). A reaper destroys links on a
 * thread of its own, so that neither the report nor the traced programs
 * wait for that; reaper_join() waits until all it was given is gone.
 */
struct link_reaper {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct link_list queue;
	pthread_t worker;
	bool started, stopping;
};

/* Takes the links of `ll` (left empty). Destroys them here when no thread
 * can be started. */
void reaper_take(struct link_reaper *r, struct link_list *ll);
/* Wait until everything given to the reaper is destroyed. */
void reaper_join(struct link_reaper *r);

#endif
