// SPDX-License-Identifier: MIT
/* Shared segments from the kernel's maps to the report's view (segments.h). */
#include "segments.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "map_read.h"
#include "util.h"

const char *const seg_kind_names[SEGK_COUNT] = {
    [SEGK_FILE] = "file", [SEGK_POSIX] = "posix",    [SEGK_MEMFD] = "memfd",
    [SEGK_SYSV] = "sysv", [SEGK_ANON] = "anonymous",
};

/* The kernel names a shmem file after how it was made: memfd_create()
 * "memfd:NAME", shmget() "SYSV<key>", a shared anonymous mapping
 * "dev/zero" (shmem_zero_setup); shm_open() makes a plain file in the
 * tmpfs mounted on /dev/shm. */
static enum seg_kind seg_kind_of(const char *name, uint32_t dev, uint32_t flags,
				 uint32_t devshm_dev)
{
	if (!(flags & SEG_SHMEM))
		return SEGK_FILE;
	if (!strncmp(name, "memfd:", 6))
		return SEGK_MEMFD;
	if (!strncmp(name, "SYSV", 4))
		return SEGK_SYSV;
	if (!strcmp(name, "dev/zero"))
		return SEGK_ANON;
	return devshm_dev && dev == devshm_dev ? SEGK_POSIX : SEGK_FILE;
}

/* The kernel's dev_t (major << 20 | minor) of the filesystem on /dev/shm. */
static uint32_t devshm_dev(void)
{
	struct stat st;

	if (stat("/dev/shm", &st))
		return 0;
	return (uint32_t)(major(st.st_dev) << 20 | minor(st.st_dev));
}

int segments_add_use(struct report *rep, const struct seg_key *k, const struct seg_stats *s,
		     seg_site_fn name_site, void *ctx)
{
	static uint64_t page;
	static uint32_t shm_dev;
	struct seg_use *u = grow_array(rep->seg_uses, (size_t)rep->n_seg_uses, sizeof(*u));

	if (!u)
		return -ENOMEM;
	rep->seg_uses = u;
	if (!page) {
		page = (uint64_t)sysconf(_SC_PAGESIZE);
		shm_dev = devshm_dev();
	}
	u = &rep->seg_uses[rep->n_seg_uses++];
	memset(u, 0, sizeof(*u));
	u->ino = k->ino;
	u->dev = k->dev;
	u->pid = k->tgid;
	u->s = *s;
	u->s.name[sizeof(u->s.name) - 1] = '\0';
	u->kind = (uint8_t)seg_kind_of(u->s.name, u->dev, u->s.flags, shm_dev);
	u->bytes_touched = u->s.pages_touched * page;
	if (!name_site || !u->s.map_site ||
	    !name_site(ctx, u->s.map_site, u->map_site, sizeof(u->map_site)))
		u->map_site[0] = '\0';
	return 0;
}

int segments_add_pass(struct report *rep, const struct pass_key *k, uint64_t n)
{
	struct fd_pass *p = grow_array(rep->fd_passes, (size_t)rep->n_fd_passes, sizeof(*p));

	if (!p)
		return -ENOMEM;
	rep->fd_passes = p;
	p = &rep->fd_passes[rep->n_fd_passes++];
	memset(p, 0, sizeof(*p));
	p->ino = k->ino;
	p->dev = k->dev;
	p->pid = k->tgid;
	p->chan_ino = k->chan_ino;
	p->dir = k->dir;
	p->count = n;
	return 0;
}

int segments_collect(int segs_fd, int passes_fd, seg_site_fn name_site, void *ctx,
		     struct report *rep)
{
	void *keys = NULL, *vals = NULL;
	int n = map_read_all(segs_fd, sizeof(struct seg_key), sizeof(struct seg_stats), 1u << 20,
			     &keys, &vals);
	int rc = n < 0 ? n : 0;

