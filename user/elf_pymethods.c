// SPDX-License-Identifier: MIT
/*
 * PyMethodDef tables read with libelf (see elf_pymethods.h).
 *
 * A pointer in a PyMethodDef is stored in one of two ways: in place (a
 * non-PIE executable, or packed RELR relocations, whose addend is the
 * word itself), or as the addend of an R_*_RELATIVE RELA relocation at the
 * word's address (PIE executables, libpython, extension modules). value_at()
 * reads either, so one scan serves every build.
 */
#include "elf_pymethods.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "elf_file.h"
#include "util.h"

/* {ml_name, ml_meth, ml_flags (int, padded), ml_doc} on LP64 */
#define DEF_NAME_OFF 24 /* ml_name, counted back from ml_doc */
#define DEF_METH_OFF 16
/* A signature is short: the phrase follows the docstring's start closely. */
#define DOC_HEAD_MAX 512
/* Docstrings a phrase may match per method (a copy per translation unit). */
#define MAX_DOCS 8
/* More relative relocations than any interpreter has (libpython: ~60k). */
#define MAX_RELS (1u << 22)

struct section {
	uint64_t addr, size, flags;
	const unsigned char *data;
};

struct relative {
	uint64_t where, value;
};

struct image {
	struct section *secs;
	size_t n_secs;
	struct relative *rels;
	size_t n_rels;
};

struct candidate {
	uint64_t docs[MAX_DOCS];
	int n_docs;
	uint64_t meth;
	bool ambiguous;
};

static int cmp_relative(const void *a, const void *b)
{
	const struct relative *x = a, *y = b;

	return x->where < y->where ? -1 : x->where > y->where;
}

static uint32_t relative_type(Elf *elf)
{
	GElf_Ehdr eh;

	if (!gelf_getehdr(elf, &eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return 0;
	switch (eh.e_machine) {
	case EM_X86_64:
		return R_X86_64_RELATIVE;
	case EM_AARCH64:
		return R_AARCH64_RELATIVE;
	default:
		return 0;
	}
}

/* Allocated sections with file contents, raw (no libelf conversion). */
static int load_sections(Elf *elf, struct image *img)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		struct section *tmp;
		Elf_Data *data;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_ALLOC) || !sh.sh_size)
			continue;
		data = elf_rawdata(scn, NULL);
		if (!data || !data->d_buf || data->d_size != sh.sh_size ||
		    sh.sh_addr + sh.sh_size < sh.sh_addr)
			continue;
		tmp = grow_array(img->secs, img->n_secs, sizeof(*tmp));
		if (!tmp)
			return -ENOMEM;
		img->secs = tmp;
		tmp[img->n_secs++] =
		    (struct section){sh.sh_addr, sh.sh_size, sh.sh_flags, data->d_buf};
	}
	return 0;
}

static int load_relatives(Elf *elf, struct image *img, uint32_t type)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA ||
		    !(sh.sh_flags & SHF_ALLOC) || !(data = elf_getdata(scn, NULL)) ||
		    !elf_entries_ok(elf, &sh, data, ELF_T_RELA))
			continue;
		for (size_t i = 0; i < data->d_size / sh.sh_entsize; i++) {
			struct relative *tmp;
			GElf_Rela r;

			if (!gelf_getrela(data, (int)i, &r) || GELF_R_TYPE(r.r_info) != type)
				continue;
			if (img->n_rels >= MAX_RELS)
				return -E2BIG;
			tmp = grow_array(img->rels, img->n_rels, sizeof(*tmp));
			if (!tmp)
				return -ENOMEM;
			img->rels = tmp;
			img->rels[img->n_rels++] =
			    (struct relative){r.r_offset, (uint64_t)r.r_addend};
		}
	}
	if (img->n_rels)
		qsort(img->rels, img->n_rels, sizeof(*img->rels), cmp_relative);
	return 0;
}

static const struct section *section_of(const struct image *img, uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < img->n_secs; i++) {
		const struct section *s = &img->secs[i];

		if (addr >= s->addr && addr - s->addr <= s->size &&
		    len <= s->size - (addr - s->addr))
			return s;
	}
	return NULL;
}

/* The pointer stored at `addr` once the loader has relocated it. */
static bool value_at(const struct image *img, uint64_t addr, uint64_t *v)
{
	struct relative key = {addr, 0}, *r = NULL;
	const struct section *s;
	uint64_t raw;

	if (img->n_rels)
		r = bsearch(&key, img->rels, img->n_rels, sizeof(key), cmp_relative);
	if (r) {
		*v = r->value;
		return true;
	}
	s = section_of(img, addr, sizeof(raw));
	if (!s)
		return false;
	memcpy(&raw, s->data + (addr - s->addr), sizeof(raw));
	*v = le64toh(raw);
	return true;
}

