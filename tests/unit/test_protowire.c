// SPDX-License-Identifier: MIT
/*
 * The protobuf encoder behind the Perfetto timeline, against encodings
 * worked out by hand from the wire-format specification, and the hash
 * index the writer keeps its tracks and names in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hindex.h"
#include "protowire.h"

static void check(const struct pb_buf *b, const uint8_t *want, size_t len)
{
	assert_false(b->failed);
	assert_int_equal(b->len, len);
	assert_memory_equal(b->p, want, len);
}

static void test_varints(void **state)
{
	uint8_t out[10];
	struct pb_buf b = {0};

	(void)state;
	assert_int_equal(pb_varint(out, 0), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(pb_varint(out, 300), 2); /* the specification's example */
	assert_int_equal(out[0], 0xac);
	assert_int_equal(out[1], 0x02);
	assert_int_equal(pb_varint(out, UINT64_MAX), 10);
	assert_int_equal(out[9], 0x01);

	pb_varint_field(&b, 1, 150); /* field 1, varint: 08 96 01 */
	check(&b, (const uint8_t[]){0x08, 0x96, 0x01}, 3);
	pb_reset(&b);
	/* int64 -1: ten bytes of two's complement, not zigzag */
	pb_sint_field(&b, 2, -1);
	check(&b,
	      (const uint8_t[]){0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	      11);
	pb_free(&b);
}

static void test_fixed_and_strings(void **state)
{
	struct pb_buf b = {0};

	(void)state;
	pb_fixed64_field(&b, 47, 0x0102030405060708ull); /* tag (47 << 3) | 1 = 377 */
	check(&b, (const uint8_t[]){0xf9, 0x02, 8, 7, 6, 5, 4, 3, 2, 1}, 10);
	pb_reset(&b);
	pb_double_field(&b, 1, 1.0); /* 0x3ff0000000000000, little-endian */
	check(&b, (const uint8_t[]){0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, 9);
	pb_reset(&b);
	pb_string_field(&b, 2, "testing"); /* the specification's example */
	check(&b, (const uint8_t[]){0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}, 9);
	pb_reset(&b);
	pb_string_field(&b, 2, NULL);
	check(&b, (const uint8_t[]){0x12, 0x00}, 2);
	pb_free(&b);
}

static void test_nested_lengths(void **state)
{
	struct pb_buf b = {0};
	size_t outer, inner;
	char big[200];

	(void)state;
	/* a 4-byte redundant varint length: 3 = 83 80 80 00 */
	outer = pb_begin(&b, 3);
	pb_varint_field(&b, 1, 150);
	pb_end(&b, outer);
	check(&b, (const uint8_t[]){0x1a, 0x83, 0x80, 0x80, 0x00, 0x08, 0x96, 0x01}, 8);
	/* nested twice, lengths past one byte: inner = tag + 2-byte length +
	 * 200 = 203, outer = tag + 4 + 203 = 208 */
	pb_reset(&b);
	memset(big, 'x', sizeof(big));
	outer = pb_begin(&b, 1);
	inner = pb_begin(&b, 2);
	pb_bytes_field(&b, 1, big, sizeof(big));
	pb_end(&b, inner);
	pb_end(&b, outer);
	assert_false(b.failed);
	assert_int_equal(b.len, 1 + 4 + 208);
	assert_memory_equal(b.p, ((const uint8_t[]){0x0a, 0xd0, 0x81, 0x80, 0x00}), 5);
	assert_memory_equal(b.p + 5, ((const uint8_t[]){0x12, 0xcb, 0x81, 0x80, 0x00}), 5);
	pb_free(&b);
}

static uint32_t keys[20000];

static bool key_eq(const void *ctx, uint32_t pos)
{
	return keys[pos] == *(const uint32_t *)ctx;
}

static void test_hindex(void **state)
{
	struct hindex h = {0};
	size_t n = sizeof(keys) / sizeof(keys[0]);

	(void)state;
	for (uint32_t i = 0; i < n; i++) {
		keys[i] = i * 7919u + 1;
		/* a poor hash on purpose: collisions must be told apart by eq */
		assert_int_equal(hindex_add(&h, keys[i] % 97, i), 0);
	}
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(hindex_find(&h, keys[i] % 97, key_eq, &keys[i]), (long)i);
	{
		uint32_t missing = 2;

		assert_int_equal(hindex_find(&h, missing % 97, key_eq, &missing), -1);
	}
	hindex_free(&h);
	assert_int_equal(hindex_find(&h, 1, key_eq, &keys[0]), -1);
	/* FNV-1a's published test vector */
	assert_true(hindex_hash(HINDEX_SEED, "a", 1) == 0xaf63dc4c8601ec8cull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_varints),
	    cmocka_unit_test(test_fixed_and_strings),
	    cmocka_unit_test(test_nested_lengths),
	    cmocka_unit_test(test_hindex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
