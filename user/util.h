/* SPDX-License-Identifier: MIT */
/* Small helpers used all over the userspace side. */
#ifndef IPCPROF_UTIL_H
#define IPCPROF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_ns() reads. */
uint64_t now_ns(void);

/* Parse a whole decimal number in [min, max]; false on any junk. */
bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* v as a u64, saturating (NaN and negatives: 0): a cast of an
 * out-of-range double is undefined, and recordings can hold any value. */
uint64_t u64_sat(double v);

/* a + b, or UINT64_MAX where that wraps (sums of a crafted recording's values) */
static inline uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Human readable duration ("12.3 ms") and size ("4.87 MB", SI units). */
const char *fmt_ns(uint64_t ns, char *buf, size_t len);
const char *fmt_bytes(uint64_t bytes, char *buf, size_t len);
const char *fmt_rate(double bytes_per_s, char *buf, size_t len); /* "43.2 MB/s" */

/*
 * Strings that traced programs chose (comm, arguments, paths) or that a
 * recording holds, for a terminal: control characters are shown as \xNN,
 * as `ls -b` does, so they cannot drive the reader's terminal. printable()
 * cuts to fit buf; NULL prints as "".
 */
const char *printable(const char *s, char *buf, size_t len);
void fput_printable(FILE *out, const char *s);

/*
 * The one growable array: room for element `n` of an array that holds n
 * elements of `elem` bytes. The capacity is implied by n (0, else the next
 * power of two >= max(n, 8)), so callers keep no capacity field; an array
 * allocated elsewhere must be sized with array_cap(). Returns the (maybe
 * moved) array, or NULL with the old one intact.
 */
void *grow_array(void *v, size_t n, size_t elem);
size_t array_cap(size_t n);

/* The last component of a path (no copy, unlike basename(3)). */
const char *path_base(const char *path);

/* Resolve a command name through $PATH like execvp would; NULL if none.
 * The result is malloc'ed. */
char *find_in_path(const char *cmd);

#endif
