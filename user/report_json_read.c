// SPDX-License-Identifier: MIT
/*
 * JSON reports (what `--format json` writes) read back for `compare`, so a
 * CI job can keep a baseline as plain JSON. The file is untrusted input:
 * json-c parses it under a depth limit from a size-capped buffer; every
 * member used is type- and range-checked, and a missing or wrong one is a
 * one-line error naming it. Only what compare needs is read: the target,
 * methods, totals and the process rows.
 */
#include "report_json_read.h"

#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a hostile file can make compare allocate: json-c gives every object a
 * hash table of ~700 bytes, so objects and arrays are counted before parsing
 * (a report has ~9 per process: 1M covers MAX_PROCS) and the bytes capped
 * (64 MiB: ~40,000 processes at ~1.5 KiB each). */
#define MAX_REPORT_BYTES (64u << 20)
#define MAX_CONTAINERS	 (1u << 20)
#define MAX_DEPTH	 16
#define MAX_PROCS	 65536
#define REPORT_HEAD	 "{\n  \"tool\":\"ipcprof\"" /* how report_json.c begins */

struct jreader {
	const char *name;
	char *err;
	size_t errlen;
};

static int bad(struct jreader *r, const char *what, const char *why)
{
	snprintf(r->err, r->errlen, "%s: not an ipcprof JSON report: %s %s", r->name, what, why);
	return -EINVAL;
}

static int get_u64(struct jreader *r, json_object *o, const char *key, uint64_t *out)
{
	json_object *v;
	int64_t i;

	if (!json_object_object_get_ex(o, key, &v))
		return bad(r, key, "is missing");
	if (!json_object_is_type(v, json_type_int))
		return bad(r, key, "is not an integer");
	/* json-c keeps unsigned values above INT64_MAX apart */
	if (json_object_get_int64(v) == INT64_MAX) {
		*out = json_object_get_uint64(v);
		return 0;
	}
	i = json_object_get_int64(v);
	if (i < 0)
		return bad(r, key, "is negative");
	*out = (uint64_t)i;
	return 0;
}

static int get_str(struct jreader *r, struct report *rep, json_object *o, const char *key,
		   const char **out)
{
	json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return bad(r, key, "is missing or not a string");
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (memchr(s, '\0', len) || len > 65536)
		return bad(r, key, "is not a short string");
	*out = report_own(rep, strndup(s, len));
	if (!*out) {
		snprintf(r->err, r->errlen, "%s: out of memory", r->name);
		return -ENOMEM;
	}
	return 0;
}

/*
 * The exactly timed wholes: IPC calls on CPU and the serializers
 * (faults_by_activity.*.activity_ns). Reports older than these fields read
 * as 0 there; present, they must be well formed.
 */
static int read_exact_times(struct jreader *r, json_object *o, struct proc_row *row)
{
	static const int acts[] = {ACT_SERIALIZE, ACT_DESERIALIZE};
	json_object *by, *a;
	int rc = 0;

	if (json_object_object_get_ex(o, "ipc_oncpu_ns", NULL))
		rc = get_u64(r, o, "ipc_oncpu_ns", &row->ipc_oncpu_ns);
	if (rc || !json_object_object_get_ex(o, "faults_by_activity", &by))
		return rc;
	if (!json_object_is_type(by, json_type_object))
		return bad(r, "faults_by_activity", "is not an object");
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]) && !rc; i++) {
		if (!json_object_object_get_ex(by, activity_names[acts[i]], &a) ||
		    !json_object_is_type(a, json_type_object))
			return bad(r, activity_names[acts[i]], "is missing or not an object");
		rc = get_u64(r, a, "activity_ns", &row->activity_ns[acts[i]]);
	}
	return rc;
}

/* Phases, bytes, faults, calls of one row (totals or a process). */
static int read_row(struct jreader *r, json_object *o, struct proc_row *row)
{
	static const char *const fault_keys[FT_COUNT] = {[FT_COW] = "faults_cow",
							 [FT_NOT_PRESENT] = "faults_first_touch",
							 [FT_OTHER] = "faults_other"};
	int rc = 0;

	rc = get_u64(r, o, "wall_ns", &row->wall_ns);
	if (!rc)
		rc = get_u64(r, o, "thread_ns", &row->thread_ns);
	for (int p = 0; p < PH_COUNT && !rc; p++)
		rc = get_u64(r, o, phase_fields[p], &row->phase_ns[p]);
	if (!rc)
		rc = get_u64(r, o, "bytes_written", &row->bytes_written);
	if (!rc)
		rc = get_u64(r, o, "bytes_read", &row->bytes_read);
	if (!rc)
		rc = get_u64(r, o, "ipc_calls", &row->ipc_calls);
	if (!rc)
		rc = get_u64(r, o, "serialize_calls", &row->serialize_calls);
	if (!rc)
		rc = get_u64(r, o, "deserialize_calls", &row->deserialize_calls);
	/* per type only: compare adds the activities up */
	for (int t = 0; t < FT_COUNT && !rc; t++)
		rc = get_u64(r, o, fault_keys[t], &row->faults[ACT_OTHER][t]);
	if (!rc)
		rc = read_exact_times(r, o, row);
	return rc;
}

