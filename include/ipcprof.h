/* SPDX-License-Identifier: MIT */
/*
 * Types shared by the BPF programs (bpf/ipcprof.bpf.c) and the userspace
 * aggregator. Only fixed-width __u64-style types here: this header is compiled
 * both against vmlinux.h and against the libc headers.
 */
#ifndef IPCPROF_H
#define IPCPROF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#endif

#include "ipc_kinds.h"

#define IPCPROF_COMM_LEN	16
#define IPCPROF_HIST_SLOTS	32
#define IPCPROF_MAX_COPY_RANGES 32
#define IPCPROF_MAX_SYSCALLS	512
#define IPCPROF_TGID_LIMIT	(1 << 22) /* the kernel's PID_MAX_LIMIT */
#define IPCPROF_LOCAL_ADDRS	256	  /* this host's addresses we know (bpf/fdkind.bpf.h) */

/*
 * What the two raw syscall hooks do with a syscall number. Userspace fills
 * the table (rodata) from <sys/syscall.h>, so the BPF object carries no
 * architecture's numbers, and one enter/exit pair replaces ~40 per-syscall
 * tracepoints (each of which costs ~55 ms to detach on 6.18).
 */
enum sys_kind {
	SK_NONE = 0,
	SK_READ,     /* read, readv: fd in arg 0 */
	SK_WRITE,    /* write, writev */
	SK_RECVMMSG, /* returns a message count; bytes in msg_len */
	SK_SENDMMSG,
	SK_SPLICE,
	SK_VMSPLICE,
	SK_CLONE,  /* flags in arg 0 */
	SK_CLONE3, /* flags in the struct clone_args arg 0 points to */
	SK_FORK,   /* fork, vfork */
	SK_MMAP,
	SK_MUNMAP,
	SK_MREMAP,
	SK_SENDMSG, /* sendmsg/recvmsg: as SK_WRITE/SK_READ, and SCM_RIGHTS */
	SK_RECVMSG,
	SK_SHMAT, /* SysV shared memory: shmat(id, addr, flags) maps it */
	SK_SHMDT,
	SK_POPULATE, /* madvise, mlock, mlock2, mlockall: may map pages, no fault */
	SK_SENDTO,   /* sendto/recvfrom: as SK_WRITE/SK_READ, and a datagram's peer */
	SK_RECVFROM,
	SK_EPOLL_WAIT, /* epoll_wait, epoll_pwait, epoll_pwait2(epfd, events, maxevents, ...) */
	SK_POLL,       /* poll, ppoll(fds, nfds, ...) */
	SK_SELECT,     /* select, pselect6(nfds, readfds, ...) */
	SK_COUNT,
};

/* What a SYS_POLL wait's ready descriptors are found in (thread_state). */
enum poll_kind {
	POLL_FDS = 0,	 /* struct pollfd[nfds]: revents */
	POLL_EPOLL = 1,	 /* struct epoll_event[ret]: data, read as the fd */
	POLL_SELECT = 2, /* fd_set readfds of nfds bits */
};

/* The syscall a thread is in, as the kernel side times it (thread_state). */
enum sys_class {
	SYS_NONE = 0,
	SYS_IPC,
	SYS_FORK,
	SYS_MMAP,
	SYS_MUNMAP,
	SYS_MREMAP,
	SYS_POLL, /* epoll_wait/poll: blocked on IPC if an IPC fd woke it, else wait */
};

enum ipc_dir {
	DIR_READ = 0,
	DIR_WRITE = 1,
};

/* Classes of kernel code the perf-event sampler recognises in a stack. */
enum code_class {
	CODE_COPY = 1,	/* user-copy routines (copy_to_iter, rep_movs, ...) */
	CODE_FAULT = 2, /* page-fault handling (exc_page_fault, ...) */
};

/* What a thread was doing when it took a page fault (or a sample). */
enum activity {
	ACT_SERIALIZE = 0,
	ACT_DESERIALIZE = 1,
	ACT_IPC = 2,	   /* inside an IPC syscall: kernel-mode faults while copying */
	ACT_POST_FORK = 3, /* a forked child's first post_fork_ns: copy-on-write */
	ACT_OTHER = 4,
	/* a fault on a shared mapping outside the activities above: the
	 * first touch of a segment another process fills or reads */
	ACT_SHARED = 5,
	ACT_COUNT = 6,
};

