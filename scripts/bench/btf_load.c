// SPDX-License-Identifier: MIT
/*
 * How long libbpf takes to parse the kernel's BTF, the largest single part
 * of ipcprof's start-up (docs/BENCHMARKS.md, "Start-up and teardown"):
 *   cc -O2 -o /tmp/btf_load scripts/bench/btf_load.c -lbpf
 *   for i in $(seq 10); do /tmp/btf_load; done
 */
#include <bpf/btf.h>
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec a, b;
	struct btf *btf;

	clock_gettime(CLOCK_MONOTONIC, &a);
	btf = btf__load_vmlinux_btf();
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (!btf) {
		perror("btf__load_vmlinux_btf");
		return 1;
	}
	printf("%.1f ms\n",
	       (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	btf__free(btf);
	return 0;
}
