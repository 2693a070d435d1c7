// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * ipcprof kernel side: follows a process tree and accounts the time its
 * threads spend serializing, inside IPC syscalls (on and off CPU), forking
 * and setting up shared mappings. Everything is aggregated here, per process
 * (procs, and per thread where only the thread writes) and per channel
 * (chans); the ring buffer carries only the exec and fork holds, which
 * userspace answers at once with the process's uprobes (and --timeline
 * slices).
 *
 * One object, one concern per header:
 *   maps.bpf.h         configuration (rodata), counters, traced-TGID bitmap, maps
 *   current.bpf.h      the current thread's state and what it is doing
 *   timeline.bpf.h     --timeline slices
 *   lifecycle.bpf.h    fork, exec, exit; holds until uprobes are attached
 *   sched.bpf.h        off-CPU (blocked and wait) time
 *   seed.bpf.h         attach: threads already asleep when tracing starts
 *   syscalls.bpf.h     IPC, fork and mmap syscalls, per channel
 *   serializers.bpf.h  serializer uprobes
 *   pyframes.bpf.h     Python call sites of IPC and serializer calls
 *   faults.bpf.h       page-fault counts (x86 tracepoints)
 *   sampling.bpf.h     the cpu-clock sampler (copy/fault/serializer shares)
 *   precise.bpf.h      fentry/fexit and kprobe timers, where the kernel has them
 *
 * The core needs tp_btf, uprobes, perf events and a task iterator only: the kernels we target
 * may have neither kprobes nor BPF trampolines. Where they exist, the precise
 * probes time copies, faults, fork and mmap exactly (userspace picks fentry,
 * kprobe or nothing per function, by trying).
 */
#include "maps.bpf.h"

#include "faults.bpf.h"
#include "lifecycle.bpf.h"
#include "precise.bpf.h"
#include "sampling.bpf.h"
#include "sched.bpf.h"
#include "seed.bpf.h"
#include "serializers.bpf.h"
#include "syscalls.bpf.h"

/* GPL-compatible: bpf_send_signal, bpf_probe_read_* and bpf_get_stack need it. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
