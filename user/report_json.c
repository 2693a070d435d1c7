// SPDX-License-Identifier: MIT
/* The JSON report (json-c). Schema in README.md. */
#include <json.h>
#include <string.h>

#include "breakdown.h"
#include "findings.h"
#include "report.h"
#include "segments.h"
#include "util.h"

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static json_object *findings_json(const struct report *rep)
{
	struct finding f[FINDINGS_MAX];
	int n = findings_derive(rep, f, FINDINGS_MAX);
	json_object *a = json_object_new_array();

	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "rule", json_object_new_string(f[i].rule));
		json_object_object_add(o, "value", json_object_new_double(f[i].value));
		json_object_object_add(o, "threshold", json_object_new_double(f[i].threshold));
		json_object_object_add(o, "text", json_object_new_string(f[i].text));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *hist_json(const __u64 *h)
{
	json_object *a = json_object_new_array();
	int last = -1;

	for (int i = 0; i < IPCPROF_HIST_SLOTS; i++)
		if (h[i])
			last = i;
	for (int i = 0; i <= last; i++)
		json_object_array_add(a, json_object_new_uint64(h[i]));
	return a;
}

/* {"deserialize": {"fault_ns":..,"activity_ns":..,"samples":..,"cow":..,..}, ...} */
static json_object *faults_json(const struct proc_row *r)
{
	json_object *o = json_object_new_object();

	for (int a = 0; a < ACT_COUNT; a++) {
		json_object *e = json_object_new_object();

		add_u64(e, "fault_ns", r->fault_ns[a]);
		add_u64(e, "activity_ns", r->activity_ns[a]);
		add_u64(e, "samples", r->fault_samples[a]);
		add_u64(e, "activity_samples", r->act_samples[a]);
		add_u64(e, "fault_ci95_ns", r->fault_ci95_ns[a]);
		add_u64(e, "cow", r->faults[a][FT_COW]);
		add_u64(e, "first_touch", r->faults[a][FT_NOT_PRESENT]);
		add_u64(e, "other", r->faults[a][FT_OTHER]);
		json_object_object_add(o, activity_names[a], e);
	}
	return o;
}

/* phase -> 95% half-width, for the phases that carry sampling error */
static json_object *ci95_json(const struct proc_row *r)
{
	json_object *o = json_object_new_object();

	for (int p = 0; p < PH_COUNT; p++)
		if (r->ci95_ns[p])
			add_u64(o, phase_names[p], r->ci95_ns[p]);
	return o;
}

static json_object *estimate_json(const struct estimate *e, const char *method)
{
	json_object *o = json_object_new_object();

	add_u64(o, "ns", e->ns);
	add_u64(o, "lo_ns", e->lo_ns);
	add_u64(o, "hi_ns", e->hi_ns);
	json_object_object_add(o, "exact", json_object_new_boolean(e->exact));
	json_object_object_add(o, "available", json_object_new_boolean(!e->unavailable));
	if (method)
		json_object_object_add(o, "method", json_object_new_string(method));
	return o;
}

/*
 * {"serializer": {"ns":..,"lo_ns":..,"hi_ns":..,"exact":true,"splits":
 * {"page_faults": {...}, "own_work": {...}}}, ...}: the exact quantities with
 * their sampled splits (breakdown.h); with_methods: name their methods too
 * (the totals).
 */
static json_object *breakdown_json(const struct proc_row *r, const struct report *rep,
				   bool with_methods)
{
	json_object *o = json_object_new_object();
	struct measured ms[MS_COUNT];

	breakdown_of(r, rep->methods, ms);
	for (int i = 0; i < MS_COUNT; i++) {
		const struct measured *m = &ms[i];
		json_object *e = estimate_json(
		    &m->e, with_methods ? breakdown_method(rep, measured_defs[i].phase) : NULL);

		if (m->n_splits) {
			json_object *splits = json_object_new_object();

			for (int k = 0; k < m->n_splits; k++)
				json_object_object_add(
				    splits, m->splits[k].name,
				    estimate_json(&m->splits[k].e,
						  with_methods
						      ? breakdown_method(rep, m->splits[k].phase)
						      : NULL));
			json_object_object_add(e, "splits", splits);
		}
		json_object_object_add(o, measured_defs[i].name, e);
	}
	return o;
}

