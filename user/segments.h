/* SPDX-License-Identifier: MIT */
/*
 * Shared segments: each shared object the traced processes mapped, with
 * every process's use of it and the descriptors that carried it from one
 * process to another (bpf/shared.bpf.h collects them).
 */
#ifndef IPCPROF_SEGMENTS_H
#define IPCPROF_SEGMENTS_H

#include "report.h"

/* Names a kernel call-site index (+ 1) as "file:line in function". */
typedef bool (*seg_site_fn)(void *ctx, uint32_t site, char *where, size_t len);

/* Read the segs and passes maps into rep->seg_uses and rep->fd_passes;
 * `name_site` (may be NULL) names the lines that mapped each segment. */
int segments_collect(int segs_fd, int passes_fd, seg_site_fn name_site, void *ctx,
		     struct report *rep);

/* One more use or hand-off, folded out of the maps while tracing. */
int segments_add_use(struct report *rep, const struct seg_key *k, const struct seg_stats *s,
		     seg_site_fn name_site, void *ctx);
int segments_add_pass(struct report *rep, const struct pass_key *k, uint64_t n);

/* One channel a segment's descriptor went through. */
struct seg_route {
	uint64_t chan_ino;
	uint32_t from_pid, to_pid; /* 0: that end was not seen */
	uint64_t sent, received;   /* descriptors of it, as each end counted */
};

/* Descriptors that went that way: as sent, or as received where the
 * sender was not traced. */
static inline uint64_t seg_route_fds(const struct seg_route *r)
{
	return r->sent ? r->sent : r->received;
}

/* One segment as the writers show it. */
struct segment {
	uint64_t ino;
	uint32_t dev;
	uint8_t kind;
	const char *name;
	uint64_t size;
	uint32_t creator_pid; /* the first traced process to map it */
	uint64_t bytes_touched, bytes_mapped, faults;
	uint64_t fault_ns, fault_ci95_ns; /* sampled: fault_samples x period */
	bool touched_exact;		  /* from the RSS counters, not from faults */
	const struct seg_use **uses;	  /* creator first, then by first use */
	int n_uses;
	struct seg_route *routes;
	int n_routes;
};

/* The report's segments, most bytes touched first. Returns how many, or
 * -errno; segments_free() releases them. */
int segments_build(const struct report *rep, struct segment **out);
void segments_free(struct segment *v, int n);

/* A use's fault time (sampled: its fault samples times the period) and
 * that estimate's 95% half-width. */
uint64_t seg_use_fault_ns(const struct report *rep, const struct seg_use *u, uint64_t *ci95);

/* A use's role in its segment: "first" (the first traced process to map
 * it), "inherited" (touched without mapping it: it came with a fork) or "". */
const char *seg_use_role(const struct segment *g, const struct seg_use *u);

/* Are the use's bytes touched exact (its RSS counter read at each fault's
 * both ends on one CPU), or counted a page per fault somewhere? */
static inline bool seg_use_touched_exact(const struct seg_use *u)
{
	return (u->s.flags & SEG_TOUCH_EXACT) && !(u->s.flags & SEG_TOUCH_MIGRATED);
}

/* Totals over all segments: bytes touched and fault time. */
uint64_t segments_bytes_touched(const struct report *rep);

#endif
