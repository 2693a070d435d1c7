// SPDX-License-Identifier: MIT
/*
 * ipcprof probe: load and attach everything as a trace would, then say how
 * each phase would be measured on this kernel, and why alternatives were
 * rejected. --format json is what tests derive their expectations from.
 */
#include <json.h>
#include <stdio.h>
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
	json_object_object_add(exact, "pipe",
			       json_object_new_boolean(probe_plan_copy_covers(plan, FAM_PIPE)));
	json_object_object_add(exact, "unix",
			       json_object_new_boolean(probe_plan_copy_covers(plan, FAM_SOCK)));
	json_object_object_add(root, "copy_exact", exact);
	for (int g = 0; g < GROUP_COUNT; g++)
		json_object_object_add(groups, group_names[g], slots_json(plan, g));
	json_object_object_add(root, "functions", groups);
	json_object_object_add(root, "sample_hz", json_object_new_uint64(hz));
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
	       "exec)\ncompute: sampled (cpu-clock @ %u Hz)\n",
	       c->sample_hz);
cleanup:
	tracer_close(t);
	ser_plan_free(&plan);
	return rc;
}
