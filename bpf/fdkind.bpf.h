// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * Decide in the kernel whether a file descriptor of the current task is an
 * IPC endpoint (pipe, FIFO, AF_UNIX socket) and which channel it belongs to.
 * Everything is read with CO-RE relocations, so the same object works on
 * 6.1 and 6.18 kernels whatever the struct layouts.
 */
#ifndef FDKIND_BPF_H
#define FDKIND_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "ipcprof.h"

/* uapi values that vmlinux.h cannot carry (they are macros). */
#define S_IFMT	     00170000
#define S_IFSOCK     0140000
#define S_IFIFO	     0010000
#define PIPEFS_MAGIC 0x50495045
#define AF_UNIX	     1
#define SOCK_DGRAM   2
#define FMODE_WRITE  0x2

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
		struct sock *peer;

		if (BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX)
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
	    c->ino == BPF_CORE_READ(inode, i_ino) && c->ep.kind != IPC_UNIX_DGRAM) {
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