/* Is the NUL-terminated string at `addr` exactly `want`? */
static bool string_is(const struct image *img, uint64_t addr, const char *want)
{
	size_t len = strlen(want) + 1;
	const struct section *s = section_of(img, addr, len);

	return s && !memcmp(s->data + (addr - s->addr), want, len);
}

static bool is_code(const struct image *img, uint64_t addr)
{
	const struct section *s = section_of(img, addr, 1);

	return s && (s->flags & SHF_EXECINSTR);
}

/* Docstrings "name(...)\n--\n\n<doc>..." in read-only data. */
static void find_docs(const struct image *img, const struct py_method *m, struct candidate *c)
{
	size_t nlen = strlen(m->name), dlen = strlen(m->doc);

	for (size_t i = 0; i < img->n_secs; i++) {
		const struct section *s = &img->secs[i];
		const unsigned char *p = s->data, *end = s->data + s->size;

		if (s->flags & (SHF_WRITE | SHF_EXECINSTR))
			continue;
		while ((p = memmem(p, (size_t)(end - p), m->doc, dlen))) {
			const unsigned char *start = p;

			while (start > s->data && start[-1] && p - start < DOC_HEAD_MAX)
				start--;
			if ((start == s->data || !start[-1]) && (size_t)(p - start) > nlen &&
			    !memcmp(start, m->name, nlen) && start[nlen] == '(' &&
			    memmem(start, (size_t)(p - start), "\n--\n\n", 5) &&
			    c->n_docs < MAX_DOCS)
				c->docs[c->n_docs++] = s->addr + (uint64_t)(start - s->data);
			p += dlen;
		}
	}
}

/* Does the word at `slot` (an ml_doc) complete a PyMethodDef of method i? */
static void check_slot(const struct image *img, const struct section *s, uint64_t slot,
		       uint64_t doc, const struct py_method *want, struct candidate *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t name, meth;
		bool is_doc = false;

		for (int d = 0; d < c[i].n_docs && !is_doc; d++)
			is_doc = c[i].docs[d] == doc;
		if (!is_doc || slot - s->addr < DEF_NAME_OFF ||
		    !value_at(img, slot - DEF_NAME_OFF, &name) ||
		    !value_at(img, slot - DEF_METH_OFF, &meth) ||
		    !string_is(img, name, want[i].name) || !is_code(img, meth))
			continue;
		if (c[i].meth && c[i].meth != meth)
			c[i].ambiguous = true;
		c[i].meth = meth;
	}
}

/* Every aligned word of writable data that could be an ml_doc. */
static void scan_tables(const struct image *img, const struct py_method *want, struct candidate *c,
			size_t n)
{
	for (size_t i = 0; i < img->n_secs; i++) {
		const struct section *s = &img->secs[i];

		if (!(s->flags & SHF_WRITE))
			continue;
		for (uint64_t a = (s->addr + 7) & ~7ull; a - s->addr + 8 <= s->size; a += 8) {
			uint64_t v;

			if (value_at(img, a, &v))
				check_slot(img, s, a, v, want, c, n);
		}
	}
}

int elf_py_method_offsets(const char *path, const struct py_method *want, size_t n,
			  uint64_t *offsets, struct file_id *id)
{
	struct image img = {0};
	struct candidate *c;
	int fd, found = 0, err;
	uint32_t rel_type;
	Elf *elf;

	for (size_t i = 0; i < n; i++)
		offsets[i] = PY_METHOD_NOT_FOUND;
	elf = elf_open_untrusted(path, &fd, id);
	if (!elf)
		return -errno;
	c = calloc(n ? n : 1, sizeof(*c));
	err = c ? 0 : -ENOMEM;
	rel_type = relative_type(elf);
	if (!err && !rel_type)
		err = -ENOTSUP;
	if (!err)
		err = load_sections(elf, &img);
	if (!err)
		err = load_relatives(elf, &img, rel_type);
	if (err)
		goto cleanup;
	for (size_t i = 0; i < n; i++)
		find_docs(&img, &want[i], &c[i]);
	scan_tables(&img, want, c, n);
	for (size_t i = 0; i < n; i++) {
		if (!c[i].meth || c[i].ambiguous ||
		    elf_vaddr_to_offset(elf, c[i].meth, &offsets[i]))
			offsets[i] = PY_METHOD_NOT_FOUND;
		else
			found++;
	}
cleanup:
	free(c);
	free(img.secs);
	free(img.rels);
	elf_close_file(elf, fd);
	return err ? err : found;
}
