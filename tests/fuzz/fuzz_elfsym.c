// SPDX-License-Identifier: MIT
/* libFuzzer: the ELF symbol reader (libelf) on files a traced program could
 * hand us: symbol lookup, the stripped check and DT_NEEDED resolution. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "elfsym.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size);
	struct file_id id;
	uint64_t off;
	int fd;

	elf_symbol_offset(path, "save", &off, NULL);
	if (elf_symbol_offset(path, "_pickle_Pickler_dump", &off, &id) == 0 &&
	    (fd = file_open_same(path, &id)) >= 0)
		close(fd);
	elf_has_symtab(path);
	free(elf_find_needed(path, "libpython"));
	return 0;
}
