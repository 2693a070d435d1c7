/* SPDX-License-Identifier: MIT */
/* ELF symbol lookup with libelf, for placing uprobes. */
#ifndef IPCPROF_ELFSYM_H
#define IPCPROF_ELFSYM_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Find function `name` in the ELF file at `path` (.symtab first, then
 * .dynsym) and return the file offset a uprobe must use. Compiler clones
 * such as "name.isra.0" match too when there is no exact symbol.
 * Returns 0, -ENOENT when there is no such symbol, or another -errno
 * (-ENOEXEC: not an ELF file).
 */
int elf_symbol_offset(const char *path, const char *name, uint64_t *offset);

/* True when the file still has a .symtab (not stripped). */
bool elf_has_symtab(const char *path);

/*
 * The first DT_NEEDED library of `path` whose name starts with `prefix`,
 * resolved like the dynamic loader would (DT_RUNPATH/DT_RPATH with $ORIGIN,
 * then the default directories). Returns a malloc'ed path or NULL.
 */
char *elf_find_needed(const char *path, const char *prefix);

#endif
