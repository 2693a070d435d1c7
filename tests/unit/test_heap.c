// SPDX-License-Identifier: MIT
/* The start-up heap: advised for transparent huge pages, then back to normal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heap.h"

/* The mapping of /proc/self/smaps holding addr: its name, resident KiB
 * and VmFlags. */
static bool mapping_of(const void *addr, char *name, size_t nlen, unsigned long *rss_kb,
		       char *flags, size_t flen)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		int off = 0;

		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) == 2 && off) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			if (in) {
				snprintf(name, nlen, "%s", line + off);
				name[strcspn(name, "\n")] = '\0';
			}
		} else if (in && !strncmp(line, "Rss:", 4)) {
			*rss_kb = strtoul(line + 4, NULL, 10);
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, flen, "%s", line + 8);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

/* The kernel offers huge pages to madvise() (mode "always" or "madvise"). */
static bool thp_advisable(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char mode[128] = "";

	if (!f)
		return false;
	if (!fgets(mode, sizeof(mode), f))
		mode[0] = '\0';
	fclose(f);
	return strstr(mode, "[always]") || strstr(mode, "[madvise]");
}

static void test_begin_advises_the_heap_end_gives_it_back(void **state)
{
	char name[256], flags[256];
	unsigned long rss_kb = 0;
	char *big, *kept;

	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	skip(); /* ASan's allocator, not glibc's heap */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	skip();
#endif
#endif
	if (!thp_advisable())
		skip();
	heap_huge_begin(16u << 20);
	/* a buffer as large as libbpf's copy of the kernel's BTF, then
	 * something allocated after it that stays (as the skeleton does) */
	big = malloc(6u << 20);
	assert_non_null(big);
	memset(big, 1, 6u << 20);
	kept = malloc(64);
	assert_non_null(kept);
	/* above the buffer, not in a hole below it: else the trim below
	 * could return big's pages without heap_huge_end's help */
	assert_true(kept > big);
	assert_true(
	    mapping_of(big + (3u << 20), name, sizeof(name), &rss_kb, flags, sizeof(flags)));
	assert_string_equal(name, "[heap]");
	assert_non_null(strstr(flags, " hg"));
	assert_true(rss_kb >= 5u << 10); /* most of the 6 MiB just written */
	/* freed below a live allocation: no trim of the top can return it,
	 * heap_huge_end must release its pages */
	free(big);
	heap_huge_end();
	assert_true(mapping_of(kept, name, sizeof(name), &rss_kb, flags, sizeof(flags)));
	assert_true(rss_kb < 2u << 10);
	/* and the advice taken back: no 2 MiB fault for a small malloc later */
	assert_null(strstr(flags, " hg"));
	assert_non_null(strstr(flags, " nh"));
	free(kept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_begin_advises_the_heap_end_gives_it_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
