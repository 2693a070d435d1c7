// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * The floor under ipcprof's per-event cost: empty programs on the very
 * hooks ipcprof attaches for every task (bpf/syscalls.bpf.h, sched.bpf.h,
 * faults.bpf.h, lifecycle.bpf.h). What a workload loses with these alone,
 * no BPF program on these tracepoints can avoid; what ipcprof loses beyond
 * it is its own work. Loaded by scripts/bench/empty_hooks.c.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("tp_btf/sys_enter")
int BPF_PROG(empty_sys_enter, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(empty_sys_exit, struct pt_regs *regs, long ret)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(empty_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(empty_fault_user, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	return 0;
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(empty_fault_kernel, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(empty_fork, struct task_struct *parent, struct task_struct *child)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(empty_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(empty_exit, struct task_struct *p)
{
	return 0;
}