/* x86 page-fault error code bits -> kind of fault. */
enum fault_type {
	FT_COW = 0,	    /* write to a present page (X86_PF_PROT|X86_PF_WRITE) */
	FT_NOT_PRESENT = 1, /* first touch of anonymous memory, page-cache miss */
	FT_OTHER = 2,	    /* read/exec protection faults */
	FT_COUNT = 3,
};

#define PROC_FORKED 0x1 /* created by a traced parent while tracing */

/* One [start, end) kernel text range of a known class, from kallsyms. */
struct code_range {
	__u64 start;
	__u64 end;
	__u32 cls;
	__u32 pad;
};

/*
 * Per-process totals, one entry per traced TGID. All times in ns of
 * CLOCK_MONOTONIC (bpf_ktime_get_ns). Written concurrently by the threads of
 * the process, so the BPF side only uses atomic adds on the counters.
 */
struct proc_stats {
	__u64 start_ns;	 /* fork (or attach) time */
	__u64 exit_ns;	 /* last thread exited, 0 while alive */
	__u64 thread_ns; /* summed lifetime of threads that already exited */
	__u32 ppid;
	__s32 exit_code; /* raw wait status bits (task->exit_code) */
	char comm[IPCPROF_COMM_LEN];
	__u32 flags; /* PROC_* */
	__u32 pad;

	__u64 serialize_ns;
	__u64 serialize_calls;
	__u64 deserialize_ns;
	__u64 deserialize_calls;

	__u64 ipc_calls;
	__u64 ipc_oncpu_ns;   /* IPC syscall time on CPU (includes copy) */
	__u64 ipc_blocked_ns; /* IPC syscall time off CPU */
	__u64 bytes_read;
	__u64 bytes_written;

	__u64 fork_calls;
	__u64 fork_ns;	    /* time inside fork/clone in this (parent) process */
	__u64 first_run_ns; /* this process: creation to first time on CPU */

	__u64 mmap_calls;
	__u64 mmap_bytes;
	__u64 mmap_ns;	/* mmap syscalls */
	__u64 unmap_ns; /* munmap/mremap of those mappings */

	__u64 wait_ns; /* off CPU outside IPC syscalls and serializers */
	/* off CPU in epoll_wait/poll until an IPC descriptor was ready: waiting
	 * for a peer as much as inside a read (bpf/syscalls.bpf.h, poll_exit) */
	__u64 poll_blocked_ns;

	__u64 samples_total;		   /* perf samples taken on CPU in this process */
	__u64 samples_ipc;		   /* ... inside IPC syscalls */
	__u64 samples_copy;		   /* ... of which in user-copy routines */
	__u64 ipc_oncpu_fam_ns[FAM_COUNT]; /* ipc_oncpu_ns by channel family */
	__u64 samples_ipc_fam[FAM_COUNT];
	__u64 samples_copy_fam[FAM_COUNT];
	__u64 fault_samples[ACT_COUNT]; /* samples in page-fault handling */
	__u64 user_samples[ACT_COUNT];	/* samples in user mode */
	/* samples taken in each activity by either sampler: the per-CPU one
	 * and, inside the exactly timed activities (serializers, IPC calls)
	 * only, the denser per-thread one. Shares of an exactly timed
	 * activity are fault_samples[a] / act_samples[a]. */
	__u64 act_samples[ACT_COUNT];

	/* from precise probes (fentry/kprobe), 0 where they are not attached */
	__u64 copy_exact_ns;		    /* in user-copy routines */
	__u64 copy_exact_fam_ns[FAM_COUNT]; /* ... by channel family */
	__u64 fault_exact_ns[ACT_COUNT];    /* in handle_mm_fault */
	__u64 ipc_kernel_ns;		    /* in pipe/unix-socket read/write code */
	__u64 fork_kernel_ns;		    /* in kernel_clone */
	__u64 mmap_kernel_ns;		    /* in do_mmap of shared mappings */

