// SPDX-License-Identifier: MIT
/* libFuzzer: the ELF symbol reader (libelf) on files a traced program could
 * hand us: symbol lookup, the stripped check and DT_NEEDED resolution. */
#include <stdint.h>
#include <stdlib.h>

#include "elfsym.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size);
	uint64_t off;

	elf_symbol_offset(path, "save", &off);
	elf_symbol_offset(path, "_pickle_Pickler_dump", &off);
	elf_has_symtab(path);
	free(elf_find_needed(path, "libpython"));
	return 0;
}
