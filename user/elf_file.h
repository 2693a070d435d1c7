/* SPDX-License-Identifier: MIT */
/*
 * Opening ELF files the traced programs control, shared by the symbol and
 * the method-table readers (elfsym.c, elf_pymethods.c).
 */
#ifndef IPCPROF_ELF_FILE_H
#define IPCPROF_ELF_FILE_H

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>

#include "elfsym.h"

/* Open without blocking, regular files of sane size only, mapped by libelf.
 * NULL with errno set on failure (ENOEXEC: not an acceptable ELF file). */
Elf *elf_open_untrusted(const char *path, int *fd, struct file_id *id);
void elf_close_file(Elf *elf, int fd);

/* Virtual address -> file offset through the PT_LOAD segment holding it. */
int elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off);

/* A table section whose entry size is the ELF class's own and whose data is
 * whole (a hostile file could claim 1-byte entries). */
bool elf_entries_ok(Elf *elf, const GElf_Shdr *sh, const Elf_Data *data, Elf_Type type);

/* The first section of `type`, or NULL. */
Elf_Scn *elf_find_section(Elf *elf, uint32_t type);

#endif