	__u64 faults[ACT_COUNT][FT_COUNT]; /* exact, from the fault tracepoints */
	__u64 faults_kernel;		   /* of those, taken in kernel mode */

	/* samples in user mode inside the serializer's code, once its uprobes
	 * were removed because it was called too often (see ser_code) */
	__u64 ser_ip_samples;
	/* calls of the Queue hand-off probe (SemLock.acquire), which counts
	 * towards a process's probe rate like its serializer calls */
	__u64 handoff_calls;
};

/* Where a process's serializer code is mapped (its _pickle module). */
struct code_span {
	__u64 start;
	__u64 end;
};

/* A shared mapping created by a traced process (so munmap can be matched). */
struct shm_key {
	__u32 tgid;
	__u32 pad;
	__u64 addr;
};

/*
 * Shared segments (bpf/shared.bpf.h): each shared object a traced process
 * maps, named by the object itself (its inode: a memfd, a file in /dev/shm,
 * a SysV segment and a MAP_SHARED|MAP_ANONYMOUS mapping are all files of
 * the kernel's shmem), seen per process.
 */
#define IPCPROF_SEG_RANGES 64 /* shared mappings tracked per process at once */
#define IPCPROF_SEG_NAME   32

/* Fault kinds on a shared mapping, from the x86 error code. */
enum seg_fault {
	SF_READ = 0,  /* a read of a page not yet mapped here */
	SF_WRITE = 1, /* a write to a page not yet mapped here */
	SF_WP = 2,    /* a write to a page mapped read-only (write-protect) */
	SF_COUNT = 3,
};

#define SEG_SHMEM	0x1 /* backed by shmem (tmpfs, memfd, SysV, shared anonymous) */
#define SEG_INHERITED	0x2 /* faulted on without mapping it here: inherited over fork */
#define SEG_MAPPED	0x4 /* mapped by this process while traced */
#define SEG_TOUCH_EXACT 0x8 /* pages_touched from the RSS counter (else: faults) */
/* a fault moved to another CPU before it mapped its pages: those were
 * counted as one page (bpf/shared.bpf.h, rss_here) */
#define SEG_TOUCH_MIGRATED 0x10

/* One shared mapping of one process: the fault path's lookup table. */
struct seg_range {
	__u64 start, end; /* [start, end), 0 when the slot is free */
	__u64 ino;
	__u32 dev;
	__u8 shmem; /* which RSS counter its pages land in */
	__u8 pad[3];
};

struct seg_ranges {
	struct seg_range r[IPCPROF_SEG_RANGES];
	/* slots [0, used) have been taken at some time: searches stop there
	 * (a fault on private memory, the common case, scans only those) */
	__u32 used;
	__u32 pad;
};

struct seg_key {
	__u64 ino;
	__u32 dev;
	__u32 tgid;
};

struct seg_stats {
	__u64 size;	    /* the object's size when last mapped */
	__u64 bytes_mapped; /* lengths of its mappings here, summed */
	__u64 maps;	    /* mmap/shmat calls that mapped it */
	__u64 map_ns;	    /* time in those calls */
	/* pages brought into this process's page tables, fault-around
	 * included (from the RSS counter the faults moved) */
	__u64 pages_touched;
	__u64 faults[SF_COUNT];
	__u64 fault_samples;	     /* per-CPU samples in fault handling on it */
	__u64 first_ns;		     /* first mapped or touched here */
	__u64 last_ns;		     /* last fault here */
	__u32 flags;		     /* SEG_* */
	__u32 map_site;		     /* Python call site (index + 1) of its first mapping here */
	char name[IPCPROF_SEG_NAME]; /* the file's name: "memfd:x", "SYSV...", "dev/zero" */
};

/* A descriptor carried over a channel with SCM_RIGHTS: what it was. */
struct pass_key {
	__u64 ino;	/* the passed file's inode */
	__u64 chan_ino; /* the channel (as in struct chan_key) */
	__u32 dev;
	__u32 tgid; /* the end that sent or received it */
	__u8 dir;
	__u8 pad[7];
};

/*
 * The two ends of a TCP or UDP flow: addresses as IPv6 (IPv4 mapped into
 * ::ffff:0:0/96, all zero when not known: an unbound or unconnected end),
 * ports in host order (0 when not known).
 */
