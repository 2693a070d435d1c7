// SPDX-License-Identifier: MIT
#include "map_read.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

int map_read_all(int fd, size_t key_size, size_t value_size, unsigned int max, void **keys,
		 void **values)
{
	char *k = malloc((size_t)max * key_size + 1), *v = malloc((size_t)max * value_size + 1);
	uint64_t token = 0; /* hash maps: a bucket index */
	unsigned int n = 0;
	bool first = true;
	int rc = 0;

	if (!k || !v) {
		rc = -ENOMEM;
		goto fail;
	}
	while (n < max) {
		__u32 count = max - n;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, k + n * key_size,
					       v + n * value_size, &count, NULL);

		first = false;
		n += count;
		if (err) {
			if (errno == ENOENT) /* the end of the map */
				break;
			rc = -errno;
			goto fail;
		}
	}
	*keys = k;
	*values = v;
	return (int)n;
fail:
	free(k);
	free(v);
	return rc;
}
