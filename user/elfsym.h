/* SPDX-License-Identifier: MIT */
/* ELF symbol lookup with libelf, for placing uprobes. */
#ifndef IPCPROF_ELFSYM_H
#define IPCPROF_ELFSYM_H

#include <stdbool.h>
#include <stdint.h>

/* Which file an offset was read from: the probe is attached to that one. */
struct file_id {
	uint64_t dev, ino;
};

/*
 * Find function `name` in the ELF file at `path` (.symtab first, then
 * .dynsym) and return the file offset a uprobe must use, and (id, unless
 * NULL) which file that was. Compiler clones such as "name.isra.0" match
 * too when there is no exact symbol. Returns 0, -ENOENT when there is no
 * such symbol, or another -errno (-ENOEXEC: not an ELF file).
 */
int elf_symbol_offset(const char *path, const char *name, uint64_t *offset, struct file_id *id);

/*
 * Open `path` for attaching a probe, only if it is still the file `id`
 * names: a program that swaps the path for a link to another file between
 * planning and attaching cannot move our offset into that file. Returns the
 * descriptor (attach through /proc/self/fd/N) or -errno (-ESTALE: swapped).
 */
int file_open_same(const char *path, const struct file_id *id);

/*
 * Data symbol `name` (STT_OBJECT, exact name) of the ELF file at `path`: its
 * virtual address, its file offset, and whether the file is loaded at an
 * address of the kernel's or loader's choice (ET_DYN: `vaddr` is then
 * relative to where it was mapped). Returns 0, -ENOENT or another -errno.
 */
int elf_data_symbol(const char *path, const char *name, uint64_t *vaddr, uint64_t *offset,
		    bool *pie);

/* True when the file still has a .symtab (not stripped). */
bool elf_has_symtab(const char *path);

/*
 * The first DT_NEEDED library of `path` whose name starts with `prefix`,
 * resolved like the dynamic loader would (DT_RUNPATH/DT_RPATH with $ORIGIN,
 * then the default directories). Returns a malloc'ed path or NULL.
 */
char *elf_find_needed(const char *path, const char *prefix);

#endif
