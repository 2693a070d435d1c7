// SPDX-License-Identifier: MIT
#include "uprobe_multi.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* BPF_LINK_CREATE's attribute for uprobe_multi, as in the 6.6+ uapi. */
struct link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 uprobe_flags;
	__u32 pid;
	__u32 pad;
};

static int link_create(int prog_fd, const char *path, const uint64_t *offsets,
		       const uint64_t *cookies, uint32_t cnt, bool ret, uint32_t pid)
{
	/* as large as the kernel's bpf_attr, the tail zeroed */
	union {
		struct link_create_uprobe_multi a;
		char whole[160];
	} attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.a.prog_fd = (__u32)prog_fd;
	attr.a.attach_type = IPCPROF_BPF_TRACE_UPROBE_MULTI;
	attr.a.path = (__u64)(uintptr_t)path;
	attr.a.offsets = (__u64)(uintptr_t)offsets;
	attr.a.cookies = (__u64)(uintptr_t)cookies;
	attr.a.cnt = cnt;
	attr.a.uprobe_flags = ret ? IPCPROF_BPF_F_UPROBE_MULTI_RETURN : 0;
	attr.a.pid = pid;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

bool uprobe_multi_supported(void)
{
	const struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = (enum bpf_attach_type)IPCPROF_BPF_TRACE_UPROBE_MULTI);
	uint64_t off = 0;
	int prog, rc;

	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "ipcprof_um", "GPL", insns, 2, &opts);
	if (prog < 0)
		return false;
	/*
	 * A real file and a PID that cannot exist: a kernel with uprobe_multi
	 * gets as far as looking the PID up (ESRCH) and attaches nothing; an
	 * older one rejects the attach type (EINVAL).
	 */
	rc = link_create(prog, "/proc/self/exe", &off, NULL, 1, false, 0x7ffffffe);
	if (rc >= 0)
		close(rc);
	close(prog);
	return rc == -ESRCH;
}

int uprobe_multi_attach(int prog_fd, const char *path, const uint64_t *offsets,
			const uint64_t *cookies, uint32_t cnt, bool ret, pid_t pid)
{
	return link_create(prog_fd, path, offsets, cookies, cnt, ret, (uint32_t)pid);
}
