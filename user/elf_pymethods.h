/* SPDX-License-Identifier: MIT */
/*
 * Functions of CPython's C modules found without symbols. Every build keeps
 * a PyMethodDef {ml_name, ml_meth, ml_flags, ml_doc} per method, and the
 * docstring ml_doc points at is distinctive; the one PyMethodDef whose ml_doc
 * is that docstring and whose ml_name is the method's name gives ml_meth,
 * the C function. Stripped interpreters (Debian's, most containers') and
 * stripped extension modules work this way.
 */
#ifndef IPCPROF_ELF_PYMETHODS_H
#define IPCPROF_ELF_PYMETHODS_H

#include <stddef.h>
#include <stdint.h>

#include "elfsym.h"

#define PY_METHOD_NOT_FOUND UINT64_MAX

struct py_method {
	const char *name; /* ml_name, e.g. "dumps" */
	const char *doc;  /* words of its docstring after the "name(...)\n--\n\n" signature */
};

/*
 * For each of the `n` methods, the file offset of its C function in
 * offsets[i], or PY_METHOD_NOT_FOUND when no PyMethodDef matches or when
 * several disagree. Returns how many were found, or -errno (-ENOEXEC: not an
 * ELF file we accept; -ENOTSUP: not a 64-bit little-endian x86-64 or arm64
 * file, whose PyMethodDef layout we know).
 */
int elf_py_method_offsets(const char *path, const struct py_method *want, size_t n,
			  uint64_t *offsets, struct file_id *id);

#endif
