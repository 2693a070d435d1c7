// SPDX-License-Identifier: MIT
#include "links.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>

int link_list_add(struct link_list *ll, struct bpf_link *l)
{
	struct bpf_link **tmp = realloc(ll->v, (ll->n + 1) * sizeof(*tmp));

	if (!tmp) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	ll->v = tmp;
	ll->v[ll->n++] = l;
	return 0;
}

void link_list_destroy(struct link_list *ll)
{
	for (int i = 0; i < ll->n; i++)
		bpf_link__destroy(ll->v[i]);
	free(ll->v);
	ll->v = NULL;
	ll->n = 0;
}
