// SPDX-License-Identifier: MIT
#include "pyruntime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfsym.h"
#include "procfs.h"
#include "util.h"

/*
 * CPython 3.11's layout, from offsetof() on its Include/internal headers
 * (identical for 3.11.2 and 3.11.7: the layout is frozen within a minor
 * version). 3.12 moved cframe and the frame's instruction pointer; from
 * 3.13 on, _PyRuntime begins with _Py_DebugOffsets (the "xdebugpy" cookie,
 * then the offsets of the runtime, interpreter, thread state, frame, code
 * and unicode objects): a reader of that struct would fill py_offsets from
 * the process itself instead of from a table like this one.
 */
static const struct py_offsets py311 = {
    .runtime_interp_head = 40,
    .interp_threads_head = 16,
    .ts_next = 8,
    .ts_native_tid = 160,
    .ts_cframe = 56,
    .cframe_current = 8,
    .frame_code = 32,
    .frame_previous = 48,
    .frame_prev_instr = 56,
    .code_filename = 112,
    .code_qualname = 128,
    .code_firstlineno = 72,
    .code_linetable = 136,
    .code_adaptive = 184,
    .bytes_size = 16,
    .bytes_data = 32,
    .str_state = 32,
    .str_ascii_data = 48,
    .frame_localsplus = 72,
};

/* Py_VERSION_HEX as the file stores it (Py_Version exists from 3.11 on).
 * The path is the traced program's: no blocking open, regular files only. */
static int read_hexversion(const char *path, uint32_t *hex)
{
	uint64_t vaddr, off;
	struct stat st;
	bool pie;
	int fd, rc;

	rc = elf_data_symbol(path, "Py_Version", &vaddr, &off, &pie);
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	rc = fstat(fd, &st) || !S_ISREG(st.st_mode) ? -ENOEXEC : 0;
	if (!rc && pread(fd, hex, sizeof(*hex), (off_t)off) != sizeof(*hex))
		rc = -EIO;
	close(fd);
	return rc;
}

int py_proc_find(const char *root, pid_t pid, struct py_proc *out, uint32_t *hexversion)
{
	char **maps = NULL;
	int n, rc = -ENOENT;

	n = proc_exec_mappings(root, pid, &maps);
	if (n < 0)
		return n;
	for (int i = 0; i < n && rc == -ENOENT; i++) {
		const char *b = path_base(maps[i]);
		uint64_t vaddr, off;
		bool pie;

		if (strncmp(b, "python", 6) && strncmp(b, "libpython", 9))
			continue;
		if (elf_data_symbol(maps[i], "_PyRuntime", &vaddr, &off, &pie))
			continue;
		rc = read_hexversion(maps[i], hexversion);
		if (rc)
			break;
		if ((*hexversion >> 16) != 0x030B) {
			rc = -ENOTSUP;
			break;
		}
		out->off = py311;
		out->runtime = vaddr;
		if (pie) {
			uint64_t addr = 0;

			rc = proc_file_addr(root, pid, maps[i], off, &addr);
			out->runtime = addr;
		}
	}
	if (n > 0)
		free_strv(maps, n);
	return rc;
}

/* 3.11 line tables (Objects/locations.md): varints of 6 bits a byte, bit
 * 6 set when another byte follows; signed ones keep the sign in bit 0. */
static uint32_t read_varint(const uint8_t *t, uint32_t len, uint32_t *i)
{
	uint32_t v = 0, shift = 0;
	uint8_t b;

	do {
		if (*i >= len || shift > 28)
			return v;
		b = t[(*i)++];
		v |= (uint32_t)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return v;
}

static int32_t read_svarint(const uint8_t *t, uint32_t len, uint32_t *i)
{
	uint32_t u = read_varint(t, len, i);

	return u & 1 ? -(int32_t)(u >> 1) : (int32_t)(u >> 1);
}

int py_line_of(const uint8_t *table, uint32_t len, uint32_t firstlineno, uint32_t instr)
{
	int line = (int)firstlineno;
	uint32_t i = 0, addr = 0;

	while (i < len) {
		uint8_t first = table[i++];
		uint32_t code = (first >> 3) & 15, units = (first & 7) + 1;
		int delta = 0;

		if (!(first & 0x80))
			break; /* not the start of an entry: a truncated table */
		if (code == 15) {
			delta = 0; /* no location */
		} else if (code == 14) {
			delta = read_svarint(table, len, &i);
			read_varint(table, len, &i); /* end line delta */
			read_varint(table, len, &i); /* column + 1 */
			read_varint(table, len, &i); /* end column + 1 */
		} else if (code == 13) {
			delta = read_svarint(table, len, &i);
		} else if (code >= 10) {
			delta = (int)code - 10;
			i += 2; /* start and end columns */
		} else {
			i += 1; /* column */
		}
		line += delta;
		if (instr < addr + units)
			return line;
		addr += units;
	}
	return (int)firstlineno;
}
