// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* Configuration, health counters, the traced-TGID bitmap and every map. */
#ifndef __IPCPROF_MAPS_BPF_H__
#define __IPCPROF_MAPS_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ipcprof.h"

#define MAX_PROCS   8192
#define MAX_THREADS 16384
/* a DataLoader makes two hand-off connections a batch, hundreds a second:
 * 4096 ends overflowed between two folds of idle channels */
#define MAX_CHANS 16384
/* fault handling sits ~10 frames under the leaf (clear_page <- ... <- exc_page_fault) */
#define STACK_DEPTH  24
#define CLONE_THREAD 0x00010000
#define MAP_SHARED   0x01
#define SIGSTOP	     19

/* Configuration, set by userspace between open and load. */
const volatile bool follow_children = true;
const volatile bool stop_on_exec = false;
const volatile __u64 post_fork_ns = 100000000;
const volatile bool timeline = false;			  /* stream slices for --timeline */
const volatile bool timeline_faults = false;		  /* ... and page faults per bucket */
const volatile __u8 sys_kinds[IPCPROF_MAX_SYSCALLS] = {}; /* enum sys_kind */

/* Kernel code the sampler recognizes (copy and fault routines), sorted.
 * Written by userspace after load and before the sampler starts, not as
 * rodata before it: reading /proc/kallsyms (~40 ms) then overlaps the load
 * instead of delaying it. */
__u32 n_code_ranges = 0;
struct code_range code_ranges[IPCPROF_MAX_COPY_RANGES] = {};

/* Health counters read by userspace at the end. */
__u64 lost_events = 0;	  /* ring buffer full */
__u64 map_full = 0;	  /* an entry could not be created */
__u64 seeded_off_cpu = 0; /* attach: threads found off CPU (seed.bpf.h) */
__u64 seeded_in_ipc = 0;  /* ... of which inside an IPC read or write */
__u64 proc_exits = 0;	  /* traced processes that exited: userspace folds them */
__u64 gate_passed = 0;	  /* forked children that found their uprobes ready */
__u64 gate_stopped = 0;	  /* ... that stopped until they were */

/* Set by userspace when tracing ends: hold no more processes. */
volatile __u32 release_all = 0;

/*
 * The traced processes again, as a bitmap over TGIDs (PID_MAX_LIMIT is
 * 2^22: 512 KiB). The syscall, scheduler and page-fault hooks run for every
 * task on the machine: they test a bit before any hash lookup, so that
 * untraced processes pay a few instructions. Set and cleared with the
 * `traced` map (userspace sets the bits of attached processes).
 */
__u64 traced_bits[IPCPROF_TGID_LIMIT / 64] = {};

/*
 * The word of `tgid`'s bit. The kernel never hands out a PID at or above
 * PID_MAX_LIMIT, so the mask only bounds the index for the verifier (a
 * range check instead would be optimized into a copy it cannot see).
 */
#define TGID_WORD(tgid) (((tgid) / 64) & (IPCPROF_TGID_LIMIT / 64 - 1))

static __always_inline bool tgid_traced(__u32 tgid)
{
	return traced_bits[TGID_WORD(tgid)] & (1ull << (tgid % 64));
}

static __always_inline void tgid_mark(__u32 tgid, bool on)
{
	if (on)
		__sync_fetch_and_or(&traced_bits[TGID_WORD(tgid)], 1ull << (tgid % 64));
	else
		__sync_fetch_and_and(&traced_bits[TGID_WORD(tgid)], ~(1ull << (tgid % 64)));
}

enum ser_kind {
	SER_SERIALIZE = 0,
	SER_DESERIALIZE = 1,
	SER_HANDOFF = 2, /* not a serializer: Queue.put's SemLock.acquire */
};

/*
 * Hash maps are preallocated unless BPF_F_NO_PREALLOC: filling their free
 * lists took ~40 ms of every start-up. Maps the sampler reads (threads,
 * procs, ser_code) stay preallocated, as the verifier demands for
 * perf_event programs; the others allocate an entry when one is created
 * (a new process, channel or code object), with the kernel's BPF memory
 * allocator, safe in tracing programs since 6.1.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct thread_state);
} threads SEC(".maps");

/*
 * Processes whose serializer was called too often for exact probes (each
 * uprobe pair costs microseconds): userspace removed their uprobes and
 * puts their serializer's code here, and the sampler counts user-mode
 * samples inside it instead.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct code_span);
} ser_code SEC(".maps");

/* Processes with serializer uprobes of their own (set by userspace). Their
 * forked children inherit the breakpoints but not the probes' PID filter,
 * so they must not run their serializer before userspace has attached
 * theirs (fork_gate below). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, __u8);
} probed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, struct proc_stats);
} procs SEC(".maps");

/* Forked children's gates (include/ipcprof.h), one word a slot. Userspace
 * maps this array to compare-and-swap the same words; its mapping outlives
 * the map's descriptor, for the events read after the programs are gone. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FORK_GATE_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} fork_gate SEC(".maps");

/* Processes stopped by a hold, and since when: userspace deletes each as it
 * sends SIGCONT; should ipcprof die first, its watchdog (user/watchdog.c)
 * continues whatever is left here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} held SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MAX_CHANS);
	__type(key, struct chan_key);
	__type(value, struct chan_stats);
} chans SEC(".maps");

/* Shared mappings created by traced processes, so munmap can be matched. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct shm_key);
	__type(value, __u64);
} shm SEC(".maps");

/*
 * Receiving socket inode -> sending socket inode, learnt from writes. A
 * reader whose peer has already closed can no longer reach the peer's inode
 * through its sock, but the bytes it reads still came from that peer.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} sock_sender SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* Scratch space for a new process entry (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proc_stats);
} new_proc SEC(".maps");

/* Scratch space for a new thread's state (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct thread_state);
} new_thread SEC(".maps");

/* Zero value used to create map entries (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct chan_stats);
} zero_chan SEC(".maps");

/*
 * The entry of `key`, made from `init` if there is none (as libbpf-tools'
 * bpf_map_lookup_or_try_init): NOEXIST, because another CPU may have made
 * it meanwhile; counted in map_full when the map has no room.
 */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		__sync_fetch_and_add(&map_full, 1);
	return v;
}

#endif /* __IPCPROF_MAPS_BPF_H__ */