	for (int i = 0; i < n && !rc; i++)
		rc = segments_add_use(rep, (const struct seg_key *)keys + i,
				      (const struct seg_stats *)vals + i, name_site, ctx);
	free(keys);
	free(vals);
	keys = vals = NULL;
	if (rc)
		return rc;
	n = map_read_all(passes_fd, sizeof(struct pass_key), sizeof(__u64), 1u << 20, &keys, &vals);
	rc = n < 0 ? n : 0;
	for (int i = 0; i < n && !rc; i++)
		rc = segments_add_pass(rep, (const struct pass_key *)keys + i,
				       ((const __u64 *)vals)[i]);
	free(keys);
	free(vals);
	return rc;
}

uint64_t seg_use_fault_ns(const struct report *rep, const struct seg_use *u, uint64_t *ci95)
{
	double period = rep->sample_hz ? 1e9 / rep->sample_hz : 0;
	uint64_t k = u->s.fault_samples;

	/* no fault on it at all (exact counts): nothing to be unsure of */
	if (ci95)
		*ci95 = u->s.faults[SF_READ] + u->s.faults[SF_WRITE] + u->s.faults[SF_WP]
			    ? u64_sat(count_halfwidth(k) * period)
			    : 0;
	return u64_sat((double)k * period);
}

const char *seg_use_role(const struct segment *g, const struct seg_use *u)
{
	if (u->pid == g->creator_pid && (u->s.flags & SEG_MAPPED))
		return "first";
	return u->s.flags & SEG_INHERITED ? "inherited" : "";
}

uint64_t segments_bytes_touched(const struct report *rep)
{
	uint64_t n = 0;

	for (int i = 0; i < rep->n_seg_uses; i++)
		n += rep->seg_uses[i].bytes_touched;
	return n;
}

/* Shared objects in (dev, ino) order: uses and hand-offs sort alike. */
static int cmp_object(uint32_t dev_a, uint64_t ino_a, uint32_t dev_b, uint64_t ino_b)
{
	if (dev_a != dev_b)
		return dev_a < dev_b ? -1 : 1;
	return (ino_a > ino_b) - (ino_a < ino_b);
}

static int cmp_use(const void *a, const void *b)
{
	const struct seg_use *x = *(const struct seg_use *const *)a;
	const struct seg_use *y = *(const struct seg_use *const *)b;
	int c = cmp_object(x->dev, x->ino, y->dev, y->ino);

	if (c)
		return c;
	/* who mapped it before who inherited it, then by time */
	if ((x->s.flags & SEG_MAPPED) != (y->s.flags & SEG_MAPPED))
		return x->s.flags & SEG_MAPPED ? -1 : 1;
	return (x->s.first_ns > y->s.first_ns) - (x->s.first_ns < y->s.first_ns);
}

static int cmp_segment(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;

	if (x->bytes_touched != y->bytes_touched)
		return x->bytes_touched > y->bytes_touched ? -1 : 1;
	return (x->ino > y->ino) - (x->ino < y->ino);
}

static int cmp_pass(const void *a, const void *b)
{
	const struct fd_pass *x = *(const struct fd_pass *const *)a;
	const struct fd_pass *y = *(const struct fd_pass *const *)b;
	int c = cmp_object(x->dev, x->ino, y->dev, y->ino);

	if (c)
		return c;
	return (x->chan_ino > y->chan_ino) - (x->chan_ino < y->chan_ino);
}

