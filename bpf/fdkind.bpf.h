// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * Decide in the kernel whether a file descriptor of the current task is an
 * IPC endpoint (pipe, FIFO, AF_UNIX socket, TCP or UDP socket whose peer is
 * on this host) and which channel it belongs to.
 * Everything is read with CO-RE relocations, so the same object works on
 * 6.1 and 6.18 kernels whatever the struct layouts.
 */
#ifndef FDKIND_BPF_H
#define FDKIND_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ipcprof.h"

/* uapi values that vmlinux.h cannot carry (they are macros). */
#define S_IFMT	     00170000
#define S_IFSOCK     0140000
#define S_IFIFO	     0010000
#define PIPEFS_MAGIC 0x50495045
#define AF_UNIX	     1
#define AF_INET	     2
#define AF_INET6     10
#define SOCK_STREAM  1
#define SOCK_DGRAM   2
#define IPPROTO_TCP  6
#define IPPROTO_UDP  17
#define FMODE_WRITE  0x2

/*
 * This host's addresses (IPv4 mapped into IPv6), from userspace's
 * getifaddrs() at start: a TCP or UDP peer at one of them, or on loopback,
 * is a local process, and its traffic IPC; any other peer is another host,
 * never counted as IPC. An address added while tracing is not in here.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IPCPROF_LOCAL_ADDRS);
	__type(key, struct in6_addr);
	__type(value, __u8);
} local_addrs SEC(".maps");

/* An IPv4 address (network order) as IPv6 ::ffff:a.b.c.d; 0.0.0.0 (not
 * known, or any) stays all zero. */
static __always_inline void inet_map_v4(__u8 out[16], __u32 v4)
{
	__builtin_memset(out, 0, 16);
	if (!v4)
		return;
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &v4, 4);
}

/* 127.0.0.0/8 (as ::ffff:127.x.y.z) or ::1, tested as bytes whatever the
 * host's byte order. */
static __always_inline bool inet_addr_loopback(const __u8 a[16])
{
	__u64 hi;

	__builtin_memcpy(&hi, a, 8);
	if (hi || a[8] || a[9])
		return false;
	if (a[10] == 0xff && a[11] == 0xff && a[12] == 127)
		return true;
	return !a[10] && !a[11] && !a[12] && !a[13] && !a[14] && a[15] == 1;
}

/* Is a peer at this address on this host? (All zero: not known, no.) */
static __always_inline bool inet_addr_local(const __u8 a[16])
{
	__u64 hi, lo;

	__builtin_memcpy(&hi, a, 8);
	__builtin_memcpy(&lo, a + 8, 8);
	if (!hi && !lo)
		return false;
	return inet_addr_loopback(a) || bpf_map_lookup_elem(&local_addrs, a) != NULL;
}

/*
 * A TCP or UDP socket: its ends' addresses and ports, and whether it counts
 * (a TCP socket only once connected, to a peer on this host; a UDP socket
 * connected elsewhere never; an unconnected one per message, see
 * inet_msg_peer()).
 */
static __always_inline int inet_classify(struct socket *sock, struct sock *sk, __u16 family,
					 struct ipc_endpoint *ep)
{
	__u16 type = BPF_CORE_READ(sock, type), proto = BPF_CORE_READ(sk, sk_protocol);
	struct inet_ends *in = &ep->inet;

	if (type == SOCK_STREAM && proto == IPPROTO_TCP)
		ep->kind = IPC_TCP;
	else if (type == SOCK_DGRAM && proto == IPPROTO_UDP)
		ep->kind = IPC_UDP;
	else
		return IPC_NONE;
	in->src_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	in->dst_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		inet_map_v4(in->src_addr, BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
		inet_map_v4(in->dst_addr, BPF_CORE_READ(sk, __sk_common.skc_daddr));
	} else {
		BPF_CORE_READ_INTO(&in->src_addr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&in->dst_addr, sk, __sk_common.skc_v6_daddr);
	}
	/* an unconnected socket's classification changes with connect() (and
	 * a UDP socket's with every connect()): not cached */
	ep->nocache = ep->kind == IPC_UDP || !in->dst_port;
	if (ep->kind == IPC_TCP && !in->dst_port)
		return ep->kind = IPC_NONE; /* listening, or not connected yet */
	if (in->dst_port && !inet_addr_local(in->dst_addr))
		return ep->kind = IPC_NONE; /* another host */
	return ep->kind;
}

/*
 * The peer of one datagram on an unconnected UDP socket: the sockaddr that
 * sendto/sendmsg name, or that recvfrom/recvmsg filled in (user memory at
 * `uaddr`). Returns whether the peer is on this host (false: not IPC).
 */
