// SPDX-License-Identifier: MIT
/*
 * Reading recordings (layout in record.h): one line at a time, each parsed
 * by json-c, checked against the caps in record_fields.h and turned into
 * report rows. Any error rejects the whole file with a one-line reason.
 */
#include "record.h"
#include "record_fields.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

struct decoder {
	struct report *rep;
	const char *name;
	char *err;
	size_t errlen;
	long line;
	bool header, done;
	int n_ends;
	json_tokener *tok;
};

static int bad(struct decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct decoder *d, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(d->err, d->errlen, "%s: line %ld: corrupt recording (%s)", d->name, d->line, why);
	return -EINVAL;
}

/* The fields of `fields` found in o, into base; absent ones stay 0. */
static int fields_get(struct decoder *d, json_object *o, void *base, const struct field *fields)
{
	const char *wrong = fields_from_json(o, base, fields);

	return wrong ? bad(d, "bad value for \"%s\"", wrong) : 0;
}

/* A string of at most cap bytes without NULs, owned by the report. */
static int str_get(struct decoder *d, json_object *v, size_t cap, const char *what, char **out)
{
	const char *s;
	int len;

	if (!json_object_is_type(v, json_type_string))
		return bad(d, "%s is not a string", what);
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if ((size_t)len > cap || strlen(s) != (size_t)len)
		return bad(d, "%s too long or with a NUL", what);
	*out = report_own(d->rep, strdup(s));
	return *out ? 0 : -ENOMEM;
}

static int header_get(struct decoder *d, json_object *h)
{
	struct report *rep = d->rep;
	json_object *v;
	char *s;
	int rc;

	if (!json_object_object_get_ex(h, "format", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), RECORD_FORMAT_NAME))
		return bad(d, "not an ipcprof recording");
	if (!json_object_object_get_ex(h, "version", &v) || !json_object_is_type(v, json_type_int))
		return bad(d, "no format version");
	if (json_object_get_int64(v) > RECORD_VERSION) {
		snprintf(d->err, d->errlen,
			 "%s: recording format %lld is newer than this ipcprof %s reads (%d): "
			 "use a newer ipcprof",
			 d->name, (long long)json_object_get_int64(v), IPCPROF_VERSION,
			 RECORD_VERSION);
		return -EINVAL;
	}
	if (json_object_get_int64(v) < RECORD_VERSION)
		return bad(d, "unknown format version");
	if (json_object_object_get_ex(h, "target", &v)) {
		if ((rc = str_get(d, v, MAX_TARGET, "target", &s)))
			return rc;
		rep->target = s;
	}
	if ((rc = fields_get(d, h, rep, report_fields)))
		return rc;
	if (json_object_object_get_ex(h, "measure", &v)) {
		if (!json_object_is_type(v, json_type_object))
			return bad(d, "measure is not an object");
		if ((rc = fields_get(d, v, &rep->measure, measure_fields)))
			return rc;
	}
	if (json_object_object_get_ex(h, "methods", &v)) {
		if (!json_object_is_type(v, json_type_object))
			return bad(d, "methods is not an object");
		for (int p = 0; p < PH_COUNT; p++) {
			json_object *m = NULL;

			if (!json_object_object_get_ex(v, phase_names[p], &m))
				continue;
			if ((rc = str_get(d, m, MAX_STR, "a method", &s)))
				return rc;
			rep->methods[p] = s;
		}
	}
	if (json_object_object_get_ex(h, "ipc_kernel_method", &v)) {
		if ((rc = str_get(d, v, MAX_STR, "ipc_kernel_method", &s)))
			return rc;
		rep->ipc_kernel_method = *s ? s : NULL;
	}
	return 0;
}

/*
 * Room for one more row of `size` bytes at the end of *rows (n used, at
 * most max, `what` naming them in the error): the new row, zeroed and not
 * yet counted; NULL with *rc set when there is none.
 */
static void *new_row(struct decoder *d, void **rows, int n, size_t size, int max, const char *what,
		     int *rc)
{
	char *v;

	if (n >= max) {
		*rc = bad(d, "more than %d %s", max, what);
		return NULL;
	}
	v = grow_array(*rows, (size_t)n, size);
	if (!v) {
		*rc = -ENOMEM;
		return NULL;
	}
	*rows = v;
	memset(v + (size_t)n * size, 0, size);
	return v + (size_t)n * size;
}

