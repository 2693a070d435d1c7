// SPDX-License-Identifier: MIT
/* libFuzzer: the ELF symbol reader (libelf) on files a traced program could
 * hand us: symbol lookup, the stripped check, DT_NEEDED resolution and the
 * PyMethodDef tables of stripped interpreters. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "elf_pymethods.h"
#include "elfsym.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size);
	const struct py_method want[] = {
	    {"dumps", "Return the pickled representation of the object"},
	    {"loads", "Read and return an object from the given pickle data"},
	};
	uint64_t off, offs[2];
	struct file_id id;
	int fd;

	elf_symbol_offset(path, "save", &off, NULL);
	if (elf_symbol_offset(path, "_pickle_Pickler_dump", &off, &id) == 0 &&
	    (fd = file_open_same(path, &id)) >= 0)
		close(fd);
	elf_has_symtab(path);
	free(elf_find_needed(path, "libpython"));
	elf_py_method_offsets(path, want, 2, offs, &id);
	return 0;
}
