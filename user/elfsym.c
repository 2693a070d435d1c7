// SPDX-License-Identifier: MIT
#include "elfsym.h"
#include "elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Larger than any interpreter or library we would probe. */
#define ELF_MAX_SIZE (1ull << 30)

/*
 * The paths come from the traced program (/proc/PID/exe, its mappings, its
 * DT_NEEDED): open without blocking (a FIFO would hang us while the program
 * is held), accept regular files of sane size only, and let libelf map the
 * file rather than read all of it.
 */
Elf *elf_open_untrusted(const char *path, int *fd, struct file_id *id)
{
	struct stat st;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0)
		return NULL;
	if (fstat(*fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > ELF_MAX_SIZE) {
		close(*fd);
		*fd = -1;
		errno = ENOEXEC;
		return NULL;
	}
	if (id) {
		id->dev = st.st_dev;
		id->ino = st.st_ino;
	}
	elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(*fd);
		*fd = -1;
		errno = ENOEXEC;
		return NULL;
	}
	return elf;
}

void elf_close_file(Elf *elf, int fd)
{
	elf_end(elf);
	close(fd);
}

/* Virtual address -> file offset through the PT_LOAD segment holding it. */
int elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* A table's entry size is the ELF class's own (a hostile file could claim
 * 1 byte and have us walk a section byte by byte), and its data is whole. */
bool elf_entries_ok(Elf *elf, const GElf_Shdr *sh, const Elf_Data *data, Elf_Type type)
{
	size_t size = gelf_fsize(elf, type, 1, EV_CURRENT);

	return size && sh->sh_entsize == size && data->d_size <= sh->sh_size &&
	       data->d_size % size == 0;
}

/* Search one symbol table for a `type` symbol; 2 = exact match, 1 = clone
 * match, 0 = none. */
static int search_symtab(Elf *elf, Elf_Scn *scn, const char *name, int type, uint64_t *vaddr)
{
	size_t len = strlen(name);
	Elf_Data *data = elf_getdata(scn, NULL);
	GElf_Shdr sh;
	int best = 0;

	if (!data || !gelf_getshdr(scn, &sh) || !elf_entries_ok(elf, &sh, data, ELF_T_SYM))
		return 0;
	for (size_t i = 0; i < data->d_size / sh.sh_entsize; i++) {
		GElf_Sym sym;
		const char *s;

		if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != type ||
		    !sym.st_value)
			continue;
		s = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!s || strncmp(s, name, len))
			continue;
		if (s[len] == '\0') {
			*vaddr = sym.st_value;
			return 2;
		}
		if (s[len] == '.' && !best) {
			*vaddr = sym.st_value;
			best = 1;
		}
	}
	return best;
}

Elf_Scn *elf_find_section(Elf *elf, uint32_t type)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return scn;
	}
	return NULL;
}

int elf_symbol_offset(const char *path, const char *name, uint64_t *offset, struct file_id *id)
{
	uint32_t types[] = {SHT_SYMTAB, SHT_DYNSYM};
	uint64_t vaddr = 0;
	int fd, err = -ENOENT;
	Elf *elf = elf_open_untrusted(path, &fd, id);

	if (!elf)
		return -errno;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		Elf_Scn *scn = elf_find_section(elf, types[i]);

		if (scn && search_symtab(elf, scn, name, STT_FUNC, &vaddr)) {
			err = elf_vaddr_to_offset(elf, vaddr, offset);
			break;
		}
	}
	elf_close_file(elf, fd);
	return err;
}

int elf_data_symbol(const char *path, const char *name, uint64_t *vaddr, uint64_t *offset,
		    bool *pie)
{
	uint32_t types[] = {SHT_SYMTAB, SHT_DYNSYM};
	int fd, err = -ENOENT;
	Elf *elf = elf_open_untrusted(path, &fd, NULL);
	GElf_Ehdr eh;

	if (!elf)
		return -errno;
	if (!gelf_getehdr(elf, &eh)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	*pie = eh.e_type == ET_DYN;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		Elf_Scn *scn = elf_find_section(elf, types[i]);

		if (scn && search_symtab(elf, scn, name, STT_OBJECT, vaddr) == 2) {
			err = elf_vaddr_to_offset(elf, *vaddr, offset);
			break;
		}
	}
cleanup:
	elf_close_file(elf, fd);
	return err;
}

bool elf_has_symtab(const char *path)
{
	int fd;
	Elf *elf = elf_open_untrusted(path, &fd, NULL);
	bool has;

	if (!elf)
		return false;
	has = elf_find_section(elf, SHT_SYMTAB) != NULL;
	elf_close_file(elf, fd);
	return has;
}

/* Try `dir/lib`, expanding $ORIGIN to the directory of `origin_file`. */
static char *try_dir(const char *dir, size_t dirlen, const char *lib, const char *origin_file)
{
	char d[PATH_MAX], buf[PATH_MAX];
	const char *slash;

	snprintf(d, sizeof(d), "%.*s", (int)dirlen, dir);
	if (!strncmp(d, "$ORIGIN", 7) || !strncmp(d, "${ORIGIN}", 9)) {
		const char *rest = d + (d[1] == '{' ? 9 : 7);

		slash = strrchr(origin_file, '/');
		snprintf(buf, sizeof(buf), "%.*s%s/%s", slash ? (int)(slash - origin_file) : 1,
			 slash ? origin_file : ".", rest, lib);
	} else {
		snprintf(buf, sizeof(buf), "%s/%s", d, lib);
	}
	if (access(buf, R_OK) == 0)
		return realpath(buf, NULL);
	return NULL;
}

static char *search_dirs(const char *dirs, const char *lib, const char *origin_file)
{
	const char *p = dirs;

	while (p && *p) {
		const char *colon = strchrnul(p, ':');
		char *hit = try_dir(p, (size_t)(colon - p), lib, origin_file);

		if (hit)
			return hit;
		p = *colon ? colon + 1 : NULL;
	}
	return NULL;
}

char *elf_find_needed(const char *path, const char *prefix)
{
	static const char default_dirs[] =
	    "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib:"
	    "/usr/local/lib";
	const char *needed = NULL, *runpath = NULL;
	char *result = NULL;
	Elf_Scn *scn;
	Elf_Data *data;
	GElf_Shdr sh;
	int fd;
	Elf *elf = elf_open_untrusted(path, &fd, NULL);

	if (!elf)
		return NULL;
	scn = elf_find_section(elf, SHT_DYNAMIC);
	if (!scn || !(data = elf_getdata(scn, NULL)) || !gelf_getshdr(scn, &sh) ||
	    !elf_entries_ok(elf, &sh, data, ELF_T_DYN))
		goto cleanup;
	for (size_t i = 0; i < data->d_size / sh.sh_entsize; i++) {
		GElf_Dyn dyn;
		const char *s;

		if (!gelf_getdyn(data, (int)i, &dyn))
			break;
		if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH && dyn.d_tag != DT_RPATH)
			continue;
		s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
		if (!s)
			continue;
		if (dyn.d_tag == DT_NEEDED && !needed && !strncmp(s, prefix, strlen(prefix)))
			needed = s;
		else if (dyn.d_tag != DT_NEEDED && !runpath)
			runpath = s;
	}
	if (!needed)
		goto cleanup;
	if (runpath)
		result = search_dirs(runpath, needed, path);
	if (!result)
		result = search_dirs(default_dirs, needed, path);
cleanup:
	elf_close_file(elf, fd);
	return result;
}

int file_open_same(const char *path, const struct file_id *id)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_dev != id->dev || st.st_ino != id->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}