struct inet_ends {
	__u8 src_addr[16];
	__u8 dst_addr[16];
	__u16 src_port;
	__u16 dst_port;
	__u32 pad;
};

/* A channel as seen by one process in one direction. */
struct chan_key {
	/* pipe/FIFO inode; for unix sockets the *sending* end's inode; for
	 * TCP/UDP the flow (chan_flow_id(): its ports, sender's first) */
	__u64 ino;
	__u32 dev;
	__u32 tgid;
	__u8 dir;  /* enum ipc_dir */
	__u8 kind; /* enum ipc_kind */
	__u16 pad;
	__u32 pad2;
};

struct chan_stats {
	__u64 calls;
	__u64 bytes;
	__u64 oncpu_ns;
	__u64 blocked_ns;
	__u64 peer_ino;				/* sockets: the receiving end's inode, else 0 */
	__u64 first_ns;				/* start of the first call */
	__u64 last_ns;				/* end of the last call */
	__u64 fds_passed;			/* descriptors carried (SCM_RIGHTS) */
	__u64 poll_blocked_ns;			/* reader's wait in poll/epoll for it */
	struct inet_ends flow;			/* TCP/UDP: sender -> receiver */
	__u64 size_hist[IPCPROF_HIST_SLOTS];	/* log2 of bytes per call */
	__u64 latency_hist[IPCPROF_HIST_SLOTS]; /* log2 of ns per call */
};

/* An IPC endpoint as classified in the kernel (bpf/fdkind.bpf.h). */
struct ipc_endpoint {
	__u64 ino;	/* this end's inode */
	__u64 peer_ino; /* sockets: the connected peer's inode, else 0 */
	__u32 dev;
	__u8 kind;     /* enum ipc_kind */
	__u8 writable; /* file opened for writing (vmsplice direction) */
	__u8 nocache;  /* classified anew every call (its state can change) */
	__u8 pad;
	/* TCP/UDP: src is this end, dst its peer (the message's, for an
	 * unconnected UDP socket) */
	struct inet_ends inet;
};

/* A TCP/UDP flow's channel number: its ports, the sender's first. Both ends
 * of one direction of a connection compute the same number, as both ends
 * of a unix socket name it after its sender's inode; ports, not addresses,
 * because an unconnected UDP end knows only one of the two addresses. */
static __always_inline __u64 chan_flow_id(__u16 sender_port, __u16 receiver_port)
{
	return ((__u64)sender_port << 16) | receiver_port;
}

/* The flow a call in direction `dir` on an end with addresses `in` (src:
 * this end) moves bytes on, sender first. */
static __always_inline void inet_flow_of(struct inet_ends *out, const struct inet_ends *in,
					 __u8 dir)
{
	if (dir == DIR_WRITE) {
		*out = *in;
		return;
	}
	__builtin_memcpy(out->src_addr, in->dst_addr, sizeof(in->dst_addr));
	__builtin_memcpy(out->dst_addr, in->src_addr, sizeof(in->src_addr));
	out->src_port = in->dst_port;
	out->dst_port = in->src_port;
}

/* The receiving end's inode that a channel end records (chan_stats.peer_ino):
 * on a unix socket the reader's own, the writer's peer's; 0 elsewhere. */
static __always_inline __u64 chan_peer_ino_of(const struct ipc_endpoint *ep, __u8 dir)
{
	if (dir == DIR_READ)
		return ep->peer_ino ? ep->ino : 0;
	return ep->peer_ino;
}

/* The channel (chan_key.ino) that a call in direction `dir` on endpoint
 * `ep` uses: a socket channel is named after its sending end, so both
 * ends' records of one flow of bytes meet under one key (and one timeline
 * track). */
static __always_inline __u64 chan_ino_of(const struct ipc_endpoint *ep, __u8 dir)
{
	const struct inet_ends *in = &ep->inet;

	if (ipc_kind_flags(ep->kind) & KF_FLOW)
		return dir == DIR_WRITE ? chan_flow_id(in->src_port, in->dst_port)
					: chan_flow_id(in->dst_port, in->src_port);
	return dir == DIR_READ && ep->peer_ino ? ep->peer_ino : ep->ino;
}