static __always_inline bool inet_msg_peer(struct ipc_endpoint *ep, const void *uaddr)
{
	struct {
		__u16 family;
		__u16 port; /* network order */
		union {
			__u32 v4;
			struct {
				__u32 flowinfo;
				__u8 v6[16];
			};
		};
	} sa = {};

	/* the family first: a sockaddr_in (8 bytes read of its 16) may end
	 * where the caller's memory does */
	if (!uaddr || bpf_probe_read_user(&sa.family, sizeof(sa.family), uaddr))
		return false;
	if (sa.family == AF_INET) {
		if (bpf_probe_read_user(&sa, 8, uaddr))
			return false;
		inet_map_v4(ep->inet.dst_addr, sa.v4);
	} else if (sa.family == AF_INET6) {
		if (bpf_probe_read_user(&sa, sizeof(sa), uaddr))
			return false;
		__builtin_memcpy(ep->inet.dst_addr, sa.v6, 16);
	} else {
		return false;
	}
	ep->inet.dst_port = bpf_ntohs(sa.port);
	return inet_addr_local(ep->inet.dst_addr);
}

static __always_inline struct file *task_fd_to_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;

	if (fd < 0 || !fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

static __always_inline struct file *fd_to_file(int fd)
{
	return task_fd_to_file((struct task_struct *)bpf_get_current_task(), fd);
}

/* The endpoint kind of an open file whose inode is known. */
static __always_inline int file_classify(struct file *file, struct inode *inode,
					 struct ipc_endpoint *ep)
{
	__u16 mode;

	ep->kind = IPC_NONE;
	ep->writable = 0;
	mode = BPF_CORE_READ(inode, i_mode);
	ep->ino = BPF_CORE_READ(inode, i_ino);
	ep->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	ep->peer_ino = 0;
	ep->nocache = 0;
	ep->writable = !!(BPF_CORE_READ(file, f_mode) & FMODE_WRITE);

	if ((mode & S_IFMT) == S_IFIFO) {
		/* Anonymous pipes live on pipefs; a FIFO has a real inode. */
		if (BPF_CORE_READ(inode, i_sb, s_magic) == PIPEFS_MAGIC)
			ep->kind = IPC_PIPE;
		else
			ep->kind = IPC_FIFO;
		return ep->kind;
	}
	if ((mode & S_IFMT) == S_IFSOCK) {
		struct socket *sock = BPF_CORE_READ(file, private_data);
		struct sock *sk = BPF_CORE_READ(sock, sk);
		__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
		struct sock *peer;

		if (family == AF_INET || family == AF_INET6)
			return inet_classify(sock, sk, family, ep);
		if (family != AF_UNIX)
			return IPC_NONE;
		ep->kind =
		    BPF_CORE_READ(sock, type) == SOCK_DGRAM ? IPC_UNIX_DGRAM : IPC_UNIX_STREAM;
		/* struct unix_sock starts with its struct sock. */
		peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
		if (peer)
			ep->peer_ino = BPF_CORE_READ(peer, sk_socket, file, f_inode, i_ino);
		return ep->kind;
	}
	return IPC_NONE;
}

/* The endpoint kind of `task`'s fd (IPC_NONE when it is not an endpoint). */
static __always_inline int file_classify_fd(struct task_struct *task, int fd,
					    struct ipc_endpoint *ep)
{
	struct file *file = task_fd_to_file(task, fd);

	if (!file) {
		ep->kind = IPC_NONE;
		ep->writable = 0;
		return IPC_NONE;
	}
	return file_classify(file, BPF_CORE_READ(file, f_inode), ep);
}

/* Returns the endpoint's kind (IPC_NONE when fd is not an IPC endpoint). */
static __always_inline int fd_classify(int fd, struct ipc_endpoint *ep)
{
	return file_classify_fd((struct task_struct *)bpf_get_current_task(), fd, ep);
}

/*
 * fd_classify with a one-entry cache per thread: IPC loops use the same fd
 * over and over, and classifying costs a dozen kernel reads (the socket's
 * peer alone takes four). The cache holds while the fd still refers to the
 * same file, with the same inode of the same number: a closed and reopened
 * fd that got a recycled struct file and inode still differs in i_ino.
 * Unconnected datagram sockets are classified every time (their peer is per
 * message).
 */
static __always_inline int fd_classify_cached(struct fd_cache *c, int fd, struct ipc_endpoint *ep)
{
	struct file *file = fd_to_file(fd);
	struct inode *inode;

	if (!file) {
		ep->kind = IPC_NONE;
		return IPC_NONE;
	}
	inode = BPF_CORE_READ(file, f_inode);
	if (c->file == (__u64)file && c->inode == (__u64)inode && c->fd == fd &&
	    c->ino == BPF_CORE_READ(inode, i_ino) && !c->ep.nocache &&
	    !(ipc_kind_flags(c->ep.kind) & KF_DGRAM)) {
		*ep = c->ep;
		return ep->kind;
	}
	c->fresh = 1;
	file_classify(file, inode, ep);
	c->file = (__u64)file;
	c->inode = (__u64)inode;
	c->fd = fd;
	c->ino = ep->kind != IPC_NONE ? ep->ino : BPF_CORE_READ(inode, i_ino);
	c->ep = *ep;
	return ep->kind;
}

#endif /* FDKIND_BPF_H */
