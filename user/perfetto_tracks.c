// SPDX-License-Identifier: MIT
/* Process, thread and counter tracks of the Perfetto timeline. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perfetto_priv.h"
#include "util.h"

/* /proc/PID[/task/TID]/comm, or false once the process is gone. */
static bool read_comm(uint32_t pid, uint32_t tid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

void pf_process_descriptor(struct perfetto *p, uint32_t pid, const char *name)
{
	struct pb_buf *b = pf_packet(p, 0);
	size_t m = pb_begin(b, TP_TRACK_DESCRIPTOR), d;

	pb_varint_field(b, TD_UUID, UUID_PROCESS | pid);
	d = pb_begin(b, TD_PROCESS);
	pb_sint_field(b, PD_PID, pid);
	if (name)
		pb_string_field(b, PD_NAME, name);
	pb_end(b, d);
	pb_end(b, m);
	pf_emit(p);
}

static bool proc_eq(const void *ctx, uint32_t pos)
{
	const struct perfetto *p = ctx;

	return p->procs[pos].pid == p->procs[p->n_procs].pid;
}

struct pf_proc *pf_process(struct perfetto *p, uint32_t pid)
{
	uint64_t h = hindex_hash(HINDEX_SEED, &pid, sizeof(pid));
	struct pf_proc *v = grow_array(p->procs, p->n_procs, sizeof(*v));
	char comm[IPCPROF_COMM_LEN];
	long pos;

	if (!v) {
		pf_fail(p, -ENOMEM);
		return NULL;
	}
	p->procs = v;
	/* the probe key sits in the free slot past the end */
	memset(&v[p->n_procs], 0, sizeof(v[0]));
	v[p->n_procs].pid = pid;
	pos = hindex_find(&p->proc_ix, h, proc_eq, p);
	if (pos >= 0)
		return &v[pos];
	if (hindex_add(&p->proc_ix, h, (uint32_t)p->n_procs)) {
		pf_fail(p, -ENOMEM);
		return NULL;
	}
	v[p->n_procs].named = read_comm(pid, 0, comm, sizeof(comm));
	v[p->n_procs].faults.uuid = UUID_FAULT_RATE | pid;
	pf_process_descriptor(p, pid, v[p->n_procs].named ? comm : NULL);
	return &v[p->n_procs++];
}

static bool thread_eq(const void *ctx, uint32_t pos)
{
	const struct perfetto *p = ctx;

	return p->threads[pos] == p->threads[p->n_threads];
}

/* The track of thread tid of process tgid, announced on first use. */
uint64_t pf_thread_track(struct perfetto *p, uint32_t tgid, uint32_t tid)
{
	uint64_t h = hindex_hash(HINDEX_SEED, &tid, sizeof(tid));
	uint32_t *v = grow_array(p->threads, p->n_threads, sizeof(*v));
	char comm[IPCPROF_COMM_LEN];
	struct pb_buf *b;
	size_t m, d;

	if (!v) {
		pf_fail(p, -ENOMEM);
		return UUID_THREAD | tid;
	}
	p->threads = v;
	v[p->n_threads] = tid;
	if (hindex_find(&p->thread_ix, h, thread_eq, p) >= 0)
		return UUID_THREAD | tid;
	if (!pf_process(p, tgid) || hindex_add(&p->thread_ix, h, (uint32_t)p->n_threads)) {
		pf_fail(p, -ENOMEM);
		return UUID_THREAD | tid;
	}
	p->n_threads++;
	b = pf_packet(p, 0);
	m = pb_begin(b, TP_TRACK_DESCRIPTOR);
	pb_varint_field(b, TD_UUID, UUID_THREAD | tid);
	pb_varint_field(b, TD_PARENT_UUID, UUID_PROCESS | tgid);
	d = pb_begin(b, TD_THREAD);
	pb_sint_field(b, THD_PID, tgid);
	pb_sint_field(b, THD_TID, tid);
	if (read_comm(tgid, tid, comm, sizeof(comm)))
		pb_string_field(b, THD_NAME, comm);
	pb_end(b, d);
	pb_end(b, m);
	pf_emit(p);
	return UUID_THREAD | tid;
}

void pf_counter_descriptor(struct perfetto *p, uint64_t uuid, uint64_t parent, const char *name,
			   const char *unit)
{
	struct pb_buf *b = pf_packet(p, 0);
	size_t m = pb_begin(b, TP_TRACK_DESCRIPTOR), c;

	pb_varint_field(b, TD_UUID, uuid);
	if (parent)
		pb_varint_field(b, TD_PARENT_UUID, parent);
	pb_string_field(b, TD_NAME, name);
	c = pb_begin(b, TD_COUNTER);
	pb_string_field(b, CD_UNIT_NAME, unit);
	pb_end(b, c);
	pb_end(b, m);
	pf_emit(p);
}

/* ---- counters ---- */

static void counter_point(struct perfetto *p, uint64_t uuid, uint64_t ts, double v)
{
	struct pb_buf *b = pf_packet(p, ts);
	size_t m = pb_begin(b, TP_TRACK_EVENT);

	pb_varint_field(b, TE_TYPE, TYPE_COUNTER);
	pb_varint_field(b, TE_TRACK_UUID, uuid);
	pb_double_field(b, TE_DOUBLE_COUNTER_VALUE, v);
	pb_end(b, m);
	pf_emit(p);
}

static void rate_point(struct perfetto *p, const struct rate *r)
{
	counter_point(p, r->uuid, r->bucket * PERFETTO_BUCKET_NS,
		      (double)r->count * 1e9 / (double)PERFETTO_BUCKET_NS);
}

/*
 * Add n at time ts. A bucket is written out when a later one begins, then
 * a zero where the rate pauses: each non-zero point lasts exactly one
 * bucket, so value x bucket summed over the track gives back the count.
 * Late arrivals (records of other CPUs, up to a bucket behind) join the
 * open bucket: counts are kept, their time is off by that much at most.
 */
void pf_rate_add(struct perfetto *p, struct rate *r, uint64_t ts, uint64_t n)
{
	uint64_t bucket = ts / PERFETTO_BUCKET_NS;

	if (r->open && bucket <= r->bucket) {
		r->count += n;
		return;
	}
	if (r->open) {
		rate_point(p, r);
		if (bucket > r->bucket + 1)
			counter_point(p, r->uuid, (r->bucket + 1) * PERFETTO_BUCKET_NS, 0);
	}
	r->open = true;
	r->bucket = bucket;
	r->count = n;
}

void pf_rate_close(struct perfetto *p, struct rate *r)
{
	if (!r->open)
		return;
	rate_point(p, r);
	counter_point(p, r->uuid, (r->bucket + 1) * PERFETTO_BUCKET_NS, 0);
	r->open = false;
}

/*
 * Bytes touched per process and segment: the kernel side keeps totals, not
 * a series, so each counter rises from 0 at the process's first use of the
 * segment to its total at its last fault on it (its name says so).
 */
#define PERFETTO_SEGMENT_TRACKS 4096
void pf_segment_counters(struct perfetto *p, const struct report *rep)
{
	char name[IPCPROF_SEG_NAME + 64];

	for (int i = 0; i < rep->n_seg_uses && i < PERFETTO_SEGMENT_TRACKS; i++) {
		const struct seg_use *u = &rep->seg_uses[i];
		uint64_t uuid = UUID_SEGMENT | (uint64_t)i;
		uint64_t end = u->s.last_ns > u->s.first_ns ? u->s.last_ns : u->s.first_ns;

		if (!u->bytes_touched || !u->s.first_ns || !pf_process(p, u->pid))
			continue;
		snprintf(name, sizeof(name), "shared bytes touched: %s (first use, last fault)",
			 u->s.name);
		pf_counter_descriptor(p, uuid, UUID_PROCESS | u->pid, name, "bytes");
		counter_point(p, uuid, u->s.first_ns, 0);
		counter_point(p, uuid, end, (double)u->bytes_touched);
	}
}
