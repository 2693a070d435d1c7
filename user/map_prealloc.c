// SPDX-License-Identifier: MIT
#include "map_prealloc.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

bool perf_event_takes_dynamic_maps(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_NO_PREALLOC);
	int map = bpf_map_create(BPF_MAP_TYPE_HASH, "ipcprof_np", 4, 4, 1, &mopts);
	int prog;

	if (map < 0)
		return false;
	{
		/* *(u32 *)(fp - 4) = 0; r0 = lookup(map, fp - 4); r0 = 0; exit */
		const struct bpf_insn insns[] = {
		    {.code = BPF_ST | BPF_MEM | BPF_W, .dst_reg = BPF_REG_10, .off = -4, .imm = 0},
		    {.code = BPF_LD | BPF_DW | BPF_IMM,
		     .dst_reg = BPF_REG_1,
		     .src_reg = BPF_PSEUDO_MAP_FD,
		     .imm = map},
		    {0},
		    {.code = BPF_ALU64 | BPF_MOV | BPF_X,
		     .dst_reg = BPF_REG_2,
		     .src_reg = BPF_REG_10},
		    {.code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = -4},
		    {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_map_lookup_elem},
		    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		    {.code = BPF_JMP | BPF_EXIT},
		};

		prog = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, "ipcprof_np", "GPL", insns,
				     sizeof(insns) / sizeof(insns[0]), NULL);
	}
	close(map);
	if (prog < 0)
		return false;
	close(prog);
	return true;
}