static int read_procs(struct jreader *r, json_object *root, struct report *rep)
{
	json_object *arr, *o, *v;
	size_t n;
	int rc = 0;

	if (!json_object_object_get_ex(root, "processes", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return bad(r, "processes", "is missing or not an array");
	n = json_object_array_length(arr);
	if (n > MAX_PROCS)
		return bad(r, "processes", "has too many entries");
	rep->procs = calloc(n ? n : 1, sizeof(*rep->procs));
	if (!rep->procs) {
		snprintf(r->err, r->errlen, "%s: out of memory", r->name);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct proc_row *row = &rep->procs[i];
		const char *comm = NULL;
		uint64_t pid = 0, ppid = 0;

		o = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(o, json_type_object))
			return bad(r, "processes[]", "holds a non-object");
		rc = get_u64(r, o, "pid", &pid);
		if (!rc)
			rc = get_u64(r, o, "ppid", &ppid);
		if (!rc && (pid > INT32_MAX || ppid > INT32_MAX))
			rc = bad(r, "pid", "is out of range");
		if (!rc)
			rc = get_str(r, rep, o, "comm", &comm);
		if (!rc)
			rc = read_row(r, o, row);
		if (rc)
			break;
		row->pid = (uint32_t)pid;
		row->ppid = (uint32_t)ppid;
		snprintf(row->comm, sizeof(row->comm), "%s", comm);
		row->exited =
		    json_object_object_get_ex(o, "exited", &v) && json_object_get_boolean(v);
		rep->n_procs = (int)i + 1;
	}
	return rc;
}

/* Objects and arrays in a JSON text, brackets inside strings aside. */
static size_t count_containers(const char *s, size_t n)
{
	size_t count = 0;
	bool in_str = false;

	for (size_t i = 0; i < n; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = false;
		} else if (s[i] == '"') {
			in_str = true;
		} else if (s[i] == '{' || s[i] == '[') {
			count++;
		}
	}
	return count;
}

int report_json_decode(const char *data, size_t len, const char *name, struct report *rep,
		       char *err, size_t errlen)
{
	struct jreader r = {.name = name, .err = err, .errlen = errlen};
	json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
	json_object *root = NULL, *o;
	const char *start;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (!tok) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	/* `ipcprof run` prints the report after the command's own output:
	 * start where our writer's first line is, else at the first line that
	 * opens an object (a report re-indented by another tool) */
	start = memmem(data, len, REPORT_HEAD, strlen(REPORT_HEAD));
	if (!start)
		start = len && data[0] == '{' ? data : memmem(data, len, "\n{", 2);
	if (start && *start == '\n')
		start++;
	if (!start || len - (size_t)(start - data) > INT_MAX) {
		rc = bad(&r, "the file", "holds no JSON object");
		goto cleanup;
	}
	if (count_containers(start, len - (size_t)(start - data)) > MAX_CONTAINERS) {
		rc = bad(&r, "the file", "holds too many objects and arrays");
		goto cleanup;
	}
	root = json_tokener_parse_ex(tok, start, (int)(len - (size_t)(start - data)));
	if (!root || !json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "%s: not a JSON report: %s", name,
			 root ? "not an object"
			      : json_tokener_error_desc(json_tokener_get_error(tok)));
		rc = -EINVAL;
		goto cleanup;
	}
	/* a JSON null is a NULL object here: the type first */
	if (!json_object_object_get_ex(root, "tool", &o) ||
	    !json_object_is_type(o, json_type_string) ||
	    strcmp(json_object_get_string(o), "ipcprof")) {
		rc = bad(&r, "tool", "is not \"ipcprof\"");
		goto cleanup;
	}
	rc = get_str(&r, rep, root, "target", &rep->target);
	if (!rc && !json_object_object_get_ex(root, "totals", &o))
		rc = bad(&r, "totals", "is missing");
	if (!rc && !json_object_is_type(o, json_type_object))
		rc = bad(&r, "totals", "is not an object");
	if (!rc)
		rc = read_row(&r, o, &rep->totals);
	if (!rc && json_object_object_get_ex(root, "methods", &o) &&
	    json_object_is_type(o, json_type_object))
		for (int p = 0; p < PH_COUNT && !rc; p++)
			if (json_object_object_get_ex(o, phase_names[p], NULL))
				rc = get_str(&r, rep, o, phase_names[p], &rep->methods[p]);
	if (!rc)
		rc = read_procs(&r, root, rep);
	rep->exit_status = -1;
cleanup:
	json_object_put(root);
	json_tokener_free(tok);
	if (rc)
		report_free(rep);
	return rc;
}

int report_json_read(const char *path, struct report *rep, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = 0;

	memset(rep, 0, sizeof(*rep));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_REPORT_BYTES) {
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto fail;
		}
		got += (size_t)n;
	}
	close(fd);
	rc = report_json_decode(buf, got, path, rep, err, errlen);
	free(buf);
	return rc;
fail:
	snprintf(err, errlen, "%s: %s", path, rc == -EINVAL ? "not a regular file" : strerror(-rc));
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

bool report_file_is_json(const char *path)
{
	unsigned char magic[2] = {0, 0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool gz;

	if (fd < 0)
		return false; /* the recording reader says why */
	gz = read(fd, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
	close(fd);
	return !gz;
}