/* The last fd a thread classified, and what it was (bpf/fdkind.bpf.h). */
struct fd_cache {
	__u64 file;  /* struct file * */
	__u64 inode; /* struct inode * */
	__u64 ino;
	__s32 fd;
	__u32 fresh; /* classified anew, its socket's sender not yet recorded */
	struct ipc_endpoint ep;
};

/*
 * One thread's IPC syscall totals. Kept per thread (no atomics, no process
 * lookup on the hottest path) and added to its process's proc_stats when it
 * exits, or at collection while it lives.
 */
struct ipc_acc {
	__u64 calls;
	__u64 oncpu_ns;
	__u64 blocked_ns;
	__u64 bytes_read;
	__u64 bytes_written;
	__u64 copy_exact_ns;
	__u64 copy_exact_fam_ns[FAM_COUNT];
	__u64 oncpu_fam_ns[FAM_COUNT];
	__u64 kernel_ns;
};

/*
 * Per-thread state, keyed by TID; its presence is what marks a thread as
 * traced. Userspace creates it for the threads that exist when tracing
 * starts, the kernel side for every thread created after.
 */
struct thread_state {
	__u64 start_ns;	    /* thread creation or start of tracing */
	__u64 first_run_ns; /* new process not yet on CPU: creation time */
	__u32 tgid;
	__u32 pad;

	/* syscall in flight */
	__u64 sys_start;
	__u64 off_start; /* went off CPU inside the syscall at */
	__u64 off_ns;	 /* off-CPU time inside the syscall so far */
	__u64 arg0;	 /* class specific: mmsg vector, mapping address */
	__u64 arg1;	 /* class specific: mapping length, a datagram's peer address */
	struct ipc_endpoint ep;
	__u8 sys_class; /* enum sys_class in the BPF code */
	__u8 dir;
	__u8 mmsg;
	__u8 peer_at_exit; /* unconnected UDP read: its peer is at arg1 once it returns */
	__u8 poll_kind;	   /* SYS_POLL: enum poll_kind, what arg0 points at (arg1: its length) */
	__u8 hold_start;   /* a forked child of a process with serializer
			    * uprobes: at its first return to user mode,
			    * enum hold_start says how it waits for its own */

	/* precise probes (fentry/kprobe): nested calls count once */
	__u32 copy_depth;
	__u32 fault_depth;
	__u32 kfn_depth;
	__u32 fault_act;
	__u64 copy_start;
	__u64 copy_fault; /* fault time inside the current copy */
	__u64 copy_acc;	  /* copy time in the current syscall */
	__u64 fault_start;
	__u64 kfn_start;
	__u64 kfn_acc; /* time in pipe/unix-socket code in the current syscall */

	/* serializer in flight (nested calls count once) */
	__u32 ser_depth;
	__u32 ser_kind;
	__u64 ser_start;
	__u64 ser_nested; /* syscall time spent inside the serializer */

	/*
	 * Page faults of this thread, folded into its process when it exits
	 * (and summed with the live threads' at collection): the fault hook
	 * runs ~100k times a second under load, so it touches only this
	 * entry, with no atomics and no process lookup.
	 */
	__u64 faults[ACT_COUNT][FT_COUNT];
	__u64 faults_kernel;
	struct ipc_acc ipc; /* likewise its IPC syscall totals */
	struct fd_cache fdc;
	__u64 proc_start_ns; /* its process's start, for ACT_POST_FORK */
	__u32 proc_flags;    /* PROC_* of its process */
	__u32 pad3;
	/* Python call site (index + 1 in `sites`, 0: none) of the IPC call
	 * and of the outermost serializer call in flight */
	__u32 ipc_site;
	__u32 ser_site;
	/* a Queue feeder thread pickling an object that Queue.put() handed
	 * over: the put's call site, for this serialization and the writes
	 * that follow it (until the thread's next serializer call) */
	__u32 handoff_site;
	__u32 pad4;
	/* the page fault in progress is on a shared segment (bpf/shared.bpf.h):
	 * its key and the RSS counter's value before it */
	struct seg_key fault_seg;
	__s64 fault_rss;    /* the counter as the fault's CPU saw it (rss_here) */
	__u32 fault_member; /* enum mm counter the fault's pages land in */
	__u32 fault_cpu;    /* the CPU that fault_rss was read on */
	__u32 msg_pass;	    /* sendmsg/recvmsg in flight: look for SCM_RIGHTS */
	__u32 pad5;
};

