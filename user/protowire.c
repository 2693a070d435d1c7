// SPDX-License-Identifier: MIT
#include "protowire.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2 };

#define LEN_BYTES 4 /* reserved for a nested message's length */

static bool reserve(struct pb_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *p;

	if (b->failed)
		return false;
	if (b->len + more <= b->cap)
		return true;
	while (cap < b->len + more) {
		if (cap > SIZE_MAX / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

size_t pb_varint(uint8_t out[10], uint64_t v)
{
	size_t n = 0;

	do {
		out[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

static void put(struct pb_buf *b, const void *data, size_t len)
{
	if (!reserve(b, len))
		return;
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void put_varint(struct pb_buf *b, uint64_t v)
{
	uint8_t tmp[10];

	put(b, tmp, pb_varint(tmp, v));
}

static void put_tag(struct pb_buf *b, uint32_t field, unsigned wire)
{
	put_varint(b, ((uint64_t)field << 3) | wire);
}

void pb_varint_field(struct pb_buf *b, uint32_t field, uint64_t v)
{
	put_tag(b, field, WIRE_VARINT);
	put_varint(b, v);
}

void pb_sint_field(struct pb_buf *b, uint32_t field, int64_t v)
{
	/* int32/int64: two's complement as a 64-bit varint */
	pb_varint_field(b, field, (uint64_t)v);
}

void pb_fixed64_field(struct pb_buf *b, uint32_t field, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	put_tag(b, field, WIRE_I64);
	put(b, le, sizeof(le));
}

void pb_double_field(struct pb_buf *b, uint32_t field, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits)); /* IEEE 754, little-endian on the wire */
	pb_fixed64_field(b, field, bits);
}

void pb_bytes_field(struct pb_buf *b, uint32_t field, const void *data, size_t len)
{
	put_tag(b, field, WIRE_LEN);
	put_varint(b, len);
	put(b, data, len);
}

void pb_string_field(struct pb_buf *b, uint32_t field, const char *s)
{
	pb_bytes_field(b, field, s ? s : "", s ? strlen(s) : 0);
}

size_t pb_begin(struct pb_buf *b, uint32_t field)
{
	static const uint8_t zero[LEN_BYTES];
	size_t mark;

	put_tag(b, field, WIRE_LEN);
	mark = b->len;
	put(b, zero, LEN_BYTES);
	return mark;
}

void pb_end(struct pb_buf *b, size_t mark)
{
	size_t len;

	if (b->failed)
		return;
	len = b->len - mark - LEN_BYTES;
	if (len >= (1u << (7 * LEN_BYTES))) {
		b->failed = true;
		return;
	}
	/* a redundant varint: continuation bits on all but the last byte */
	for (int i = 0; i < LEN_BYTES; i++)
		b->p[mark + i] =
		    (uint8_t)(((len >> (7 * i)) & 0x7f) | (i < LEN_BYTES - 1 ? 0x80 : 0));
}

void pb_reset(struct pb_buf *b)
{
	b->len = 0;
	b->failed = false;
}

void pb_free(struct pb_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