static json_object *proc_json(const struct proc_row *r, const struct report *rep,
			      bool with_identity)
{
	json_object *o = json_object_new_object();

	if (with_identity) {
		add_u64(o, "pid", r->pid);
		add_u64(o, "ppid", r->ppid);
		json_object_object_add(o, "comm", json_object_new_string(r->comm));
		json_object_object_add(o, "exited", json_object_new_boolean(r->exited));
		if (r->exited)
			json_object_object_add(o, "exit_code", json_object_new_int(r->exit_code));
	}
	add_u64(o, "wall_ns", r->wall_ns);
	add_u64(o, "thread_ns", r->thread_ns);
	for (int p = 0; p < PH_COUNT; p++)
		add_u64(o, phase_fields[p], r->phase_ns[p]);
	json_object_object_add(o, "ci95_ns", ci95_json(r));
	add_u64(o, "ipc_oncpu_ns", r->ipc_oncpu_ns);
	add_u64(o, "blocked_poll_ns", r->blocked_poll_ns);
	add_u64(o, "ipc_kernel_ns", r->ipc_kernel_ns);
	add_u64(o, "copy_sampled_ns", r->copy_sampled_ns);
	add_u64(o, "serializer_sampled_ns", r->ser_sampled_ns);
	add_u64(o, "serialize_calls", r->serialize_calls);
	add_u64(o, "deserialize_calls", r->deserialize_calls);
	add_u64(o, "ipc_calls", r->ipc_calls);
	add_u64(o, "bytes_written", r->bytes_written);
	add_u64(o, "bytes_read", r->bytes_read);
	add_u64(o, "fork_calls", r->fork_calls);
	add_u64(o, "first_run_ns", r->first_run_ns);
	add_u64(o, "mmap_calls", r->mmap_calls);
	add_u64(o, "mmap_bytes", r->mmap_bytes);
	add_u64(o, "samples_ipc", r->samples_ipc);
	add_u64(o, "samples_copy", r->samples_copy);
	add_u64(o, "samples_total", r->samples_total);
	add_u64(o, "faults_cow", proc_row_faults(r, FT_COW));
	add_u64(o, "faults_first_touch", proc_row_faults(r, FT_NOT_PRESENT));
	add_u64(o, "faults_other", proc_row_faults(r, FT_OTHER));
	add_u64(o, "faults_kernel", r->faults_kernel);
	json_object_object_add(o, "faults_by_activity", faults_json(r));
	json_object_object_add(o, "breakdown", breakdown_json(r, rep, !with_identity));
	return o;
}

static json_object *chan_json(const struct channel *c)
{
	json_object *o = json_object_new_object(), *ends = json_object_new_array();
	json_object *writers = json_object_new_array(), *readers = json_object_new_array();
	char name[CHAN_NAME_MAX];

	json_object_object_add(o, "name", json_object_new_string(chan_name(c, name, sizeof(name))));
	json_object_object_add(o, "kind", json_object_new_string(chan_kind_name(c->kind)));
	add_u64(o, "ino", c->ino);
	if (c->peer_ino)
		add_u64(o, "peer_ino", c->peer_ino);
	if (ipc_kind_flags(c->kind) & KF_FLOW) { /* the sender's end, the receiver's */
		char end[64];

		json_object_object_add(o, "src",
				       json_object_new_string(inet_end_name(
					   c->flow.src_addr, c->flow.src_port, end, sizeof(end))));
		json_object_object_add(o, "dst",
				       json_object_new_string(inet_end_name(
					   c->flow.dst_addr, c->flow.dst_port, end, sizeof(end))));
	}
	add_u64(o, "bytes_written", c->bytes_written);
	add_u64(o, "bytes_read", c->bytes_read);
	add_u64(o, "write_calls", c->write_calls);
	add_u64(o, "read_calls", c->read_calls);
	add_u64(o, "oncpu_ns", c->oncpu_ns);
	add_u64(o, "blocked_ns", c->blocked_ns);
	add_u64(o, "blocked_poll_ns", c->blocked_poll_ns);
	add_u64(o, "span_ns", c->last_ns > c->first_ns ? c->last_ns - c->first_ns : 0);
	add_u64(o, "bytes_per_s", u64_sat(chan_rate(c)));
	add_u64(o, "fds_passed", channel_fds_passed(c));
	for (int i = 0; i < c->n_ends; i++) {
		const struct chan_end *e = &c->ends[i];
		json_object *eo = json_object_new_object();

		add_u64(eo, "pid", e->tgid);
		json_object_object_add(
		    eo, "dir", json_object_new_string(e->dir == DIR_WRITE ? "write" : "read"));
		add_u64(eo, "calls", e->s.calls);
		add_u64(eo, "bytes", e->s.bytes);
		add_u64(eo, "oncpu_ns", e->s.oncpu_ns);
		add_u64(eo, "blocked_ns", e->s.blocked_ns);
		add_u64(eo, "blocked_poll_ns", e->s.poll_blocked_ns);
		add_u64(eo, "fds_passed", e->s.fds_passed);
		json_object_object_add(eo, "size_log2_hist", hist_json(e->s.size_hist));
		json_object_object_add(eo, "latency_log2_hist", hist_json(e->s.latency_hist));
		json_object_array_add(ends, eo);
		json_object_array_add(e->dir == DIR_WRITE ? writers : readers,
				      json_object_new_uint64(e->tgid));
	}
	json_object_object_add(o, "writers", writers);
	json_object_object_add(o, "readers", readers);
	json_object_object_add(o, "ends", ends);
	return o;
}

