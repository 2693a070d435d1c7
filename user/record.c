// SPDX-License-Identifier: MIT
#include "record.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char magic[8] = "IPCPROF\n";

struct file_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t row_size; /* sizeof(struct proc_row) when written */
	uint32_t end_size; /* sizeof(struct chan_end) */
	uint64_t raw_len;  /* payload, uncompressed */
	uint64_t zlen;	   /* payload, compressed */
	uint32_t crc;	   /* CRC-32 of the uncompressed payload */
	uint32_t pad;
};
_Static_assert(sizeof(struct file_header) == 48, "the header is part of the file format");

/* ---- writing: a growable buffer ----------------------------------------- */

struct wbuf {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct wbuf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		unsigned char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

#define PUT(b, v) put((b), &(v), sizeof(v))

static void put_str(struct wbuf *b, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : 0;

	PUT(b, n);
	put(b, s, n);
}

static void put_strs(struct wbuf *b, char *const *v, int n)
{
	uint32_t count = (uint32_t)n;

	PUT(b, count);
	for (int i = 0; i < n; i++)
		put_str(b, v[i]);
}

static void encode(const struct report *rep, struct wbuf *b)
{
	uint32_t n_procs = (uint32_t)rep->n_procs, n_chans = (uint32_t)rep->n_chans;
	uint8_t interrupted = rep->interrupted;
	int32_t exit_status = rep->exit_status;

	put_str(b, rep->target);
	PUT(b, rep->start_ns);
	PUT(b, rep->end_ns);
	PUT(b, rep->sample_hz);
	PUT(b, rep->measure);
	PUT(b, interrupted);
	PUT(b, exit_status);
	PUT(b, rep->lost_events);
	PUT(b, rep->map_full);
	PUT(b, rep->memcpy_bps);
	PUT(b, rep->pipe_bps);
	for (int p = 0; p < PH_COUNT; p++)
		put_str(b, rep->methods[p]);
	put_str(b, rep->ipc_kernel_method);
	put_strs(b, rep->probes, rep->n_probes);
	put_strs(b, rep->notes, rep->n_notes);
	PUT(b, n_procs);
	put(b, rep->procs, sizeof(*rep->procs) * rep->n_procs);
	PUT(b, n_chans);
	for (int i = 0; i < rep->n_chans; i++) {
		const struct channel *c = &rep->chans[i];
		uint32_t n_ends = (uint32_t)c->n_ends;

		PUT(b, c->ino);
		PUT(b, c->peer_ino);
		PUT(b, c->dev);
		PUT(b, c->kind);
		PUT(b, n_ends);
		put(b, c->ends, sizeof(*c->ends) * c->n_ends);
	}
}

int record_write(const struct report *rep, FILE *f, const char *path, char *err, size_t errlen)
{
	struct file_header h = {.version = RECORD_VERSION,
				.header_size = sizeof(h),
				.row_size = sizeof(struct proc_row),
				.end_size = sizeof(struct chan_end)};
	struct wbuf b = {0};
	unsigned char *z = NULL;
	uLongf zlen;
	int rc = -EIO;

	encode(rep, &b);
	if (b.oom) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = -ENOMEM;
		goto cleanup;
	}
	zlen = compressBound(b.len);
	z = malloc(zlen);
	if (!z || compress2(z, &zlen, b.p, b.len, Z_BEST_COMPRESSION) != Z_OK) {
		snprintf(err, errlen, "%s: compression failed", path);
		goto cleanup;
	}
	memcpy(h.magic, magic, sizeof(magic));
	h.raw_len = b.len;
	h.zlen = zlen;
	h.crc = (uint32_t)crc32(0L, b.p, (uInt)b.len);
	if (fwrite(&h, sizeof(h), 1, f) != 1 || fwrite(z, 1, zlen, f) != zlen) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(z);
	free(b.p);
	return rc;
}

/* ---- reading: every length is checked against what is left ------------- */

struct rbuf {
	const unsigned char *p;
	size_t len, off;
	bool bad;
};

static bool get(struct rbuf *b, void *out, size_t n)
{
	if (b->bad || n > b->len - b->off) {
		b->bad = true;
		return false;
	}
	memcpy(out, b->p + b->off, n);
	b->off += n;
	return true;
}

#define GET(b, v) get((b), &(v), sizeof(v))

static char *get_str(struct rbuf *b, struct report *rep)
{
	uint32_t n = 0;
	char *s;

	if (!GET(b, n) || n > b->len - b->off) {
		b->bad = true;
		return NULL;
	}
	s = malloc((size_t)n + 1);
	if (!s) {
		b->bad = true;
		return NULL;
	}
	get(b, s, n);
	s[n] = '\0';
	return report_own(rep, s);
}

static void get_strs(struct rbuf *b, struct report *rep, bool notes)
{
	uint32_t n = 0;

	if (!GET(b, n) || n > b->len - b->off) { /* each string takes >= 4 bytes */
		b->bad = true;
		return;
	}
	for (uint32_t i = 0; i < n && !b->bad; i++) {
		char *s = get_str(b, rep);

		if (s && (notes ? report_add_note(rep, "%s", s) : report_add_probe(rep, s)))
			b->bad = true;
	}
}