/* The first of the hand-offs (sorted by cmp_pass) of the object (dev, ino). */
static int first_pass(const struct fd_pass *const *by, int n, uint32_t dev, uint64_t ino)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (cmp_object(by[mid]->dev, by[mid]->ino, dev, ino) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The channels that carried the segment's descriptor, joining both ends;
 * `by`: the report's hand-offs sorted by object, so that a recording with
 * tens of thousands of both costs a search per segment, not a scan. */
static int add_routes(const struct fd_pass *const *by, int n, struct segment *g)
{
	for (int i = first_pass(by, n, g->dev, g->ino);
	     i < n && by[i]->dev == g->dev && by[i]->ino == g->ino; i++) {
		const struct fd_pass *p = by[i];
		struct seg_route *r = NULL;

		/* sorted by channel too: a route is the last one added, or new */
		if (g->n_routes && g->routes[g->n_routes - 1].chan_ino == p->chan_ino)
			r = &g->routes[g->n_routes - 1];
		if (!r) {
			void *tmp = grow_array(g->routes, (size_t)g->n_routes, sizeof(*g->routes));

			if (!tmp)
				return -ENOMEM;
			g->routes = tmp;
			r = &g->routes[g->n_routes++];
			memset(r, 0, sizeof(*r));
			r->chan_ino = p->chan_ino;
		}
		if (p->dir == DIR_WRITE) {
			r->from_pid = p->pid;
			r->sent += p->count;
		} else {
			r->to_pid = p->pid;
			r->received += p->count;
		}
	}
	return 0;
}

static void add_use(const struct report *rep, struct segment *g, const struct seg_use *u)
{
	uint64_t ci = 0, ns = seg_use_fault_ns(rep, u, &ci);

	g->bytes_touched += u->bytes_touched;
	g->bytes_mapped += u->s.bytes_mapped;
	g->faults += u->s.faults[SF_READ] + u->s.faults[SF_WRITE] + u->s.faults[SF_WP];
	g->fault_ns += ns;
	g->fault_ci95_ns = ci95_combine((double)g->fault_ci95_ns, (double)ci);
	if (u->s.size > g->size)
		g->size = u->s.size;
	if (!seg_use_touched_exact(u) && u->s.faults[SF_READ] + u->s.faults[SF_WRITE])
		g->touched_exact = false;
}

int segments_build(const struct report *rep, struct segment **out)
{
	const struct fd_pass **passes = NULL;
	const struct seg_use **by = NULL;
	struct segment *v = NULL;
	int n = 0, rc = 0;

	*out = NULL;
	if (!rep->n_seg_uses)
		return 0;
	by = malloc((size_t)rep->n_seg_uses * sizeof(*by));
	v = calloc((size_t)rep->n_seg_uses, sizeof(*v));
	passes = malloc((size_t)rep->n_fd_passes * sizeof(*passes) + 1);
	if (!by || !v || !passes) {
		rc = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < rep->n_seg_uses; i++)
		by[i] = &rep->seg_uses[i];
	qsort(by, (size_t)rep->n_seg_uses, sizeof(*by), cmp_use);
	for (int i = 0; i < rep->n_fd_passes; i++)
		passes[i] = &rep->fd_passes[i];
	qsort(passes, (size_t)rep->n_fd_passes, sizeof(*passes), cmp_pass);
	for (int i = 0; i < rep->n_seg_uses;) {
		struct segment *g = &v[n++];
		int j = i;

		while (j < rep->n_seg_uses && by[j]->ino == by[i]->ino && by[j]->dev == by[i]->dev)
			j++;
		g->ino = by[i]->ino;
		g->dev = by[i]->dev;
		g->kind = by[i]->kind;
		g->name = by[i]->s.name;
		g->creator_pid = by[i]->pid;
		g->touched_exact = true;
		g->uses = malloc((size_t)(j - i) * sizeof(*g->uses));
		if (!g->uses) {
			rc = -ENOMEM;
			goto fail;
		}
		for (int k = i; k < j; k++) {
			g->uses[g->n_uses++] = by[k];
			add_use(rep, g, by[k]);
		}
		rc = add_routes(passes, rep->n_fd_passes, g);
		if (rc)
			goto fail;
		i = j;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_segment);
	free(by);
	free(passes);
	*out = v;
	return n;
fail:
	free(by);
	free(passes);
	segments_free(v, n);
	return rc;
}

void segments_free(struct segment *v, int n)
{
	for (int i = 0; v && i < n; i++) {
		free(v[i].uses);
		free(v[i].routes);
	}
	free(v);
}