static int proc_get(struct decoder *d, json_object *o)
{
	struct report *rep = d->rep;
	struct proc_row *r;
	json_object *comm;
	int rc = 0;

	r = new_row(d, (void **)&rep->procs, rep->n_procs, sizeof(*r), MAX_PROCS, "processes", &rc);
	if (!r || (rc = fields_get(d, o, r, proc_fields)))
		return rc;
	/* recorded before the fault time's intervals were, per activity, and
	 * before rows said how their splits were measured */
	if (!json_object_object_get_ex(o, "fault_ci95_ns", NULL))
		proc_row_fault_ci95_from_phases(r);
	if (!json_object_object_get_ex(o, "faults_timed", NULL))
		r->faults_timed = rep->measure.exact_fault;
	if (!json_object_object_get_ex(o, "copy_timed", NULL))
		r->copy_timed = proc_row_copy_timed(r, &rep->measure);
	if (json_object_object_get_ex(o, "comm", &comm)) {
		const char *c = json_object_get_string(comm);
		int len = json_object_get_string_len(comm);

		if (!json_object_is_type(comm, json_type_string) || len >= IPCPROF_COMM_LEN ||
		    strlen(c) != (size_t)len)
			return bad(d, "bad comm");
		memcpy(r->comm, c, (size_t)len); /* the rest stays 0 */
	}
	rep->n_procs++;
	return 0;
}

static int channel_get(struct decoder *d, json_object *o)
{
	struct report *rep = d->rep;
	struct channel *c;
	int rc = 0;

	c = new_row(d, (void **)&rep->chans, rep->n_chans, sizeof(*c), MAX_CHANS, "channels", &rc);
	if (!c)
		return rc;
	rep->n_chans++; /* counted now: report_free frees its ends */
	return fields_get(d, o, c, channel_fields);
}

static int end_get(struct decoder *d, json_object *o)
{
	struct report *rep = d->rep;
	struct channel *c = rep->n_chans ? &rep->chans[rep->n_chans - 1] : NULL;
	struct chan_end *v, *e;
	int rc;

	if (!c)
		return bad(d, "a channel end before any channel");
	if (d->n_ends >= MAX_ENDS)
		return bad(d, "more than %d channel ends", MAX_ENDS);
	v = grow_array(c->ends, c->n_ends, sizeof(*c->ends));
	if (!v)
		return -ENOMEM;
	c->ends = v;
	e = &c->ends[c->n_ends];
	memset(e, 0, sizeof(*e));
	if ((rc = fields_get(d, o, e, end_fields)))
		return rc;
	c->n_ends++;
	d->n_ends++;
	channel_account(c, e);
	inet_ends_merge(&c->flow, &e->s.flow);
	return 0;
}

/* A string member of at most len - 1 bytes, without NULs. */
static int fixed_str_get(struct decoder *d, json_object *o, const char *key, char *dst, size_t len)
{
	json_object *v;
	const char *s;
	int n;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (!json_object_is_type(v, json_type_string) || (size_t)n >= len || strlen(s) != (size_t)n)
		return bad(d, "bad %s", key);
	memcpy(dst, s, (size_t)n);
	return 0;
}

static int site_get(struct decoder *d, json_object *o)
{
	struct report *rep = d->rep;
	struct call_site *c;
	int rc = 0;

	c = new_row(d, (void **)&rep->sites, rep->n_sites, sizeof(*c), MAX_SITES, "call sites",
		    &rc);
	if (!c || (rc = fields_get(d, o, c, site_fields)) ||
	    (rc = fixed_str_get(d, o, "file", c->file, sizeof(c->file))) ||
	    (rc = fixed_str_get(d, o, "function", c->function, sizeof(c->function))))
		return rc;
	rep->n_sites++;
	return 0;
}

/* One process's use of a shared segment, or one descriptor hand-off. */
static int seg_use_get(struct decoder *d, json_object *o)
{
	struct report *rep = d->rep;
	struct seg_use *v;
	int rc = 0;

	v = new_row(d, (void **)&rep->seg_uses, rep->n_seg_uses, sizeof(*v), MAX_SEG_USES,
		    "segment uses", &rc);
	if (!v || (rc = fields_get(d, o, v, seg_use_fields)) ||
	    (rc = fixed_str_get(d, o, "name", v->s.name, sizeof(v->s.name))) ||
	    (rc = fixed_str_get(d, o, "map_site", v->map_site, sizeof(v->map_site))))
		return rc;
	rep->n_seg_uses++;
	return 0;
}

