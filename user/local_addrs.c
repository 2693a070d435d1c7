// SPDX-License-Identifier: MIT
/*
 * This host's addresses. A TCP or UDP peer at one of them (or on loopback)
 * is a process on this machine: its traffic is IPC. The BPF side checks the
 * peer's address against this set (bpf/fdkind.bpf.h); getifaddrs() is libc's
 * own walk of the netlink address dump, so no netlink code of ours.
 */
#include "local_addrs.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "ipcprof.h"

bool local_addr_key(const struct sockaddr *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out[10] = out[11] = 0xff;
		memcpy(out + 12, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

int local_addrs_fill(int map_fd)
{
	struct ifaddrs *all, *a;
	uint8_t key[16], one = 1;
	int n = 0;

	if (getifaddrs(&all))
		return -errno;
	for (a = all; a && n < IPCPROF_LOCAL_ADDRS; a = a->ifa_next) {
		if (!local_addr_key(a->ifa_addr, key))
			continue;
		if (!bpf_map_update_elem(map_fd, key, &one, BPF_ANY))
			n++;
	}
	freeifaddrs(all);
	return n;
}