/* Each element on its own line, made and freed one at a time: a report of
 * 32768 processes would otherwise hold a json-c tree of ~1 GB. */
static void write_array(FILE *out, const char *key, const void *rows, int n, size_t size,
			json_object *(*to_json)(const void *, const struct report *),
			const struct report *rep, bool last)
{
	fprintf(out, "  \"%s\": [", key);
	for (int i = 0; i < n; i++) {
		json_object *o = to_json((const char *)rows + (size_t)i * size, rep);

		fprintf(out, "%s\n    %s", i ? "," : "",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	fprintf(out, "%s]%s\n", n ? "\n  " : "", last ? "" : ",");
}

static json_object *proc_row_json(const void *r, const struct report *rep)
{
	return proc_json(r, rep, true);
}

static json_object *channel_json(const void *c, const struct report *rep)
{
	(void)rep;
	return chan_json(c);
}

/* One process's use of a shared segment. */
static json_object *seg_use_json(const struct report *rep, const struct seg_use *u)
{
	json_object *o = json_object_new_object();
	uint64_t ci = 0, ns = seg_use_fault_ns(rep, u, &ci);

	add_u64(o, "pid", u->pid);
	json_object_object_add(o, "inherited",
			       json_object_new_boolean(!!(u->s.flags & SEG_INHERITED)));
	add_u64(o, "maps", u->s.maps);
	add_u64(o, "bytes_mapped", u->s.bytes_mapped);
	add_u64(o, "bytes_touched", u->bytes_touched);
	json_object_object_add(o, "touched_exact",
			       json_object_new_boolean(seg_use_touched_exact(u)));
	add_u64(o, "faults_read", u->s.faults[SF_READ]);
	add_u64(o, "faults_write", u->s.faults[SF_WRITE]);
	/* a write to a page mapped read-only: copy-on-write for a private
	 * mapping, write-notify for these shared ones */
	add_u64(o, "faults_cow", u->s.faults[SF_WP]);
	add_u64(o, "fault_samples", u->s.fault_samples);
	add_u64(o, "fault_ns", ns);
	add_u64(o, "fault_ci95_ns", ci);
	add_u64(o, "map_ns", u->s.map_ns);
	if (u->map_site[0])
		json_object_object_add(o, "mapped_at", json_object_new_string(u->map_site));
	add_u64(o, "first_ns", u->s.first_ns);
	return o;
}

static json_object *segment_json(const void *p, const struct report *rep)
{
	const struct segment *g = p;
	json_object *o = json_object_new_object(), *uses = json_object_new_array();
	json_object *via = json_object_new_array();

	json_object_object_add(o, "name", json_object_new_string(g->name));
	json_object_object_add(o, "kind",
			       json_object_new_string(seg_kind_names[g->kind % SEGK_COUNT]));
	add_u64(o, "dev", g->dev);
	add_u64(o, "ino", g->ino);
	add_u64(o, "size", g->size);
	add_u64(o, "creator_pid", g->creator_pid);
	add_u64(o, "bytes_touched", g->bytes_touched);
	add_u64(o, "bytes_mapped", g->bytes_mapped);
	add_u64(o, "faults", g->faults);
	add_u64(o, "fault_ns", g->fault_ns);
	add_u64(o, "fault_ci95_ns", g->fault_ci95_ns);
	json_object_object_add(o, "touched_exact", json_object_new_boolean(g->touched_exact));
	for (int i = 0; i < g->n_uses; i++)
		json_object_array_add(uses, seg_use_json(rep, g->uses[i]));
	json_object_object_add(o, "processes", uses);
	for (int i = 0; i < g->n_routes; i++) {
		const struct seg_route *r = &g->routes[i];
		json_object *ro = json_object_new_object();
		char name[48];

		snprintf(name, sizeof(name), "socket:[%llu]", (unsigned long long)r->chan_ino);
		json_object_object_add(ro, "channel", json_object_new_string(name));
		add_u64(ro, "channel_ino", r->chan_ino);
		if (r->from_pid)
			add_u64(ro, "from_pid", r->from_pid);
		if (r->to_pid)
			add_u64(ro, "to_pid", r->to_pid);
		add_u64(ro, "fds", seg_route_fds(r));
		json_object_array_add(via, ro);
	}
	json_object_object_add(o, "passed_via", via);
	return o;
}

/* The fields of the call_sites[] rows are documented in the README. copy
 * and fault time are not attributed to call sites (null), only to
 * processes. */
static json_object *site_json(const void *p, const struct report *rep)
{
	const struct call_site *c = p;
	json_object *o = json_object_new_object();

	(void)rep;
	json_object_object_add(o, "file", json_object_new_string(c->file));
	json_object_object_add(o, "line", json_object_new_int(c->line));
	json_object_object_add(o, "function", json_object_new_string(c->function));
	json_object_object_add(o, "pid", json_object_new_int((int)c->pid));
	json_object_object_add(o, "user_frame", json_object_new_boolean(c->user_frame));
	add_u64(o, "calls", c->s.ipc_calls);
	add_u64(o, "bytes_written", c->s.bytes_written);
	add_u64(o, "bytes_read", c->s.bytes_read);
	add_u64(o, "serialize_calls", c->s.serialize_calls);
	add_u64(o, "serialize_ns", c->s.serialize_ns);
	add_u64(o, "deserialize_calls", c->s.deserialize_calls);
	add_u64(o, "deserialize_ns", c->s.deserialize_ns);
	add_u64(o, "syscall_ns", c->s.syscall_ns);
	add_u64(o, "blocked_ns", c->s.blocked_ns);
	add_u64(o, "faults_cow", c->s.faults[FT_COW]);
	add_u64(o, "faults_first_touch", c->s.faults[FT_NOT_PRESENT]);
	add_u64(o, "faults_other", c->s.faults[FT_OTHER]);
	json_object_object_add(o, "copy_ns", NULL);
	json_object_object_add(o, "fault_ns", NULL);
	return o;
}

int report_write_json(const struct report *rep, FILE *out)
{
	json_object *root = json_object_new_object();
	json_object *methods = json_object_new_object();
	json_object *probes = json_object_new_array(), *notes = json_object_new_array();
	struct segment *segs = NULL;
	const char *head;
	size_t len;
	int n_segs;

	json_object_object_add(root, "tool", json_object_new_string("ipcprof"));
	json_object_object_add(root, "version", json_object_new_string(IPCPROF_VERSION));
	json_object_object_add(root, "target",
			       json_object_new_string(rep->target ? rep->target : ""));
	add_u64(root, "duration_ns", rep->totals.wall_ns);
	json_object_object_add(root, "interrupted", json_object_new_boolean(rep->interrupted));
	if (rep->exit_status >= 0)
		json_object_object_add(root, "exit_status", json_object_new_int(rep->exit_status));
	add_u64(root, "sample_hz", rep->sample_hz);
	add_u64(root, "thread_sample_hz", rep->thread_sample_hz);
	add_u64(root, "memcpy_bytes_per_s", u64_sat(rep->memcpy_bps));
	add_u64(root, "pipe_bytes_per_s", u64_sat(rep->pipe_bps));
	for (int p = 0; p < PH_COUNT; p++)
		json_object_object_add(
		    methods, phase_names[p],
		    json_object_new_string(rep->methods[p] ? rep->methods[p] : "unavailable"));
	json_object_object_add(methods, "ipc_kernel",
			       json_object_new_string(rep->ipc_kernel_method
							  ? rep->ipc_kernel_method
							  : "unavailable"));
	json_object_object_add(root, "methods", methods);
	json_object_object_add(root, "totals", proc_json(&rep->totals, rep, false));
	for (int i = 0; i < rep->n_probes; i++)
		json_object_array_add(probes, json_object_new_string(rep->probes[i]));
	json_object_object_add(root, "serializer_probes", probes);
	for (int i = 0; i < rep->n_notes; i++)
		json_object_array_add(notes, json_object_new_string(rep->notes[i]));
	json_object_object_add(root, "notes", notes);
	add_u64(root, "lost_events", rep->lost_events + rep->map_full);
	/* the two causes apart: ring buffer full, map entry not created */
	add_u64(root, "ringbuf_lost", rep->lost_events);
	add_u64(root, "map_full", rep->map_full);
	json_object_object_add(root, "findings", findings_json(rep));

	/* the head without its closing brace, then the two long arrays */
	head = json_object_to_json_string_length(
	    root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	while (len && head[len - 1] != '}')
		len--;
	fprintf(out, "%.*s,\n", (int)(len ? len - 1 : 0), head);
	json_object_put(root);
	write_array(out, "processes", rep->procs, rep->n_procs, sizeof(*rep->procs), proc_row_json,
		    rep, false);
	write_array(out, "channels", rep->chans, rep->n_chans, sizeof(*rep->chans), channel_json,
		    rep, false);
	n_segs = segments_build(rep, &segs);
	write_array(out, "shared_memory", segs, n_segs > 0 ? n_segs : 0, sizeof(*segs),
		    segment_json, rep, false);
	segments_free(segs, n_segs > 0 ? n_segs : 0);
	write_array(out, "call_sites", rep->sites, rep->n_sites, sizeof(*rep->sites), site_json,
		    rep, true);
	fprintf(out, "}\n");
	return ferror(out) ? -1 : 0;
}