static int fd_pass_get(struct decoder *d, json_object *o)
{
	struct report *rep = d->rep;
	struct fd_pass *v;
	int rc = 0;

	v = new_row(d, (void **)&rep->fd_passes, rep->n_fd_passes, sizeof(*v), MAX_FD_PASSES,
		    "descriptor hand-offs", &rc);
	if (!v || (rc = fields_get(d, o, v, fd_pass_fields)))
		return rc;
	rep->n_fd_passes++;
	return 0;
}

static int done_get(struct decoder *d, json_object *o)
{
	/* counts absent from older recordings stay UINT32_MAX: not checked */
	struct {
		uint32_t procs, channels, ends, sites, seg_uses, fd_passes;
	} want = {.sites = UINT32_MAX, .seg_uses = UINT32_MAX, .fd_passes = UINT32_MAX};
	static const struct field done_fields[] = {
	    NAMED("procs", typeof(want), procs),
	    NAMED("channels", typeof(want), channels),
	    NAMED("ends", typeof(want), ends),
	    NAMED("sites", typeof(want), sites),
	    NAMED("segment_uses", typeof(want), seg_uses),
	    NAMED("fd_passes", typeof(want), fd_passes),
	    END_FIELDS,
	};
	int rc = fields_get(d, o, &want, done_fields);

	if (rc)
		return rc;
	if (want.procs != (uint32_t)d->rep->n_procs || want.channels != (uint32_t)d->rep->n_chans ||
	    want.ends != (uint32_t)d->n_ends ||
	    (want.sites != UINT32_MAX && want.sites != (uint32_t)d->rep->n_sites) ||
	    (want.seg_uses != UINT32_MAX && want.seg_uses != (uint32_t)d->rep->n_seg_uses) ||
	    (want.fd_passes != UINT32_MAX && want.fd_passes != (uint32_t)d->rep->n_fd_passes))
		return bad(d, "counts disagree with the records");
	d->done = true;
	return 0;
}

static int string_list_get(struct decoder *d, json_object *v, bool note)
{
	struct report *rep = d->rep;
	char *s;
	int rc;

	if ((note ? rep->n_notes : rep->n_probes) >= MAX_NOTES)
		return bad(d, "more than %d %s", MAX_NOTES, note ? "notes" : "probes");
	if ((rc = str_get(d, v, MAX_STR, note ? "a note" : "a probe", &s)))
		return rc;
	rc = note ? report_add_note(rep, "%s", s) : report_add_probe(rep, s);
	return rc ? -ENOMEM : 0;
}

static int decode_line(struct decoder *d, const char *line, size_t len)
{
	json_object *o, *v = NULL;
	const char *key = NULL;
	int rc = 0;

	d->line++;
	if (len > MAX_LINE)
		return bad(d, "line longer than %d bytes", MAX_LINE);
	if (d->done)
		return bad(d, "data after the end");
	json_tokener_reset(d->tok);
	o = json_tokener_parse_ex(d->tok, line, (int)len);
	if (!o || json_tokener_get_parse_end(d->tok) != len ||
	    !json_object_is_type(o, json_type_object) || json_object_object_length(o) != 1) {
		json_object_put(o);
		if (!d->header) {
			snprintf(d->err, d->errlen, "%s: not an ipcprof recording", d->name);
			return -EINVAL;
		}
		return bad(d, "not a record");
	}
	json_object_object_foreach(o, k, val)
	{
		key = k;
		v = val;
	}
	if (!d->header) {
		if (strcmp(key, "recording") || !json_object_is_type(v, json_type_object)) {
			snprintf(d->err, d->errlen, "%s: not an ipcprof recording", d->name);
			rc = -EINVAL;
		} else if (!(rc = header_get(d, v))) {
			d->header = true;
		}
	} else if (!strcmp(key, "note") || !strcmp(key, "probe")) {
		rc = string_list_get(d, v, key[0] == 'n');
	} else if (!json_object_is_type(v, json_type_object)) {
		/* a record kind this version does not know may be anything */
		if (!strcmp(key, "proc") || !strcmp(key, "channel") || !strcmp(key, "end") ||
		    !strcmp(key, "site") || !strcmp(key, "done") || !strcmp(key, "recording") ||
		    !strcmp(key, "segment_use") || !strcmp(key, "fd_pass"))
			rc = bad(d, "%s is not an object", key);
	} else if (!strcmp(key, "proc")) {
		rc = proc_get(d, v);
	} else if (!strcmp(key, "channel")) {
		rc = channel_get(d, v);
	} else if (!strcmp(key, "end")) {
		rc = end_get(d, v);
	} else if (!strcmp(key, "site")) {
		rc = site_get(d, v);
	} else if (!strcmp(key, "segment_use")) {
		rc = seg_use_get(d, v);
	} else if (!strcmp(key, "fd_pass")) {
		rc = fd_pass_get(d, v);
	} else if (!strcmp(key, "done")) {
		rc = done_get(d, v);
	} else if (!strcmp(key, "recording")) {
		rc = bad(d, "a second header");
	}
	json_object_put(o);
	return rc;
}