static void *get_array(struct rbuf *b, uint32_t n, size_t size)
{
	void *v;

	if (b->bad || (uint64_t)n * size > b->len - b->off) {
		b->bad = true;
		return NULL;
	}
	v = calloc(array_cap(n ? n : 1), size); /* report_add_* may append */
	if (!v) {
		b->bad = true;
		return NULL;
	}
	get(b, v, (size_t)n * size);
	return v;
}

static void decode(struct rbuf *b, struct report *rep)
{
	uint32_t n_procs = 0, n_chans = 0;
	uint8_t interrupted = 0;
	int32_t exit_status = 0;

	rep->target = get_str(b, rep);
	GET(b, rep->start_ns);
	GET(b, rep->end_ns);
	GET(b, rep->sample_hz);
	GET(b, rep->measure);
	GET(b, interrupted);
	GET(b, exit_status);
	rep->interrupted = interrupted;
	rep->exit_status = exit_status;
	GET(b, rep->lost_events);
	GET(b, rep->map_full);
	GET(b, rep->memcpy_bps);
	GET(b, rep->pipe_bps);
	for (int p = 0; p < PH_COUNT; p++)
		rep->methods[p] = get_str(b, rep);
	rep->ipc_kernel_method = get_str(b, rep);
	if (rep->ipc_kernel_method && !*rep->ipc_kernel_method)
		rep->ipc_kernel_method = NULL;
	get_strs(b, rep, false);
	get_strs(b, rep, true);
	GET(b, n_procs);
	rep->procs = get_array(b, n_procs, sizeof(*rep->procs));
	rep->n_procs = rep->procs ? (int)n_procs : 0;
	GET(b, n_chans);
	if (b->bad || n_chans > b->len - b->off) {
		b->bad = true;
		return;
	}
	rep->chans = calloc(array_cap(n_chans ? n_chans : 1), sizeof(*rep->chans));
	if (!rep->chans) {
		b->bad = true;
		return;
	}
	for (uint32_t i = 0; i < n_chans && !b->bad; i++) {
		struct channel *c = &rep->chans[i];
		uint32_t n_ends = 0;

		GET(b, c->ino);
		GET(b, c->peer_ino);
		GET(b, c->dev);
		GET(b, c->kind);
		GET(b, n_ends);
		c->ends = get_array(b, n_ends, sizeof(*c->ends));
		c->n_ends = c->ends ? (int)n_ends : 0;
		rep->n_chans = (int)i + 1;
		for (int e = 0; e < c->n_ends; e++)
			channel_account(c, &c->ends[e]);
	}
	if (!b->bad && b->off != b->len)
		b->bad = true; /* trailing bytes: not what we wrote */
}

int record_read(const char *path, struct report *rep, char *err, size_t errlen)
{
	struct file_header h;
	unsigned char *z = NULL, *raw = NULL;
	struct rbuf b = {0};
	uLongf raw_len;
	FILE *f = fopen(path, "rb");
	long size;
	int rc = -EINVAL; /* not a readable recording, unless said otherwise */

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, magic, sizeof(magic))) {
		snprintf(err, errlen, "%s: not an ipcprof recording", path);
		goto cleanup;
	}
	if (h.version != RECORD_VERSION || h.header_size != sizeof(h) ||
	    h.row_size != sizeof(struct proc_row) || h.end_size != sizeof(struct chan_end)) {
		snprintf(err, errlen, "%s: recording format %u is not readable by ipcprof %s", path,
			 h.version, IPCPROF_VERSION);
		goto cleanup;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	if (size < 0 || (uint64_t)size != sizeof(h) + h.zlen || h.raw_len > (1ull << 32)) {
		snprintf(err, errlen,
			 "%s: truncated or corrupt recording (%ld bytes, expected %llu)", path,
			 size, (unsigned long long)(sizeof(h) + h.zlen));
		goto cleanup;
	}
	fseek(f, sizeof(h), SEEK_SET);
	z = malloc(h.zlen ? h.zlen : 1);
	raw = malloc(h.raw_len ? h.raw_len : 1);
	if (!z || !raw) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = -ENOMEM;
		goto cleanup;
	}
	raw_len = h.raw_len;
	if (fread(z, 1, h.zlen, f) != h.zlen || uncompress(raw, &raw_len, z, h.zlen) != Z_OK ||
	    raw_len != h.raw_len || (uint32_t)crc32(0L, raw, (uInt)raw_len) != h.crc) {
		snprintf(err, errlen, "%s: corrupt recording (checksum or compression error)",
			 path);
		goto cleanup;
	}
	b.p = raw;
	b.len = raw_len;
	decode(&b, rep);
	if (b.bad) {
		snprintf(err, errlen, "%s: corrupt recording (bad payload)", path);
		goto cleanup;
	}
	report_finish(rep);
	rc = 0;
cleanup:
	fclose(f);
	free(z);
	free(raw);
	return rc;
}
