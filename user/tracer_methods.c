// SPDX-License-Identifier: MIT
/*
 * How each phase of a finished trace was measured, in the report's
 * "methods": from the probe plan the tracer used (fentry, kprobe, or the
 * sampled/tracepoint fallback), the serializer probes and their demotions,
 * and which channel families the exact copy probes covered.
 */
#include <stdio.h>
#include <string.h>

#include "elfsym.h"
#include "tracer.h"
#include "tracer_priv.h"

static const char *precise_or(const struct tracer *t, enum probe_group g, const char *fallback)
{
	enum probe_method m = probe_plan_method(tracer_probe_plan(t), g);

	return m == METHOD_NONE ? fallback : method_name(m);
}

/*
 * Copy time is exact for a channel family only when the precise probes see
 * all its copies; a trace that used an uncovered family is partly sampled.
 */
static const char *copy_method(struct report *rep, const struct tracer *t)
{
#define FAMILY_WORDS(id, key, words) [id] = words,
	static const char *const fam_names[FAM_COUNT] = {IPC_FAMILIES(FAMILY_WORDS)};
#undef FAMILY_WORDS
	static char mixed[32];
	const char *exact = precise_or(t, GROUP_COPY, NULL);
	bool seen[FAM_COUNT] = {false}, any_exact = false, any_sampled = false;

	if (!exact)
		return "sampled";
	for (int i = 0; i < rep->n_procs; i++)
		for (int f = 0; f < FAM_COUNT; f++)
			seen[f] = seen[f] || rep->procs[i].ipc_oncpu_fam_ns[f];
	for (int f = 0; f < FAM_COUNT; f++) {
		if (!seen[f])
			continue;
		if (rep->measure.exact_copy[f]) {
			any_exact = true;
		} else {
			any_sampled = true;
			report_add_note(
			    rep,
			    "copy time for %s is sampled: no probe-able routine carries "
			    "all their copies on this kernel (see ipcprof probe)",
			    fam_names[f]);
		}
	}
	if (!any_sampled)
		return exact;
	if (!any_exact)
		return "sampled";
	snprintf(mixed, sizeof(mixed), "%s+sampled", exact);
	return mixed;
}

/* Processes whose serializer uprobes were removed as too costly. */
static void note_demotions(struct report *rep, const struct tracer *t)
{
	int n;
	const struct ser_demotion *d = tracer_demotions(t, &n);
	bool sampled = false;

	for (int i = 0; i < n; i++) {
		if (d[i].module) {
			sampled = true;
			report_add_note(rep,
					"pid %d called its serializer (or Queue locks) too often "
					"for exact probes (over %d calls/s; "
					"each uprobe pair costs microseconds): they were removed "
					"after %llu calls, "
					"and its later serializer time is sampled in %s: a lower "
					"bound, as time "
					"in interpreter code that pickle calls is not seen",
					d[i].pid, HOT_SER_RATE, (unsigned long long)d[i].calls,
					d[i].module);
		} else {
			report_add_note(
			    rep,
			    "pid %d called its serializer (or Queue locks) too often for exact "
			    "probes (over %d calls/s): they were removed after %llu calls; its "
			    "later "
			    "serializer time is not measured (the serializer is built into "
			    "the interpreter: no module to sample in)",
			    d[i].pid, HOT_SER_RATE, (unsigned long long)d[i].calls);
		}
	}
	if (sampled) {
		if (strcmp(rep->methods[PH_SERIALIZE], "unavailable"))
			rep->methods[PH_SERIALIZE] = "uprobe+sampled";
		if (strcmp(rep->methods[PH_DESERIALIZE], "unavailable"))
			rep->methods[PH_DESERIALIZE] = "uprobe+sampled";
	}
}

/* Why a serializer phase has no probe: stripped binaries, or no Python. */
static void note_unmeasured_serializers(struct report *rep, const struct ser_plan *plan)
{
	char files[2048] = "";
	size_t off = 0;

	for (int i = 0; i < plan->n_missing && off < sizeof(files); i++)
		off += snprintf(files + off, sizeof(files) - off, "%s%s%s", i ? ", " : "",
				plan->missing[i],
				elf_has_symtab(plan->missing[i]) ? "" : " (stripped)");
	if (plan->n_missing)
		report_add_note(rep,
				"serializer time not measured: neither pickle symbols nor "
				"_pickle's method table found in %s; use --uprobe",
				files);
	else
		report_add_note(rep, "serializer time not measured: no Python interpreter "
				     "or --uprobe target was seen");
}

void tracer_label_methods(const struct tracer *t, const struct ser_plan *plan, struct report *rep)
{
	static const char *const dir_names[] = {
	    [SER_DIR_SERIALIZE] = "serialize",
	    [SER_DIR_DESERIALIZE] = "deserialize",
	    [SER_DIR_HANDOFF] = "queue hand-off",
	};
	bool have[3] = {false, false, false};

	for (int i = 0; i < plan->n; i++) {
		enum ser_dir dir = plan->probes[i].dir;
		char desc[4200];

		if (dir == SER_DIR_HANDOFF && !t->opts.call_sites)
			continue; /* not attached */
		have[dir] = true;
		snprintf(desc, sizeof(desc), "%s:%s (%s, %s)", plan->probes[i].path,
			 plan->probes[i].symbol, dir_names[dir], plan->probes[i].how);
		report_add_probe(rep, desc);
	}
	rep->methods[PH_SERIALIZE] = have[0] ? "uprobe" : "unavailable";
	rep->methods[PH_DESERIALIZE] = have[1] ? "uprobe" : "unavailable";
	note_demotions(rep, t);
	rep->methods[PH_SYSCALL] = "tracepoint";
	rep->methods[PH_BLOCKED] = "tracepoint";
	rep->methods[PH_COPY] = copy_method(rep, t);
	rep->ipc_kernel_method = precise_or(t, GROUP_KFN, NULL);
	rep->methods[PH_FAULT] = precise_or(t, GROUP_FAULT, "sampled");
	rep->methods[PH_WAIT] = "tracepoint";
	rep->methods[PH_COMPUTE] = "sampled";
	rep->methods[PH_FORK] = precise_or(t, GROUP_FORK, "tracepoint");
	rep->methods[PH_MMAP] = precise_or(t, GROUP_MMAP, "tracepoint");
	rep->methods[PH_OTHER] = "derived";
	if (!have[0] || !have[1])
		note_unmeasured_serializers(rep, plan);
	for (int i = 0; i < t->n_warnings; i++)
		report_add_note(rep, "%s", t->warnings[i]);
	if (rep->lost_events || rep->map_full)
		report_add_note(
		    rep,
		    "%llu events lost (ring buffer full) and %llu map entries could not "
		    "be created: numbers are incomplete",
		    (unsigned long long)rep->lost_events, (unsigned long long)rep->map_full);
}
