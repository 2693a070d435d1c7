/* SPDX-License-Identifier: MIT */
/* Reading a whole BPF hash map in a few syscalls. */
#ifndef IPCPROF_MAP_READ_H
#define IPCPROF_MAP_READ_H

#include <stddef.h>

/*
 * All entries of the hash map `fd` (at most `max` of them) into freshly
 * allocated arrays of keys and values, with bpf_map_lookup_batch: one pass,
 * so entries the kernel deletes meanwhile neither restart the walk nor get
 * counted twice (as bpf_map_get_next_key from a deleted key would).
 * Returns the count, or -errno.
 */
int map_read_all(int fd, size_t key_size, size_t value_size, unsigned int max, void **keys,
		 void **values);

#endif
