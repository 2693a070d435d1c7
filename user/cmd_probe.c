// SPDX-License-Identifier: MIT
/*
 * ipcprof probe: load and attach everything as a trace would, then say how
 * each phase would be measured on this kernel, and why alternatives were
 * rejected. --format json is what tests derive their expectations from.
 */
#include <bpf/btf.h>
#include <json.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cmd.h"

static const char *const mode_names[] = {"auto", "fentry", "kprobe", "fallback"};
/* each group's measurement when no precise probe attached */
static const char *const fallback_method[GROUP_COUNT] = {"sampled", "unavailable", "sampled",
							 "tracepoint", "tracepoint"};

static const char *group_method(const struct probe_plan *plan, enum probe_group g)
{
	enum probe_method m = probe_plan_method(plan, g);

	return m == METHOD_NONE ? fallback_method[g] : method_name(m);
}

static json_object *mechanism_json(bool ok, const char *why)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "available", json_object_new_boolean(ok));
	if (!ok)
		json_object_object_add(o, "why",
				       json_object_new_string(why[0] ? why : "not tried"));
	return o;
}

static json_object *slots_json(const struct probe_plan *plan, enum probe_group g)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < plan->n_slots[g]; i++) {
		const struct probe_slot *s = &plan->slots[g][i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "function", json_object_new_string(s->func));
		json_object_object_add(o, "attached", json_object_new_boolean(s->attached));
		if (s->attached)
			json_object_object_add(o, "method",
					       json_object_new_string(method_name(s->method)));
		if (s->why_not_fentry[0])
			json_object_object_add(o, "why_not_fentry",
					       json_object_new_string(s->why_not_fentry));
		if (s->why_not_kprobe[0])
			json_object_object_add(o, "why_not_kprobe",
					       json_object_new_string(s->why_not_kprobe));
		json_object_array_add(a, o);
	}
	return a;
}

/*
 * How bytes touched in shared segments are counted on this kernel, as
 * bpf/shared.bpf.h decides it: from the mm's RSS counters where they are
 * per-CPU counters (mm_struct.rss_stat an array of struct percpu_counter,
 * 6.2 on), pages moved by each fault, fault-around included ("rss");
 * otherwise one page per not-present fault ("faults").
 */
/* The type of member `name` of struct `t`, looked for in its anonymous
 * structs and unions too (mm_struct keeps its fields in one). */
static const struct btf_type *member_type(const struct btf *btf, const struct btf_type *t,
					  const char *name, int depth)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const struct btf_type *mt = btf__type_by_id(btf, m->type);
		const struct btf_type *found;

		if (!mt)
			continue;
		if (!m->name_off && btf_is_composite(mt) && depth < 4) {
			found = member_type(btf, mt, name, depth + 1);
			if (found)
				return found;
		} else if (!strcmp(btf__name_by_offset(btf, m->name_off), name)) {
			return mt;
		}
	}
	return NULL;
}

static const char *shared_touch_method(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t, *el;
	const char *how = "faults";
	int id;

	if (!btf)
		return how;
	id = btf__find_by_name_kind(btf, "mm_struct", BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	t = t ? member_type(btf, t, "rss_stat", 0) : NULL;
	el = t && btf_is_array(t) ? btf__type_by_id(btf, btf_array(t)->type) : NULL;
	if (el && !strcmp(btf__name_by_offset(btf, el->name_off), "percpu_counter"))
		how = "rss";
	btf__free(btf);
	return how;
}

/* The report's "methods" keys, as a trace on this kernel would fill them. */
static json_object *methods_json(const struct probe_plan *plan)
{
	static const char *const fixed[][2] = {
	    {"serialize", "uprobe"},   {"deserialize", "uprobe"}, {"syscall", "tracepoint"},
	    {"blocked", "tracepoint"}, {"wait", "tracepoint"},	  {"compute", "sampled"},
	};
	json_object *m = json_object_new_object();

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		json_object_object_add(m, fixed[i][0], json_object_new_string(fixed[i][1]));
	json_object_object_add(m, "copy", json_object_new_string(group_method(plan, GROUP_COPY)));
	json_object_object_add(m, "fault", json_object_new_string(group_method(plan, GROUP_FAULT)));
	json_object_object_add(m, "fork", json_object_new_string(group_method(plan, GROUP_FORK)));
	json_object_object_add(m, "mmap", json_object_new_string(group_method(plan, GROUP_MMAP)));
	json_object_object_add(m, "ipc_kernel",
			       json_object_new_string(group_method(plan, GROUP_KFN)));
	return m;
}

static int probe_json(const struct probe_plan *plan, const char *release, uint32_t hz)
{
	json_object *root = json_object_new_object(), *groups = json_object_new_object();
	json_object *exact = json_object_new_object();
	int rc;

	json_object_object_add(root, "kernel", json_object_new_string(release));
	json_object_object_add(root, "probe_mode", json_object_new_string(mode_names[plan->mode]));
	json_object_object_add(root, "fentry", mechanism_json(plan->fentry_ok, plan->fentry_why));
	json_object_object_add(root, "kprobe", mechanism_json(plan->kprobe_ok, plan->kprobe_why));
	json_object_object_add(root, "methods", methods_json(plan));
	/* copy time is exact for a family only if its copy routines are covered */
#define FAMILY_EXACT(id, key, words)                                                               \
	json_object_object_add(exact, key,                                                         \
			       json_object_new_boolean(probe_plan_copy_covers(plan, id)));
	IPC_FAMILIES(FAMILY_EXACT)
#undef FAMILY_EXACT
	json_object_object_add(root, "copy_exact", exact);
	for (int g = 0; g < GROUP_COUNT; g++)
		json_object_object_add(groups, group_names[g], slots_json(plan, g));
	json_object_object_add(root, "functions", groups);
	json_object_object_add(root, "sample_hz", json_object_new_uint64(hz));
	json_object_object_add(root, "shared_touched",
			       json_object_new_string(shared_touch_method()));
	rc = printf("%s\n", json_object_to_json_string_ext(
				root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return rc < 0 ? 1 : 0;
}

int cmd_probe(struct cli *c)
{
	struct ser_plan plan = {0};
	struct tracer *t = NULL;
	struct utsname u;
	int rc;

	if (c->format == FMT_CSV) {
		fprintf(stderr, "ipcprof: probe writes text or json, not csv\n");
		return 2;
	}
	rc = cmd_open_tracer(c, &plan, NULL, &t);
	if (rc)
		goto cleanup;
	uname(&u);
	if (c->format == FMT_JSON) {
		rc = probe_json(tracer_probe_plan(t), u.release, c->sample_hz);
		goto cleanup;
	}
	printf("ipcprof %s probe plan on Linux %s (all programs loaded and attached)\n\n",
	       IPCPROF_VERSION, u.release);
	probe_plan_print(tracer_probe_plan(t), stdout);
	printf("\nsyscall, blocked, wait: tracepoint (tp_btf/sys_enter, sys_exit, "
	       "sched_switch)\nserialize, deserialize: uprobe (per process, at "
	       "exec)\ncompute: sampled (cpu-clock @ %u Hz)\n"
	       "shared memory bytes touched: %s\n",
	       c->sample_hz,
	       !strcmp(shared_touch_method(), "rss")
		   ? "exact (the RSS counters each fault moved, fault-around included)"
		   : "one page per not-present fault (no per-CPU RSS counters here)");
cleanup:
	tracer_close(t);
	ser_plan_free(&plan);
	return rc;
}
