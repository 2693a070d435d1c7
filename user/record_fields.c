// SPDX-License-Identifier: MIT
/* Field tables of recordings and their JSON conversion (record_fields.h). */
#include "record_fields.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define FAMILY_KEY(id, key, words) [id] = key,
static const char *const fam_keys[FAM_COUNT] = {IPC_FAMILIES(FAMILY_KEY)};
#undef FAMILY_KEY
static const char *const fault_keys[FT_COUNT] = {"cow", "first_touch", "other"};

const struct field measure_fields[] = {
    SCALAR(struct measure, sample_hz),
    ARRAY(struct measure, exact_copy, fam_keys),
    SCALAR(struct measure, exact_fault),
    SCALAR(struct measure, exact_fork),
    SCALAR(struct measure, exact_mmap),
    SCALAR(struct measure, ipc_kernel),
    END_FIELDS,
};

const struct field report_fields[] = {
    SCALAR(struct report, start_ns),
    SCALAR(struct report, end_ns),
    SCALAR(struct report, sample_hz),
    SCALAR(struct report, interrupted),
    SCALAR(struct report, exit_status),
    SCALAR(struct report, lost_events),
    SCALAR(struct report, map_full),
    SCALAR(struct report, memcpy_bps),
    SCALAR(struct report, pipe_bps),
    SCALAR(struct report, thread_sample_hz),
    END_FIELDS,
};

const struct field proc_fields[] = {
    SCALAR(struct proc_row, pid),
    SCALAR(struct proc_row, ppid),
    SCALAR(struct proc_row, exited),
    SCALAR(struct proc_row, exit_code),
    SCALAR(struct proc_row, start_ns),
    SCALAR(struct proc_row, end_ns),
    SCALAR(struct proc_row, wall_ns),
    SCALAR(struct proc_row, thread_ns),
    ARRAY(struct proc_row, phase_ns, phase_names),
    SCALAR(struct proc_row, serialize_calls),
    SCALAR(struct proc_row, deserialize_calls),
    SCALAR(struct proc_row, ipc_calls),
    SCALAR(struct proc_row, ipc_oncpu_ns),
    SCALAR(struct proc_row, blocked_poll_ns),
    SCALAR(struct proc_row, bytes_read),
    SCALAR(struct proc_row, bytes_written),
    ARRAY(struct proc_row, ipc_oncpu_fam_ns, fam_keys),
    SCALAR(struct proc_row, fork_calls),
    SCALAR(struct proc_row, first_run_ns),
    SCALAR(struct proc_row, mmap_calls),
    SCALAR(struct proc_row, mmap_bytes),
    SCALAR(struct proc_row, ipc_kernel_ns),
    SCALAR(struct proc_row, copy_sampled_ns),
    SCALAR(struct proc_row, ser_sampled_ns),
    SCALAR(struct proc_row, samples_total),
    SCALAR(struct proc_row, samples_ipc),
    SCALAR(struct proc_row, samples_copy),
    {"faults", offsetof(struct proc_row, faults), T_U64, ACT_COUNT, FT_COUNT, activity_names,
     fault_keys, 0},
    SCALAR(struct proc_row, faults_kernel),
    ARRAY(struct proc_row, fault_samples, activity_names),
    ARRAY(struct proc_row, user_samples, activity_names),
    ARRAY(struct proc_row, act_samples, activity_names),
    ARRAY(struct proc_row, fault_ns, activity_names),
    ARRAY(struct proc_row, fault_ci95_ns, activity_names),
    ARRAY(struct proc_row, ci95_ns, phase_names),
    ARRAY(struct proc_row, activity_ns, activity_names),
    SCALAR(struct proc_row, copy_timed),
    SCALAR(struct proc_row, faults_timed),
    SCALAR(struct proc_row, ser_partial),
    END_FIELDS,
};

