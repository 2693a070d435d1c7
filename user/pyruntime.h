/* SPDX-License-Identifier: MIT */
/*
 * CPython processes, for the call-site walk of bpf/pyframes.bpf.h: where a
 * process keeps _PyRuntime, and the struct layout of its version.
 */
#ifndef IPCPROF_PYRUNTIME_H
#define IPCPROF_PYRUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipcprof.h"

/*
 * Fill `out` for process `pid` when it runs a CPython whose layout we know
 * (3.11). Returns 0, -ENOENT when no file it maps defines _PyRuntime (not
 * Python, or its libpython not mapped yet), -ENOTSUP for another version
 * (its hexversion in *hexversion), or another -errno.
 */
int py_proc_find(const char *root, pid_t pid, struct py_proc *out, uint32_t *hexversion);

/* The line of instruction `instr` (code units) in a 3.11 line table, or
 * `firstlineno` when the table kept does not reach it. */
int py_line_of(const uint8_t *table, uint32_t len, uint32_t firstlineno, uint32_t instr);

#endif
