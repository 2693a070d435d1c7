/* SPDX-License-Identifier: MIT */
/* A growable set of BPF links, destroyed together. */
#ifndef IPCPROF_LINKS_H
#define IPCPROF_LINKS_H

struct bpf_link;

struct link_list {
	struct bpf_link **v;
	int n;
};

/* Takes ownership of `l`: destroys it when it cannot be kept. */
int link_list_add(struct link_list *ll, struct bpf_link *l);
void link_list_destroy(struct link_list *ll);

#endif
