// SPDX-License-Identifier: MIT
#include "kallsyms.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The routines that actually move bytes between user memory and kernel
 * buffers, across kernel versions (older ones use copy_user_generic_*,
 * 6.x uses rep_movs_alternative under the *_iter wrappers). */
const char *const copy_routines[] = {
    "rep_movs_alternative",
    "copy_user_generic_string",
    "copy_user_generic_unrolled",
    "copy_user_enhanced_fast_string",
    "_copy_to_iter",
    "_copy_from_iter",
    "copy_page_to_iter",
    "copy_page_from_iter",
    "_copy_to_user",
    "_copy_from_user",
    "copyin",
    "copyout",
    "copy_to_user_iter",
    "copy_from_user_iter",
    NULL,
};

static const char *const fault_routines[] = {
    "exc_page_fault", "do_user_addr_fault", "handle_mm_fault", "__handle_mm_fault", NULL,
};

#define KALLSYMS_IOBUF (1 << 20)

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_range(const void *a, const void *b)
{
	const struct code_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int wanted_class(const char *name)
{
	for (int i = 0; copy_routines[i]; i++)
		if (!strcmp(name, copy_routines[i]))
			return CODE_COPY;
	for (int i = 0; fault_routines[i]; i++)
		if (!strcmp(name, fault_routines[i]))
			return CODE_FAULT;
	return 0;
}

/*
 * "ffffffff81000000 T _stext [module]": address, type and name, split in
 * place. sscanf on each of the ~200k lines was most of ipcprof's start-up.
 */
static bool parse_line(char *line, uint64_t *addr, char *type, char **name)
{
	char *end, *nl;

	*addr = strtoull(line, &end, 16);
	if (end == line || end[0] != ' ' || !end[1] || end[2] != ' ')
		return false;
	*type = end[1];
	*name = end + 3;
	nl = strpbrk(*name, " \t\n");
	if (nl)
		*nl = '\0';
	return **name != '\0';
}

int kallsyms_code_ranges(const char *path, struct code_range *out, int max)
{
	FILE *f = fopen(path, "r");
	uint64_t *addrs = NULL;
	size_t n = 0, cap = 0;
	int found = 0, err = 0;
	bool all_zero = true;
	char line[512], *iobuf;

	if (!f)
		return -errno;
	/* /proc reports 1 KiB blocks: one read per ~30 symbols without a
	 * buffer of our own (glibc ignores the size when given no buffer) */
	iobuf = malloc(KALLSYMS_IOBUF);
	if (iobuf)
		setvbuf(f, iobuf, _IOFBF, KALLSYMS_IOBUF);
	while (fgets(line, sizeof(line), f)) {
		uint64_t addr;
		char type, *name;

		if (!parse_line(line, &addr, &type, &name))
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (addr)
			all_zero = false;
		if (n == cap) {
			uint64_t *tmp;

			cap = cap ? cap * 2 : 65536;
			tmp = realloc(addrs, cap * sizeof(*addrs));
			if (!tmp) {
				err = -ENOMEM;
				goto cleanup;
			}
			addrs = tmp;
		}
		addrs[n++] = addr;
		if (found < max) {
			int cls = wanted_class(name);

			if (cls) {
				out[found].start = addr;
				out[found].end = 0;
				out[found].cls = cls;
				out[found].pad = 0;
				found++;
			}
		}
	}
	if (all_zero) {
		err = n ? -EPERM : -ENOENT;
		goto cleanup;
	}
	qsort(addrs, n, sizeof(*addrs), cmp_u64);
	for (int i = 0; i < found; i++) {
		/* first address strictly above the start is the routine's end */
		size_t lo = 0, hi = n;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (addrs[mid] <= out[i].start)
				lo = mid + 1;
			else
				hi = mid;
		}
		out[i].end = lo < n ? addrs[lo] : out[i].start + 4096;
	}
	/* the BPF side binary-searches them */
	qsort(out, (size_t)found, sizeof(*out), cmp_range);
cleanup:
	free(addrs);
	fclose(f);
	free(iobuf);
	return err ? err : found;
}
