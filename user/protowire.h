/* SPDX-License-Identifier: MIT */
/*
 * Protocol buffers wire format, write side only: enough to emit Perfetto's
 * TracePackets (user/perfetto.c). Hand-written rather than protobuf-c on
 * purpose: Perfetto's schema is ~18,000 lines, of which ipcprof writes ~40
 * fields; generated code for it would be megabytes of C to encode a few
 * varints and strings, and its message structs would have to be filled and
 * freed per event on the hot path of a long trace. The encoding is small
 * and fixed (https://protobuf.dev/programming-guides/encoding/).
 */
#ifndef IPCPROF_PROTOWIRE_H
#define IPCPROF_PROTOWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A message being built. Allocation failures stick (failed) and make every
 * later call a no-op, so callers check once, at the end. */
struct pb_buf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

void pb_varint_field(struct pb_buf *b, uint32_t field, uint64_t v);
void pb_sint_field(struct pb_buf *b, uint32_t field, int64_t v); /* int32/int64 (not zigzag) */
void pb_fixed64_field(struct pb_buf *b, uint32_t field, uint64_t v);
void pb_double_field(struct pb_buf *b, uint32_t field, double v);
void pb_bytes_field(struct pb_buf *b, uint32_t field, const void *data, size_t len);
void pb_string_field(struct pb_buf *b, uint32_t field, const char *s);

/*
 * A nested message: pb_begin() writes its tag and reserves its length,
 * pb_end() fills the length in. The length takes a fixed 4-byte (redundant)
 * varint, as Perfetto's own protozero writer does, so nothing is moved
 * afterwards; it caps a nested message at 2^28 - 1 bytes (pb_end fails the
 * buffer beyond that).
 */
size_t pb_begin(struct pb_buf *b, uint32_t field);
void pb_end(struct pb_buf *b, size_t mark);

void pb_reset(struct pb_buf *b); /* empty, keeping the allocation */
void pb_free(struct pb_buf *b);

/* The bytes of a varint; returns how many (at most 10). */
size_t pb_varint(uint8_t out[10], uint64_t v);

#endif