const struct field site_fields[] = {
    SCALAR(struct call_site, pid),
    SCALAR(struct call_site, line),
    SCALAR(struct call_site, user_frame),
    NAMED("ipc_calls", struct call_site, s.ipc_calls),
    NAMED("bytes_written", struct call_site, s.bytes_written),
    NAMED("bytes_read", struct call_site, s.bytes_read),
    NAMED("syscall_ns", struct call_site, s.syscall_ns),
    NAMED("blocked_ns", struct call_site, s.blocked_ns),
    NAMED("serialize_calls", struct call_site, s.serialize_calls),
    NAMED("serialize_ns", struct call_site, s.serialize_ns),
    NAMED("deserialize_calls", struct call_site, s.deserialize_calls),
    NAMED("deserialize_ns", struct call_site, s.deserialize_ns),
    NAMED("faults_cow", struct call_site, s.faults[FT_COW]),
    NAMED("faults_first_touch", struct call_site, s.faults[FT_NOT_PRESENT]),
    NAMED("faults_other", struct call_site, s.faults[FT_OTHER]),
    END_FIELDS,
};

const struct field channel_fields[] = {
    SCALAR(struct channel, ino),
    SCALAR(struct channel, peer_ino),
    SCALAR(struct channel, dev),
    ENUM(struct channel, kind, IPC_KIND_MAX),
    END_FIELDS,
};

const struct field end_fields[] = {
    SCALAR(struct chan_end, tgid),
    ENUM(struct chan_end, dir, DIR_WRITE),
    NAMED("calls", struct chan_end, s.calls),
    NAMED("bytes", struct chan_end, s.bytes),
    NAMED("oncpu_ns", struct chan_end, s.oncpu_ns),
    NAMED("blocked_ns", struct chan_end, s.blocked_ns),
    NAMED("peer_ino", struct chan_end, s.peer_ino),
    NAMED("first_ns", struct chan_end, s.first_ns),
    NAMED("last_ns", struct chan_end, s.last_ns),
    NAMED("fds_passed", struct chan_end, s.fds_passed),
    NAMED("blocked_poll_ns", struct chan_end, s.poll_blocked_ns),
    NAMED_ARRAY("src_addr", struct chan_end, s.flow.src_addr),
    NAMED_ARRAY("dst_addr", struct chan_end, s.flow.dst_addr),
    NAMED("src_port", struct chan_end, s.flow.src_port),
    NAMED("dst_port", struct chan_end, s.flow.dst_port),
    NAMED_ARRAY("size_hist", struct chan_end, s.size_hist),
    NAMED_ARRAY("latency_hist", struct chan_end, s.latency_hist),
    END_FIELDS,
};

static const char *const seg_fault_keys[SF_COUNT] = {"read", "write", "wp"};

const struct field seg_use_fields[] = {
    SCALAR(struct seg_use, ino),
    SCALAR(struct seg_use, dev),
    SCALAR(struct seg_use, pid),
    ENUM(struct seg_use, kind, SEGK_COUNT - 1),
    SCALAR(struct seg_use, bytes_touched),
    NAMED("size", struct seg_use, s.size),
    NAMED("bytes_mapped", struct seg_use, s.bytes_mapped),
    NAMED("maps", struct seg_use, s.maps),
    NAMED("map_ns", struct seg_use, s.map_ns),
    NAMED("pages_touched", struct seg_use, s.pages_touched),
    {"faults", offsetof(struct seg_use, s.faults), T_U64, SF_COUNT, 0, seg_fault_keys, NULL, 0},
    NAMED("fault_samples", struct seg_use, s.fault_samples),
    NAMED("first_ns", struct seg_use, s.first_ns),
    NAMED("last_ns", struct seg_use, s.last_ns),
    NAMED("flags", struct seg_use, s.flags),
    END_FIELDS,
};

const struct field fd_pass_fields[] = {
    SCALAR(struct fd_pass, ino),
    SCALAR(struct fd_pass, dev),
    SCALAR(struct fd_pass, pid),
    SCALAR(struct fd_pass, chan_ino),
    ENUM(struct fd_pass, dir, DIR_WRITE),
    SCALAR(struct fd_pass, count),
    END_FIELDS,
};

static size_t type_size(enum ftype t)
{
	switch (t) {
	case T_U64:
	case T_DOUBLE:
		return 8;
	case T_U32:
	case T_I32:
		return 4;
	case T_U16:
		return 2;
	case T_U8:
		return 1;
	case T_BOOL:
		return sizeof(bool);
	}
	return 0;
}

