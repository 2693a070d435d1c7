/* SPDX-License-Identifier: MIT */
/*
 * Channel kinds and families: one table each, expanded by the BPF side and
 * by userspace alike, so that code asking "is this a socket?", "which
 * family's copy routines?" or "how are its two ends joined?" asks the table
 * instead of naming kinds. A new kind is one line of IPC_KINDS and its
 * classification in bpf/fdkind.bpf.h (docs/ARCHITECTURE.md, "a new channel
 * kind"). Included by ipcprof.h; compiled against vmlinux.h and libc alike.
 */
#ifndef IPCPROF_IPC_KINDS_H
#define IPCPROF_IPC_KINDS_H

/*
 * Families: the kernel copies their bytes through different code, which
 * precise copy probes may cover for one family and not another
 * (user/probe_plan.c names each family's routines).
 * X(id, key in recordings and JSON, words for people)
 */
#define IPC_FAMILIES(X)                                                                            \
	X(FAM_PIPE, "pipe", "pipes and FIFOs")                                                     \
	X(FAM_UNIX, "unix", "unix sockets")                                                        \
	X(FAM_INET, "inet", "TCP and UDP sockets")

#define IPC_FAMILY_ENUM(id, key, words) id,
enum ipc_family { IPC_FAMILIES(IPC_FAMILY_ENUM) FAM_COUNT };
#undef IPC_FAMILY_ENUM

/* What a kind is (bits of its flags). */
enum ipc_kind_flag {
	KF_SOCKET = 1 << 0, /* a socket: sendmsg/recvmsg, peers */
	KF_DGRAM = 1 << 1,  /* each message may have its own peer: never cached */
	/* its ends are joined through the peer socket's inode (AF_UNIX keeps
	 * a pointer to its peer) */
	KF_PEER_INODE = 1 << 2,
	/* its ends are joined by addresses and ports (AF_INET, AF_INET6): a
	 * channel is one direction of a connection, named by its flow */
	KF_FLOW = 1 << 3,
	KF_RIGHTS = 1 << 4, /* carries descriptors (SCM_RIGHTS) */
};

/*
 * The kinds. X(id, value, name in reports, family, flags). Values are
 * stored in recordings: never renumber, only add.
 */
#define IPC_KINDS(X)                                                                               \
	X(IPC_PIPE, 1, "pipe", FAM_PIPE, 0)                                                        \
	X(IPC_FIFO, 2, "fifo", FAM_PIPE, 0)                                                        \
	X(IPC_UNIX_STREAM, 3, "unix-stream", FAM_UNIX, KF_SOCKET | KF_PEER_INODE | KF_RIGHTS)      \
	X(IPC_UNIX_DGRAM, 4, "unix-dgram", FAM_UNIX,                                               \
	  KF_SOCKET | KF_DGRAM | KF_PEER_INODE | KF_RIGHTS)                                        \
	X(IPC_TCP, 5, "tcp", FAM_INET, KF_SOCKET | KF_FLOW)                                        \
	X(IPC_UDP, 6, "udp", FAM_INET, KF_SOCKET | KF_DGRAM | KF_FLOW)

#define IPC_KIND_ENUM(id, value, name, fam, flags) id = value,
/* What kind of IPC endpoint a file descriptor refers to. */
enum ipc_kind { IPC_NONE = 0, IPC_KINDS(IPC_KIND_ENUM) IPC_KIND_END };
#undef IPC_KIND_ENUM
/* kinds are numbered 1..IPC_KIND_MAX without gaps (checked below) */
#define IPC_KIND_MAX (IPC_KIND_END - 1)

#define IPC_KIND_FLAGS_CASE(id, value, name, fam, flags)                                           \
	case id:                                                                                   \
		return (flags);
#define IPC_KIND_FAMILY_CASE(id, value, name, fam, flags)                                          \
	case id:                                                                                   \
		return (fam);

/* A kind's flags (0 for IPC_NONE and for values no kind has). */
static __always_inline unsigned int ipc_kind_flags(unsigned int kind)
{
	switch (kind) {
		IPC_KINDS(IPC_KIND_FLAGS_CASE)
	default:
		return 0;
	}
}

/* A kind's family; always < FAM_COUNT, so it can index per-family arrays. */
static __always_inline unsigned int ipc_kind_family(unsigned int kind)
{
	switch (kind) {
		IPC_KINDS(IPC_KIND_FAMILY_CASE)
	default:
		return FAM_PIPE;
	}
}

#undef IPC_KIND_FLAGS_CASE
#undef IPC_KIND_FAMILY_CASE

/* The kinds' values run 1..n: the last is the count and the values add up
 * to n(n+1)/2 (a duplicate value is already an error: a duplicate case in
 * the switches above). */
#define IPC_KIND_ONE(id, value, name, fam, flags) +1
#define IPC_KIND_SUM(id, value, name, fam, flags) +(value)
_Static_assert(IPC_KIND_MAX == 0 IPC_KINDS(IPC_KIND_ONE), "kinds numbered 1..n");
_Static_assert(0 IPC_KINDS(IPC_KIND_SUM) == IPC_KIND_MAX * (IPC_KIND_MAX + 1) / 2,
	       "kinds numbered 1..n without gaps");
_Static_assert(IPC_KIND_MAX < 256, "a kind fits the __u8 of chan_key and ipc_endpoint");
#undef IPC_KIND_ONE
#undef IPC_KIND_SUM

#endif /* IPCPROF_IPC_KINDS_H */
