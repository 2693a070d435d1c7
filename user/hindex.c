// SPDX-License-Identifier: MIT
#include "hindex.h"

#include <errno.h>
#include <stdlib.h>

uint64_t hindex_hash(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

long hindex_find(const struct hindex *h, uint64_t hash, bool (*eq)(const void *ctx, uint32_t pos),
		 const void *ctx)
{
	if (!h->cap)
		return -1;
	for (size_t i = hash & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		const struct hindex_slot *s = &h->slots[i];

		if (!s->pos1)
			return -1;
		if (s->hash == hash && eq(ctx, s->pos1 - 1))
			return (long)(s->pos1 - 1);
	}
}

static void place(struct hindex_slot *slots, size_t cap, uint64_t hash, uint32_t pos1)
{
	size_t i = hash & (cap - 1);

	while (slots[i].pos1)
		i = (i + 1) & (cap - 1);
	slots[i].hash = hash;
	slots[i].pos1 = pos1;
}

int hindex_add(struct hindex *h, uint64_t hash, uint32_t pos)
{
	if (pos == UINT32_MAX)
		return -ENOMEM;
	if ((h->n + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct hindex_slot *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; i < h->cap; i++)
			if (h->slots[i].pos1)
				place(slots, cap, h->slots[i].hash, h->slots[i].pos1);
		free(h->slots);
		h->slots = slots;
		h->cap = cap;
	}
	place(h->slots, h->cap, hash, pos + 1);
	h->n++;
	return 0;
}

void hindex_free(struct hindex *h)
{
	free(h->slots);
	h->slots = NULL;
	h->cap = h->n = 0;
}
