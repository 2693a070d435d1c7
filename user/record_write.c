// SPDX-License-Identifier: MIT
/*
 * Writing recordings, format 3: gzip'd JSON lines (layout in record.h).
 *
 * Why JSON lines and not the structs: a struct dump ties the file to one
 * build's layout and endianness and trusts whatever lengths it holds. Named
 * fields survive additions in either direction, json-c escapes strings,
 * and the reader parses one line at a time, so its memory stays bounded by
 * the caps in record_fields.h whatever a file claims.
 */
#include "record.h"
#include "record_fields.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A string capped as the reader caps it (a longer one is cut, not refused). */
static json_object *str_json(const char *s, size_t cap)
{
	size_t n = s ? strnlen(s, cap) : 0;

	return json_object_new_string_len(s ? s : "", (int)n);
}

/* gzip through deflate into the caller's stream, so its error state (and
 * the atomic commit in outfile.c) sees every byte */
struct gz_out {
	z_stream zs;
	FILE *f;
	bool failed;
	unsigned char buf[16384];
};

static void gz_put(struct gz_out *g, const void *data, size_t n, int flush)
{
	g->zs.next_in = (Bytef *)data;
	g->zs.avail_in = (uInt)n;
	do {
		size_t have;

		g->zs.next_out = g->buf;
		g->zs.avail_out = sizeof(g->buf);
		if (deflate(&g->zs, flush) == Z_STREAM_ERROR)
			g->failed = true;
		have = sizeof(g->buf) - g->zs.avail_out;
		if (have && fwrite(g->buf, 1, have, g->f) != have)
			g->failed = true;
	} while (g->zs.avail_out == 0 && !g->failed);
}

/* One line {"key": value}; takes the reference to value. */
static void put_line(struct gz_out *g, const char *key, json_object *value)
{
	json_object *line = json_object_new_object();
	const char *s;
	size_t len;

	json_object_object_add(line, key, value);
	s = json_object_to_json_string_length(
	    line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s || len > MAX_LINE)
		g->failed = true;
	else {
		gz_put(g, s, len, Z_NO_FLUSH);
		gz_put(g, "\n", 1, Z_NO_FLUSH);
	}
	json_object_put(line);
}

static json_object *header_json(const struct report *rep)
{
	json_object *h = json_object_new_object(), *m = json_object_new_object(),
		    *methods = json_object_new_object();

	json_object_object_add(h, "format", json_object_new_string(RECORD_FORMAT_NAME));
	json_object_object_add(h, "version", json_object_new_int(RECORD_VERSION));
	json_object_object_add(h, "writer", json_object_new_string("ipcprof " IPCPROF_VERSION));
	json_object_object_add(h, "target", str_json(rep->target, MAX_TARGET));
	fields_to_json(h, rep, report_fields);
	fields_to_json(m, &rep->measure, measure_fields);
	json_object_object_add(h, "measure", m);
	for (int p = 0; p < PH_COUNT; p++)
		if (rep->methods[p])
			json_object_object_add(methods, phase_names[p],
					       str_json(rep->methods[p], MAX_STR));
	json_object_object_add(h, "methods", methods);
	if (rep->ipc_kernel_method)
		json_object_object_add(h, "ipc_kernel_method",
				       str_json(rep->ipc_kernel_method, MAX_STR));
	return h;
}

static void encode(const struct report *rep, struct gz_out *g)
{
	json_object *done = json_object_new_object();
	uint64_t n_ends = 0;

	put_line(g, "recording", header_json(rep));
	for (int i = 0; i < rep->n_notes; i++)
		put_line(g, "note", str_json(rep->notes[i], MAX_STR));
	for (int i = 0; i < rep->n_probes; i++)
		put_line(g, "probe", str_json(rep->probes[i], MAX_STR));
	for (int i = 0; i < rep->n_procs; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "comm",
				       str_json(rep->procs[i].comm, IPCPROF_COMM_LEN - 1));
		fields_to_json(o, &rep->procs[i], proc_fields);
		put_line(g, "proc", o);
	}
	for (int i = 0; i < rep->n_chans; i++) {
		const struct channel *c = &rep->chans[i];
		json_object *o = json_object_new_object();

		fields_to_json(o, c, channel_fields);
		put_line(g, "channel", o);
		for (int e = 0; e < c->n_ends; e++) {
			o = json_object_new_object();
			fields_to_json(o, &c->ends[e], end_fields);
			put_line(g, "end", o);
			n_ends++;
		}
	}
	for (int i = 0; i < rep->n_sites; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "file", str_json(rep->sites[i].file, IPCPROF_PY_STR - 1));
		json_object_object_add(o, "function",
				       str_json(rep->sites[i].function, IPCPROF_PY_STR - 1));
		fields_to_json(o, &rep->sites[i], site_fields);
		put_line(g, "site", o);
	}
	for (int i = 0; i < rep->n_seg_uses; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name",
				       str_json(rep->seg_uses[i].s.name, IPCPROF_SEG_NAME - 1));
		json_object_object_add(
		    o, "map_site",
		    str_json(rep->seg_uses[i].map_site, sizeof(rep->seg_uses[i].map_site) - 1));
		fields_to_json(o, &rep->seg_uses[i], seg_use_fields);
		put_line(g, "segment_use", o);
	}
	for (int i = 0; i < rep->n_fd_passes; i++) {
		json_object *o = json_object_new_object();

		fields_to_json(o, &rep->fd_passes[i], fd_pass_fields);
		put_line(g, "fd_pass", o);
	}
	json_object_object_add(done, "segment_uses", json_object_new_int(rep->n_seg_uses));
	json_object_object_add(done, "fd_passes", json_object_new_int(rep->n_fd_passes));
	json_object_object_add(done, "sites", json_object_new_int(rep->n_sites));
	json_object_object_add(done, "procs", json_object_new_int(rep->n_procs));
	json_object_object_add(done, "channels", json_object_new_int(rep->n_chans));
	json_object_object_add(done, "ends", json_object_new_uint64(n_ends));
	put_line(g, "done", done);
}

static bool within_caps(const struct report *rep)
{
	int n_ends = 0;

	for (int i = 0; i < rep->n_chans; i++)
		n_ends += rep->chans[i].n_ends;
	return rep->n_procs <= MAX_PROCS && rep->n_chans <= MAX_CHANS && n_ends <= MAX_ENDS &&
	       rep->n_notes <= MAX_NOTES && rep->n_probes <= MAX_NOTES &&
	       rep->n_sites <= MAX_SITES && rep->n_seg_uses <= MAX_SEG_USES &&
	       rep->n_fd_passes <= MAX_FD_PASSES;
}

int record_write(const struct report *rep, FILE *f, const char *path, char *err, size_t errlen)
{
	struct gz_out *g;
	int rc = -EIO;

	if (!within_caps(rep)) {
		snprintf(err, errlen, "%s: too many processes or channels for a recording", path);
		return -E2BIG;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	g->f = f;
	errno = 0;
	/* 15 + 16: a gzip wrapper, so zcat and gzip -t work on recordings */
	if (deflateInit2(&g->zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		snprintf(err, errlen, "%s: compression failed", path);
		free(g);
		return -EIO;
	}
	encode(rep, g);
	gz_put(g, "", 0, Z_FINISH);
	deflateEnd(&g->zs);
	if (g->failed || ferror(f)) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	} else {
		rc = 0;
	}
	free(g);
	return rc;
}
