// SPDX-License-Identifier: MIT
#include "compare.h"

#include <json.h>
#include <string.h>

#include "util.h"

/* One compared quantity: how to read it off a report and how to print it. */
struct row {
	const char *name;
	const char *field; /* as in the JSON report's totals (--fail-if names it so) */
	uint64_t (*get)(const struct report *r, int arg);
	int arg;
	bool bytes;
};

static uint64_t get_wall(const struct report *r, int arg)
{
	(void)arg;
	return r->totals.wall_ns;
}

static uint64_t get_phase(const struct report *r, int p)
{
	return r->totals.phase_ns[p];
}

/* exactly measured: the serializers' whole time, IPC calls on CPU */
static uint64_t get_activity(const struct report *r, int a)
{
	return a == ACT_IPC ? r->totals.ipc_oncpu_ns : r->totals.activity_ns[a];
}

static uint64_t get_bytes(const struct report *r, int written)
{
	return written ? r->totals.bytes_written : r->totals.bytes_read;
}

static uint64_t get_procs(const struct report *r, int arg)
{
	(void)arg;
	return (uint64_t)r->n_procs;
}

static uint64_t get_faults(const struct report *r, int type)
{
	uint64_t n = 0;

	for (int a = 0; a < ACT_COUNT; a++)
		n += r->totals.faults[a][type];
	return n;
}

#define N_ROWS (PH_COUNT + 9)

static void rows(struct row *v)
{
	int i = 0;

	v[i++] = (struct row){"wall", "wall_ns", get_wall, 0, false};
	v[i++] =
	    (struct row){"serializer (exact)", "serializer_ns", get_activity, ACT_SERIALIZE, false};
	v[i++] = (struct row){"deserializer (exact)", "deserializer_ns", get_activity,
			      ACT_DESERIALIZE, false};
	v[i++] = (struct row){"IPC on CPU (exact)", "ipc_oncpu_ns", get_activity, ACT_IPC, false};
	for (int p = 0; p < PH_COUNT; p++)
		v[i++] = (struct row){phase_names[p], phase_fields[p], get_phase, p, false};
	v[i++] = (struct row){"bytes written", "bytes_written", get_bytes, 1, true};
	v[i++] = (struct row){"bytes read", "bytes_read", get_bytes, 0, true};
	v[i++] = (struct row){"CoW faults", "faults_cow", get_faults, FT_COW, false};
	v[i++] = (struct row){"first-touch faults", "faults_first_touch", get_faults,
			      FT_NOT_PRESENT, false};
	v[i++] = (struct row){"processes", "processes", get_procs, 0, false};
}

static bool is_count(const struct row *r)
{
	return r->get == get_procs || r->get == get_faults;
}

bool compare_value(const struct report *r, const char *field, uint64_t *out, enum cmp_unit *unit)
{
	struct row v[N_ROWS];

	rows(v);
	for (int i = 0; i < N_ROWS; i++) {
		if (strcmp(v[i].field, field))
			continue;
		*out = v[i].get(r, v[i].arg);
		*unit = v[i].bytes ? CMP_BYTES : is_count(&v[i]) ? CMP_COUNT : CMP_NS;
		return true;
	}
	return false;
}

void compare_fields(char *buf, size_t len)
{
	struct row v[N_ROWS];
	size_t off = 0;

	rows(v);
	buf[0] = '\0';
	for (int i = 0; i < N_ROWS && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", v[i].field);
}

int compare_write_text(const struct report *a, const char *name_a, const struct report *b,
		       const char *name_b, FILE *out)
{
	struct row v[N_ROWS];
	char ba[32], bb[32];

	rows(v);
	fprintf(out, "A: %s (", name_a);
	fput_printable(out, a->target);
	fprintf(out, ")\nB: %s (", name_b);
	fput_printable(out, b->target);
	fprintf(out, ")\n\n");
	fprintf(out, "%-20s %12s %12s %10s\n", "", "A", "B", "B/A");
	for (int i = 0; i < N_ROWS; i++) {
		uint64_t x = v[i].get(a, v[i].arg), y = v[i].get(b, v[i].arg);

		if (is_count(&v[i])) {
			snprintf(ba, sizeof(ba), "%llu", (unsigned long long)x);
			snprintf(bb, sizeof(bb), "%llu", (unsigned long long)y);
		} else if (v[i].bytes) {
			fmt_bytes(x, ba, sizeof(ba));
			fmt_bytes(y, bb, sizeof(bb));
		} else {
			fmt_ns(x, ba, sizeof(ba));
			fmt_ns(y, bb, sizeof(bb));
		}
		if (x)
			fprintf(out, "%-20s %12s %12s %9.2fx\n", v[i].name, ba, bb,
				(double)y / (double)x);
		else
			fprintf(out, "%-20s %12s %12s %10s\n", v[i].name, ba, bb, y ? "new" : "-");
	}
	fprintf(out, "\nmethods:");
	for (int i = 0; i < 2; i++) {
		const struct report *r = i ? b : a;

		fprintf(out, "%s %c copy=", i ? ";" : "", 'A' + i);
		fput_printable(out, r->methods[PH_COPY] ? r->methods[PH_COPY] : "unavailable");
		fputs(" fault=", out);
		fput_printable(out, r->methods[PH_FAULT] ? r->methods[PH_FAULT] : "unavailable");
	}
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}

int compare_write_json(const struct report *a, const char *name_a, const struct report *b,
		       const char *name_b, FILE *out)
{
	json_object *root = json_object_new_object(), *ra = json_object_new_object();
	json_object *rb = json_object_new_object(), *ratio = json_object_new_object();
	struct row v[N_ROWS];
	int err;

	rows(v);
	json_object_object_add(root, "a", json_object_new_string(name_a));
	json_object_object_add(root, "b", json_object_new_string(name_b));
	json_object_object_add(root, "a_target",
			       json_object_new_string(a->target ? a->target : ""));
	json_object_object_add(root, "b_target",
			       json_object_new_string(b->target ? b->target : ""));
	for (int i = 0; i < N_ROWS; i++) {
		uint64_t x = v[i].get(a, v[i].arg), y = v[i].get(b, v[i].arg);

		json_object_object_add(ra, v[i].name, json_object_new_uint64(x));
		json_object_object_add(rb, v[i].name, json_object_new_uint64(y));
		json_object_object_add(ratio, v[i].name,
				       x ? json_object_new_double((double)y / (double)x) : NULL);
	}
	json_object_object_add(root, "a_values", ra);
	json_object_object_add(root, "b_values", rb);
	json_object_object_add(root, "ratio_b_over_a", ratio);
	err =
	    fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY)) < 0;
	json_object_put(root);
	return err ? -1 : 0;
}