static json_object *value_json(const void *p, enum ftype t)
{
	switch (t) {
	case T_U64:
		return json_object_new_uint64(*(const uint64_t *)p);
	case T_U32:
		return json_object_new_uint64(*(const uint32_t *)p);
	case T_I32:
		return json_object_new_int64(*(const int32_t *)p);
	case T_U16:
		return json_object_new_uint64(*(const uint16_t *)p);
	case T_U8:
		return json_object_new_uint64(*(const uint8_t *)p);
	case T_BOOL:
		return json_object_new_boolean(*(const bool *)p);
	case T_DOUBLE:
		return json_object_new_double(*(const double *)p);
	}
	return NULL;
}

/* n elements from p: an object keyed by `keys`, else an array */
static json_object *array_json(const char *p, const struct field *f, size_t n,
			       const char *const *keys, size_t n2, const char *const *keys2)
{
	size_t step = type_size(f->type) * (n2 ? n2 : 1);
	json_object *o = keys ? json_object_new_object() : json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		json_object *v = n2 ? array_json(p + i * step, f, n2, keys2, 0, NULL)
				    : value_json(p + i * step, f->type);

		if (keys)
			json_object_object_add(o, keys[i], v);
		else
			json_object_array_add(o, v);
	}
	return o;
}

void fields_to_json(json_object *o, const void *base, const struct field *fields)
{
	for (const struct field *f = fields; f->name; f++) {
		const char *p = (const char *)base + f->off;

		json_object_object_add(o, f->name,
				       f->n ? array_json(p, f, f->n, f->keys, f->n2, f->keys2)
					    : value_json(p, f->type));
	}
}

/* One JSON value into *p of type t; false if it is not one. */
static bool value_get(json_object *v, enum ftype t, uint64_t max, void *p)
{
	static const uint64_t type_max[] = {
	    [T_U64] = UINT64_MAX, [T_U32] = UINT32_MAX, [T_U16] = UINT16_MAX, [T_U8] = UINT8_MAX};
	uint64_t u;

	switch (t) {
	case T_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return false;
		*(bool *)p = json_object_get_boolean(v);
		return true;
	case T_DOUBLE:
		if (!json_object_is_type(v, json_type_double) &&
		    !json_object_is_type(v, json_type_int))
			return false;
		*(double *)p = json_object_get_double(v);
		return isfinite(*(double *)p);
	case T_I32: {
		int64_t i;

		if (!json_object_is_type(v, json_type_int))
			return false;
		i = json_object_get_int64(v);
		if (i < INT32_MIN || i > INT32_MAX)
			return false;
		*(int32_t *)p = (int32_t)i;
		return true;
	}
	case T_U64:
	case T_U32:
	case T_U16:
	case T_U8:
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
			return false;
		u = json_object_get_uint64(v);
		if (u > type_max[t] || (max && u > max))
			return false;
		if (t == T_U64)
			*(uint64_t *)p = u;
		else if (t == T_U32)
			*(uint32_t *)p = (uint32_t)u;
		else if (t == T_U16)
			*(uint16_t *)p = (uint16_t)u;
		else
			*(uint8_t *)p = (uint8_t)u;
		return true;
	}
	return false;
}

static bool array_get(json_object *v, const struct field *f, char *p, size_t n,
		      const char *const *keys, size_t n2, const char *const *keys2)
{
	size_t step = type_size(f->type) * (n2 ? n2 : 1);

	if (keys && !json_object_is_type(v, json_type_object))
		return false;
	if (!keys && (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > n))
		return false;
	for (size_t i = 0; i < n; i++) {
		json_object *e = keys ? NULL : json_object_array_get_idx(v, i);

		if (keys && !json_object_object_get_ex(v, keys[i], &e))
			continue; /* absent: 0 */
		if (!e)
			break; /* a shorter array */
		if (n2 ? !array_get(e, f, p + i * step, n2, keys2, 0, NULL)
		       : !value_get(e, f->type, f->max, p + i * step))
			return false;
	}
	return true;
}

const char *fields_from_json(json_object *o, void *base, const struct field *fields)
{
	for (const struct field *f = fields; f->name; f++) {
		char *p = (char *)base + f->off;
		json_object *v;

		if (!json_object_object_get_ex(o, f->name, &v))
			continue;
		if (f->n ? !array_get(v, f, p, f->n, f->keys, f->n2, f->keys2)
			 : !value_get(v, f->type, f->max, p))
			return f->name;
	}
	return NULL;
}