static int decoder_init(struct decoder *d, struct report *rep, const char *name, char *err,
			size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->rep = rep;
	d->name = name;
	d->err = err;
	d->errlen = errlen;
	d->tok = json_tokener_new_ex(JSON_DEPTH);
	if (!d->tok) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	return 0;
}

/* Ends decoding whatever happened: rc is the result so far. */
static int decoder_finish(struct decoder *d, int rc)
{
	json_tokener_free(d->tok);
	if (!rc && !d->done) {
		snprintf(d->err, d->errlen,
			 d->header ? "%s: truncated or corrupt recording (no end record)"
				   : "%s: not an ipcprof recording",
			 d->name);
		rc = -EINVAL;
	}
	if (rc == -ENOMEM)
		snprintf(d->err, d->errlen, "%s: out of memory", d->name);
	if (!rc) {
		if (!d->rep->target)
			d->rep->target = ""; /* as for a live report: never NULL */
		report_finish(d->rep);
	}
	return rc;
}

int record_decode(const char *text, size_t len, const char *name, struct report *rep, char *err,
		  size_t errlen)
{
	struct decoder d;
	int rc = decoder_init(&d, rep, name, err, errlen);

	if (rc)
		return rc;
	for (size_t off = 0; !rc && off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);

		if (!nl) { /* the writer ends every line */
			d.line++;
			rc = bad(&d, "unterminated line");
			break;
		}
		rc = decode_line(&d, text + off, (size_t)(nl - text) - off);
		off = (size_t)(nl - text) + 1;
	}
	return decoder_finish(&d, rc);
}

/* The format before 3 began with this; tell its users what to do. */
static const char old_magic[] = "IPCPROF";

int record_read(const char *path, struct report *rep, char *err, size_t errlen)
{
	struct decoder d;
	char *line = NULL;
	gzFile gz = NULL;
	int fd, rc, zerr;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	gz = gzdopen(fd, "rb");
	line = malloc(MAX_LINE + 2);
	if (!gz || !line) {
		if (!gz)
			close(fd);
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto cleanup;
	}
	if ((rc = decoder_init(&d, rep, path, err, errlen)))
		goto cleanup;
	while (!rc && gzgets(gz, line, MAX_LINE + 2)) {
		size_t len = strlen(line);

		if (d.line == 0 && !strncmp(line, old_magic, strlen(old_magic))) {
			snprintf(err, errlen,
				 "%s: recording format 2 (an older ipcprof) is no longer read: "
				 "record it again",
				 path);
			rc = -EINVAL;
		} else if (len == 0 || line[len - 1] != '\n') {
			/* a line over the cap, a NUL, or the last line cut short */
			d.line++;
			rc = len > MAX_LINE ? bad(&d, "line longer than %d bytes", MAX_LINE)
					    : bad(&d, "unterminated line");
			gzerror(gz, &zerr);
			if (len <= MAX_LINE && zerr != Z_OK && zerr != Z_STREAM_END)
				rc = 0; /* cut short by the damage: said below */
			break;
		} else {
			rc = decode_line(&d, line, len - 1);
		}
	}
	gzerror(gz, &zerr);
	if (!rc && zerr != Z_OK && zerr != Z_STREAM_END) {
		/* gzip's own CRC and length checks, at the end of the stream */
		snprintf(err, errlen, "%s: truncated or corrupt recording (%s)", path,
			 gzerror(gz, &zerr));
		rc = -EINVAL;
	}
	rc = decoder_finish(&d, rc);
cleanup:
	if (gz)
		gzclose(gz);
	free(line);
	return rc;
}
