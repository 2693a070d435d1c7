// SPDX-License-Identifier: MIT
/* libFuzzer: the /proc/kallsyms parser. */
#include <stdint.h>

#include "fuzz_file.h"
#include "kallsyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct code_range r[IPCPROF_MAX_COPY_RANGES];

	kallsyms_code_ranges(fuzz_file(data, size), r, IPCPROF_MAX_COPY_RANGES);
	return 0;
}