/*
 * Python call sites (bpf/pyframes.bpf.h). For a traced CPython process,
 * userspace says where its runtime is and how version's structs are laid
 * out; at each IPC syscall and serializer call the BPF side walks the
 * calling thread's frames into a py_stack, gives each distinct stack a
 * site index, and sums what happened there. Code objects are copied out
 * (names, first line, line table) the first time they are seen, so that
 * call sites of processes that exit before the report still resolve.
 */
#define IPCPROF_PY_DEPTH     12	  /* frames kept per stack, innermost first */
#define IPCPROF_MAX_SITES    4096 /* distinct stacks */
#define IPCPROF_PY_STR	     96	  /* file and function names, bytes */
#define IPCPROF_PY_LINETABLE 512  /* line table bytes kept per code object */

/* Byte offsets of what the walk reads, for one CPython version. */
struct py_offsets {
	__u16 runtime_interp_head; /* _PyRuntimeState.interpreters.head */
	__u16 interp_threads_head; /* PyInterpreterState.threads.head */
	__u16 ts_next;		   /* PyThreadState.next */
	__u16 ts_native_tid;	   /* PyThreadState.native_thread_id */
	__u16 ts_cframe;	   /* PyThreadState.cframe */
	__u16 cframe_current;	   /* _PyCFrame.current_frame */
	__u16 frame_code;	   /* _PyInterpreterFrame.f_code */
	__u16 frame_previous;	   /* _PyInterpreterFrame.previous */
	__u16 frame_prev_instr;	   /* _PyInterpreterFrame.prev_instr */
	__u16 code_filename;	   /* PyCodeObject.co_filename */
	__u16 code_qualname;	   /* PyCodeObject.co_qualname */
	__u16 code_firstlineno;	   /* PyCodeObject.co_firstlineno */
	__u16 code_linetable;	   /* PyCodeObject.co_linetable (bytes) */
	__u16 code_adaptive;	   /* PyCodeObject._co_code_adaptive */
	__u16 bytes_size;	   /* PyVarObject.ob_size */
	__u16 bytes_data;	   /* PyBytesObject.ob_sval */
	__u16 str_state;	   /* PyASCIIObject.state */
	__u16 str_ascii_data;	   /* sizeof(PyASCIIObject) */
	__u16 frame_localsplus;	   /* _PyInterpreterFrame.localsplus */
	__u16 pad;
};

struct py_proc {
	__u64 runtime; /* address of _PyRuntime in the process */
	struct py_offsets off;
};

struct py_frame {
	__u64 code;  /* code object address */
	__u32 instr; /* index of the instruction executing (code units) */
	__u32 pad;
};

/* The key of a call site: a process and its innermost frames. */
struct py_stack {
	__u32 tgid;
	__u32 depth;
	struct py_frame f[IPCPROF_PY_DEPTH];
};

/* An object given to multiprocessing's Queue.put(), not yet pickled by
 * the queue's feeder thread. */
struct py_handoff_key {
	__u32 tgid;
	__u32 pad;
	__u64 obj; /* the object's address */
};

struct py_code_key {
	__u32 tgid;
	__u32 pad;
	__u64 code;
};

struct py_code {
	char filename[IPCPROF_PY_STR];
	char qualname[IPCPROF_PY_STR];
	__u32 firstlineno;
	__u32 linetable_len; /* bytes kept (the table may be longer) */
	__u8 linetable[IPCPROF_PY_LINETABLE];
};

/* What happened at one call site. */
struct site_stats {
	__u64 ipc_calls;
	__u64 bytes_written;
	__u64 bytes_read;
	__u64 syscall_ns; /* on CPU inside its IPC calls */
	__u64 blocked_ns; /* off CPU inside them */
	__u64 serialize_calls;
	__u64 serialize_ns; /* serializer time, its page faults included */
	__u64 deserialize_calls;
	__u64 deserialize_ns;
	/* page faults taken inside its serializer and IPC calls (exact) */
	__u64 faults[FT_COUNT];
};

