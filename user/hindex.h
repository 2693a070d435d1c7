/* SPDX-License-Identifier: MIT */
/*
 * A hash index over an array the caller owns: hash -> array position, the
 * caller's eq() telling entries with equal hashes apart. Open addressing,
 * linear probing, grown at 1/2 load. (hsearch(3) is one global table and
 * cannot grow; tsearch(3) allocates a node per entry.)
 */
#ifndef IPCPROF_HINDEX_H
#define IPCPROF_HINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hindex {
	struct hindex_slot {
		uint64_t hash;
		uint32_t pos1; /* array position + 1; 0: empty */
	} * slots;
	size_t cap, n;
};

/* The position of the entry with `hash` for which eq(ctx, pos) holds, or -1. */
long hindex_find(const struct hindex *h, uint64_t hash, bool (*eq)(const void *ctx, uint32_t pos),
		 const void *ctx);
/* Index array position `pos` under `hash`. 0 or -ENOMEM. */
int hindex_add(struct hindex *h, uint64_t hash, uint32_t pos);
void hindex_free(struct hindex *h);

/* FNV-1a, 64 bit, over len bytes (continuing from `h`; start with
 * HINDEX_SEED). */
#define HINDEX_SEED 0xcbf29ce484222325ull
uint64_t hindex_hash(uint64_t h, const void *data, size_t len);

#endif
