/* SPDX-License-Identifier: MIT */
/*
 * The Perfetto writer's insides, shared by its parts: perfetto.c (the
 * sequence, interned names, slices), perfetto_tracks.c (process, thread
 * and counter tracks) and perfetto_flows.c (channels: bytes/s and the
 * write -> read arrows). Not for other files.
 */
#ifndef IPCPROF_PERFETTO_PRIV_H
#define IPCPROF_PERFETTO_PRIV_H

#include "hindex.h"
#include "perfetto.h"
#include "protowire.h"

enum {
	TRACE_PACKET = 1,
	/* TracePacket */
	TP_CLOCK_SNAPSHOT = 6,
	TP_TIMESTAMP = 8,
	TP_SEQUENCE_ID = 10,
	TP_TRACK_EVENT = 11,
	TP_INTERNED_DATA = 12,
	TP_SEQUENCE_FLAGS = 13,
	TP_TIMESTAMP_CLOCK_ID = 58,
	TP_DEFAULTS = 59,
	TP_TRACK_DESCRIPTOR = 60,
	/* ClockSnapshot */
	CS_CLOCKS = 1,
	CS_CLOCK_ID = 1,
	CS_CLOCK_TIMESTAMP = 2,
	/* TrackDescriptor */
	TD_UUID = 1,
	TD_NAME = 2,
	TD_PROCESS = 3,
	TD_THREAD = 4,
	TD_PARENT_UUID = 5,
	TD_COUNTER = 8,
	PD_PID = 1,
	PD_NAME = 6,
	THD_PID = 1,
	THD_TID = 2,
	THD_NAME = 5,
	CD_UNIT_NAME = 6,
	/* TrackEvent */
	TE_CATEGORY_IIDS = 3,
	TE_DEBUG_ANNOTATIONS = 4,
	TE_TYPE = 9,
	TE_NAME_IID = 10,
	TE_TRACK_UUID = 11,
	TE_DOUBLE_COUNTER_VALUE = 44,
	TE_FLOW_IDS = 47,
	TE_TERMINATING_FLOW_IDS = 48,
	/* DebugAnnotation */
	DA_NAME_IID = 1,
	DA_UINT = 3,
	DA_INT = 4,
	DA_STRING = 6,
	/* InternedData, and EventCategory/EventName/DebugAnnotationName */
	ID_CATEGORIES = 1,
	ID_EVENT_NAMES = 2,
	ID_ANNOTATION_NAMES = 3,
	IID = 1,
	IID_NAME = 2,
};

enum { TYPE_SLICE_BEGIN = 1, TYPE_SLICE_END = 2, TYPE_INSTANT = 3, TYPE_COUNTER = 4 };
enum { SEQ_INCREMENTAL_STATE_CLEARED = 1, SEQ_NEEDS_INCREMENTAL_STATE = 2 };
enum { CLOCK_ID_MONOTONIC = 3, CLOCK_ID_BOOTTIME = 6 };
#define SEQUENCE_ID 1

/* Track uuids: a kind in the top bits, a pid, tid or counter number below. */
#define UUID_PROCESS	  (1ull << 40)
#define UUID_THREAD	  (2ull << 40)
#define UUID_CHANNEL_RATE (3ull << 40)
#define UUID_FAULT_RATE	  (4ull << 40)
#define UUID_SEGMENT	  (5ull << 40)

/* A counter track of a rate, summed into fixed buckets. */
struct rate {
	uint64_t uuid;
	uint64_t bucket, count;
	bool open;	/* a bucket is being summed */
	bool announced; /* its track descriptor is out */
};

/* A write or read waiting for its flow partner (see match_write()). */
struct pending {
	uint64_t off, end; /* the bytes it moved in the channel's stream */
	uint64_t start_ns, end_ns;
	uint32_t tgid, tid;
};

/* per channel and direction: beyond, the newest get no arrow (the oldest
 * are the ones the next partner matches: the read holding the next
 * write's first byte, the write whose bytes the next read gets) */
#define MAX_PENDING 256
/* The writer's memory stays bounded on runs of any length: at most this many
 * unmatched ends in all (~2.5 MiB), and counters and flows for this many
 * channels (a later channel's calls still appear as slices). */
#define MAX_PENDING_ALL 65536
#define MAX_PF_CHANS	65536
/* When they are all taken, ends older than this (in trace time) make room:
 * channels whose peer is never seen must not starve the others' flows. */
#define PENDING_MAX_AGE_NS 10000000000ull

struct pf_chan {
	uint64_t ino;
	uint32_t dev;
	uint8_t kind;
	char name[CHAN_NAME_MAX];
	struct rate rate[2];	    /* by enum dir */
	uint64_t stream_off[2];	    /* bytes written / read so far */
	struct pending *waiting[2]; /* writes without their read, reads without their write */
	unsigned n_waiting[2];
};

struct pf_proc {
	uint32_t pid;
	bool named;
	struct rate faults;
};

struct perfetto {
	FILE *f;
	struct pb_buf pkt;
	int err; /* first failure: -ENOMEM or -EIO */
	perfetto_site_fn site_fn;
	void *site_ctx;
	uint64_t next_flow;

	struct pf_proc *procs;
	size_t n_procs;
	struct hindex proc_ix;
	uint32_t *threads;
	size_t n_threads;
	struct hindex thread_ix;
	struct pf_chan *chans;
	size_t n_chans;
	unsigned n_pending_all; /* waiting[] entries of all channels */
	uint64_t last_sweep_ns; /* when old ends were last dropped */
	struct hindex chan_ix;
	char **names; /* interned event names; iid = position + 1 */
	size_t n_names;
	struct hindex name_ix;
	uint64_t iid_sent, iid_received; /* the flows' instants */
};

/* Interned categories: slice kinds 1..SL_COUNT, then flows; annotation
 * names (their strings in perfetto.c). */
#define CAT_FLOW (SL_COUNT + 1)
enum { ANN_CHANNEL = 1, ANN_BYTES, ANN_ERRNO, ANN_BLOCKED_NS, ANN_CALL_SITE, ANN_COUNT };

/* perfetto.c */
void pf_fail(struct perfetto *p, int err);
struct pb_buf *pf_packet(struct perfetto *p, uint64_t ts); /* a TracePacket on our sequence */
void pf_emit(struct perfetto *p);			   /* ... appended to the file */

/* perfetto_tracks.c */
struct pf_proc *pf_process(struct perfetto *p, uint32_t pid); /* announced on first use */
uint64_t pf_thread_track(struct perfetto *p, uint32_t tgid, uint32_t tid);
void pf_process_descriptor(struct perfetto *p, uint32_t pid, const char *name);
void pf_counter_descriptor(struct perfetto *p, uint64_t uuid, uint64_t parent, const char *name,
			   const char *unit);
void pf_rate_add(struct perfetto *p, struct rate *r, uint64_t ts, uint64_t n);
void pf_rate_close(struct perfetto *p, struct rate *r);
/* Each process's bytes touched in each shared segment, from the report. */
void pf_segment_counters(struct perfetto *p, const struct report *rep);

/* perfetto_flows.c */
void pf_ipc_bytes(struct perfetto *p, const struct slice_event *s);

#endif