enum event_type {
	EV_EXEC = 1,  /* held at exec: plan and attach its uprobes, continue it */
	EV_SLICE = 2, /* --timeline only */
	EV_FORK = 3,  /* held after fork: attach its uprobes, continue it */
};

/* What a timeline slice shows. */
enum slice_kind {
	SL_SERIALIZE = 0,
	SL_DESERIALIZE = 1,
	SL_IPC = 2,	/* one IPC syscall */
	SL_BLOCKED = 3, /* off CPU inside it */
	SL_COPY = 4,	/* user copy inside it (precise probes only) */
	SL_FORK = 5,
	SL_MMAP = 6,
	SL_FAULTS = 7, /* a process's page faults in one bucket: ret = how many */
	SL_COUNT = 8,
};

/* --timeline FILE.perfetto-trace: page faults are counted per process in
 * buckets of this length, each sent as one SL_FAULTS record. */
#define IPCPROF_FAULT_BUCKET_NS (10 * 1000 * 1000ull)

/* A process's page faults in its current bucket (map fault_buckets). */
struct fault_bucket {
	__u64 bucket; /* time / IPCPROF_FAULT_BUCKET_NS */
	__u64 count;
};

/* One interval of one thread, for --timeline. */
struct slice_event {
	__u32 type; /* EV_SLICE */
	__u32 kind; /* enum slice_kind */
	__u32 tgid;
	__u32 tid;
	__u64 start_ns;
	__u64 end_ns;
	__s64 ret;	/* SL_IPC: bytes moved or -errno */
	__u64 off_ns;	/* SL_IPC: off CPU inside */
	__u64 chan_ino; /* SL_IPC: the channel (as in struct chan_key) */
	__u32 chan_dev;
	__u8 chan_kind;
	__u8 dir;
	__u16 pad;
	__u32 site; /* SL_IPC, SL_(DE)SERIALIZE: Python call site + 1, or 0 */
	__u32 pad2;
};

/* Sent through the ring buffer: userspace must act on these right away. */
struct event {
	__u32 type;
	__u32 tgid;
	__u64 ts_ns;
	char comm[IPCPROF_COMM_LEN];
	__u32 held;  /* EV_EXEC/EV_FORK: stopped until userspace answers */
	__u32 gated; /* EV_FORK sent once the child was placed: answer
		      * through fork_gate */
};

/*
 * A forked child of a probed process must not run its serializer before its
 * own uprobes exist. It used to stop at its first return to user mode and
 * send its event from there, ~0.4 ms (median) before userspace had attached
 * them and continued it. But that first return comes ~0.5 ms (median) after
 * the fork here: the event now leaves as soon as the scheduler has placed
 * the child, and userspace often attaches before the child gets that far.
 * Each child's slot in fork_gate (bpf/lifecycle.bpf.h) decides, by
 * compare-and-swap from both sides, whether the child found its probes
 * ready or stopped and must be continued.
 */
#define FORK_GATE_SLOTS	       1024 /* a power of 2; a busy slot: stop as before */
#define GATE_SLOT(tgid)	       ((tgid) & (FORK_GATE_SLOTS - 1))
#define GATE_WORD(tgid, state) (((__u64)(tgid) << 8) | (state))

enum gate_state {
	GATE_ATTACHING = 1, /* event sent, userspace attaching */
	GATE_ATTACHED = 2,  /* its uprobes exist: the child goes on */
	GATE_STOPPING = 3,  /* the child is queuing its SIGSTOP: userspace waits */
	GATE_STOPPED = 4,   /* stop queued, `held` entry made: userspace continues it */
};

enum hold_start {
	HOLD_NONE = 0,
	HOLD_STOP = 1,	   /* stop at once and send EV_FORK (no gate slot) */
	HOLD_GATED = 2,	   /* EV_FORK sent when placed: ask fork_gate */
	HOLD_ANNOUNCE = 3, /* slot taken, EV_FORK not sent yet */
};

#endif /* IPCPROF_H */
