/* SPDX-License-Identifier: MIT */
/* This host's addresses, for telling a local TCP/UDP peer from another host's. */
#ifndef IPCPROF_LOCAL_ADDRS_H
#define IPCPROF_LOCAL_ADDRS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* An AF_INET or AF_INET6 address as the BPF side keeps it (IPv4 mapped into
 * ::ffff:0:0/96); false for other families. */
bool local_addr_key(const struct sockaddr *sa, uint8_t out[16]);

/* Put every address of every interface (getifaddrs) into the BPF map
 * `map_fd` (bpf/fdkind.bpf.h's local_addrs). Returns the count, or -errno. */
int local_addrs_fill(int map_fd);

#endif
