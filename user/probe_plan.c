// SPDX-License-Identifier: MIT
#include "probe_plan.h"

#include "ipcprof.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipcprof.h" /* before the skeleton: its rodata uses our types */
#include "ipcprof.skel.h"

const char *const group_names[GROUP_COUNT] = {"copy", "ipc-code", "fault", "fork", "mmap"};

/*
 * Candidate functions per slot, first existing one wins. The pipe functions
 * were renamed anon_pipe_* in 6.14; the copy routines differ by version and
 * configuration (some are inlined away).
 */
static const char *const candidates[GROUP_COUNT][PLAN_MAX_SLOTS][3] = {
    [GROUP_COPY] = {{"copy_page_to_iter"},
		    {"copy_page_from_iter"},
		    {"_copy_to_iter"},
		    {"_copy_from_iter"},
		    {"_copy_to_user"},
		    {"_copy_from_user"},
		    {"skb_copy_datagram_iter"},
		    {"skb_copy_datagram_from_iter"}},
    [GROUP_KFN] = {{"anon_pipe_read", "pipe_read"},
		   {"anon_pipe_write", "pipe_write"},
		   {"unix_stream_sendmsg"},
		   {"unix_stream_recvmsg"},
		   {"unix_dgram_sendmsg"},
		   {"unix_dgram_recvmsg"}},
    [GROUP_FAULT] = {{"handle_mm_fault"}},
    [GROUP_FORK] = {{"kernel_clone", "_do_fork"}},
    [GROUP_MMAP] = {{"do_mmap"}},
};

static struct bpf_program *slot_prog(struct ipcprof_bpf *skel, int g, int i, bool exit)
{
	struct bpf_program *fentry[GROUP_COUNT][PLAN_MAX_SLOTS] = {
	    [GROUP_COPY] = {skel->progs.copy_fentry_0, skel->progs.copy_fentry_1,
			    skel->progs.copy_fentry_2, skel->progs.copy_fentry_3,
			    skel->progs.copy_fentry_4, skel->progs.copy_fentry_5,
			    skel->progs.copy_fentry_6, skel->progs.copy_fentry_7},
	    [GROUP_KFN] = {skel->progs.kfn_fentry_0, skel->progs.kfn_fentry_1,
			   skel->progs.kfn_fentry_2, skel->progs.kfn_fentry_3,
			   skel->progs.kfn_fentry_4, skel->progs.kfn_fentry_5},
	    [GROUP_FAULT] = {skel->progs.fault_fentry_0},
	    [GROUP_FORK] = {skel->progs.fork_fentry_0},
	    [GROUP_MMAP] = {skel->progs.mmap_fentry_0},
	};
	struct bpf_program *fexit[GROUP_COUNT][PLAN_MAX_SLOTS] = {
	    [GROUP_COPY] = {skel->progs.copy_fexit_0, skel->progs.copy_fexit_1,
			    skel->progs.copy_fexit_2, skel->progs.copy_fexit_3,
			    skel->progs.copy_fexit_4, skel->progs.copy_fexit_5,
			    skel->progs.copy_fexit_6, skel->progs.copy_fexit_7},
	    [GROUP_KFN] = {skel->progs.kfn_fexit_0, skel->progs.kfn_fexit_1,
			   skel->progs.kfn_fexit_2, skel->progs.kfn_fexit_3,
			   skel->progs.kfn_fexit_4, skel->progs.kfn_fexit_5},
	    [GROUP_FAULT] = {skel->progs.fault_fexit_0},
	    [GROUP_FORK] = {skel->progs.fork_fexit_0},
	    [GROUP_MMAP] = {skel->progs.mmap_fexit_0},
	};

	return exit ? fexit[g][i] : fentry[g][i];
}

static struct bpf_program *kprobe_prog(struct ipcprof_bpf *skel, int g, bool ret)
{
	struct bpf_program *p[GROUP_COUNT][2] = {
	    [GROUP_COPY] = {skel->progs.copy_kprobe, skel->progs.copy_kretprobe},
	    [GROUP_KFN] = {skel->progs.kfn_kprobe, skel->progs.kfn_kretprobe},
	    [GROUP_FAULT] = {skel->progs.fault_kprobe, skel->progs.fault_kretprobe},
	    [GROUP_FORK] = {skel->progs.fork_kprobe, skel->progs.fork_kretprobe},
	    [GROUP_MMAP] = {skel->progs.mmap_kprobe, skel->progs.mmap_kretprobe},
	};

	return p[g][ret];
}

/* Load a do-nothing fentry program on `btf_id` and attach it: the only
 * reliable answer to "does fentry work here", which lockdown, missing
 * trampoline support or a notrace function can all make "no". */
static int try_fentry(int btf_id, char *why, size_t len)
{
	const struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = btf_id);
	int prog, link;

	prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ipcprof_try", "GPL", insns, 2, &opts);
	if (prog < 0) {
		int e = errno;

		snprintf(why, len, "fentry: load: %s", strerror(e));
		return -e;
	}
	link = bpf_link_create(prog, 0, BPF_TRACE_FENTRY, NULL);
	if (link < 0) {
		int e = errno;

		snprintf(why, len, "fentry: attach: %s", strerror(e));
		close(prog);
		return -e;
	}
	close(link);
	close(prog);
	return 0;
}

static int kprobe_pmu_type(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/kprobe/type", "r");
	int type = -ENOENT;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &type) != 1)
		type = -EINVAL;
	fclose(f);
	return type;
}

/* Create (and drop) a kprobe perf event on `func`: does it really attach? */
static int try_kprobe(int pmu, const char *func, char *why, size_t len)
{
	struct perf_event_attr attr = {
	    .size = sizeof(attr),
	    .type = (uint32_t)pmu,
	    .config1 = (uint64_t)(uintptr_t)func,
	};
	int fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0) {
		int rc = -errno;

		snprintf(why, len, "kprobe: %s", strerror(-rc));
		return rc;
	}
	close(fd);
	return 0;
}

/* What probe_plan_prepare() found out about the mechanisms. */
struct plan_ctx {
	struct btf *btf; /* NULL: nothing to look functions up in */
	int pmu;	 /* kprobe PMU type, < 0 without kprobes */
	bool want_fentry, want_kprobe, fentry_refused;
};

/* The function of a slot: the first candidate present in the kernel's BTF. */
static int find_slot_func(struct probe_slot *s, const char *const cand[3], struct btf *btf)
{
	int id = -1;

	for (int c = 0; c < 3 && cand[c] && id < 0; c++) {
		id = btf ? btf__find_by_name_kind(btf, cand[c], BTF_KIND_FUNC) : -1;
		if (id > 0)
			s->func = cand[c];
	}
	if (!btf) /* nothing to attach: name the first candidate */
		s->func = cand[0];
	if (!s->func) {
		s->func = cand[0];
		snprintf(s->why_not_fentry, sizeof(s->why_not_fentry),
			 "not in this kernel (no BTF FUNC %s)", s->func);
		snprintf(s->why_not_kprobe, sizeof(s->why_not_kprobe),
			 "not in this kernel (no BTF FUNC %s)", s->func);
		return -ENOENT;
	}
	return id;
}

/* fentry if it loads on this function, else kprobe if it attaches. */
static void choose_method(struct probe_plan *plan, struct probe_slot *s, int id,
			  const struct plan_ctx *x)
{
	if (!x->want_fentry)
		snprintf(s->why_not_fentry, sizeof(s->why_not_fentry),
			 "fentry: not tried (--probe-mode)");
	else if (!x->btf || x->fentry_refused)
		snprintf(s->why_not_fentry, sizeof(s->why_not_fentry), "%s", plan->fentry_why);
	else if (!try_fentry(id, s->why_not_fentry, sizeof(s->why_not_fentry)))
		s->method = METHOD_FENTRY;
	if (s->method != METHOD_NONE)
		return;
	if (!x->want_kprobe)
		snprintf(s->why_not_kprobe, sizeof(s->why_not_kprobe),
			 "kprobe: not tried (--probe-mode)");
	else if (!plan->kprobe_ok)
		snprintf(s->why_not_kprobe, sizeof(s->why_not_kprobe), "%s", plan->kprobe_why);
	else if (!try_kprobe(x->pmu, s->func, s->why_not_kprobe, sizeof(s->why_not_kprobe)))
		s->method = METHOD_KPROBE;
}

/* Load only the programs of the chosen flavour, retargeted to each slot. */
static void set_group_programs(struct probe_plan *plan, struct ipcprof_bpf *skel, int g)
{
	bool use_kprobe = false;

	for (int i = 0; i < PLAN_MAX_SLOTS; i++) {
		const struct probe_slot *s = &plan->slots[g][i];
		bool on = i < plan->n_slots[g] && s->method == METHOD_FENTRY;
		struct bpf_program *p = slot_prog(skel, g, i, false);

		use_kprobe = use_kprobe || (i < plan->n_slots[g] && s->method == METHOD_KPROBE);
		if (!p)
			continue;
		if (on) {
			bpf_program__set_attach_target(p, 0, s->func);
			bpf_program__set_attach_target(slot_prog(skel, g, i, true), 0, s->func);
		}
		bpf_program__set_autoload(p, on);
		bpf_program__set_autoload(slot_prog(skel, g, i, true), on);
	}
	bpf_program__set_autoload(kprobe_prog(skel, g, false), use_kprobe);
	bpf_program__set_autoload(kprobe_prog(skel, g, true), use_kprobe);
}

static void plan_mechanisms(struct probe_plan *plan, struct plan_ctx *x, enum probe_mode mode)
{
	memset(plan, 0, sizeof(*plan));
	plan->mode = mode;
	x->want_fentry = mode == PROBE_AUTO || mode == PROBE_FENTRY;
	x->want_kprobe = mode == PROBE_AUTO || mode == PROBE_KPROBE;
	x->pmu = kprobe_pmu_type();
	plan->kprobe_ok = x->pmu >= 0;
	if (!plan->kprobe_ok)
		snprintf(plan->kprobe_why, sizeof(plan->kprobe_why),
			 "kprobe: not built into this kernel (no kprobe PMU)");
	if (!plan->kprobe_ok && !x->want_kprobe)
		snprintf(plan->kprobe_why, sizeof(plan->kprobe_why), "kprobe: not tried");
	/*
	 * A kernel that refuses fentry programs whatever their target (EPERM
	 * even for BTF id 0, which is otherwise EINVAL) and has no kprobes
	 * leaves nothing to choose: skip the ~40 ms walk of vmlinux BTF.
	 */
	if (x->want_fentry && try_fentry(0, plan->fentry_why, sizeof(plan->fentry_why)) == -EPERM)
		x->fentry_refused = true;
	else
		plan->fentry_why[0] = '\0';
	if ((x->want_fentry && !x->fentry_refused) || (x->want_kprobe && plan->kprobe_ok)) {
		x->btf = btf__load_vmlinux_btf();
		if (!x->btf)
			snprintf(plan->fentry_why, sizeof(plan->fentry_why),
				 "fentry: no kernel BTF (%s)", strerror(errno));
	}
}

void probe_plan_prepare(struct probe_plan *plan, struct ipcprof_bpf *skel, enum probe_mode mode)
{
	struct plan_ctx x = {0};

	plan_mechanisms(plan, &x, mode);
	for (int g = 0; g < GROUP_COUNT; g++) {
		for (int i = 0; i < PLAN_MAX_SLOTS && candidates[g][i][0]; i++) {
			struct probe_slot *s = &plan->slots[g][i];
			int id;

			plan->n_slots[g] = i + 1;
			id = find_slot_func(s, candidates[g][i], x.btf);
			if (id < 0 && s->why_not_fentry[0])
				continue;
			choose_method(plan, s, id, &x);
			if (s->method == METHOD_FENTRY)
				plan->fentry_ok = true;
			else if (!plan->fentry_why[0] && s->why_not_fentry[0])
				snprintf(plan->fentry_why, sizeof(plan->fentry_why), "%s",
					 s->why_not_fentry);
		}
		set_group_programs(plan, skel, g);
	}
	btf__free(x.btf);
}

void probe_plan_attach(struct probe_plan *plan, struct ipcprof_bpf *skel)
{
	for (int g = 0; g < GROUP_COUNT; g++) {
		for (int i = 0; i < plan->n_slots[g]; i++) {
			struct probe_slot *s = &plan->slots[g][i];
			struct bpf_link *in, *out;

			if (s->method == METHOD_FENTRY) {
				/* the skeleton attached it; a failure there aborts */
				s->attached = true;
				continue;
			}
			if (s->method != METHOD_KPROBE)
				continue;
			in =
			    bpf_program__attach_kprobe(kprobe_prog(skel, g, false), false, s->func);
			out = in ? bpf_program__attach_kprobe(kprobe_prog(skel, g, true), true,
							      s->func)
				 : NULL;
			if (!in || !out) {
				/* one function lost: that phase degrades, the run goes on */
				snprintf(s->why_not_kprobe, sizeof(s->why_not_kprobe),
					 "kprobe: attach %s", strerror(errno));
				s->method = METHOD_NONE;
				bpf_link__destroy(in);
				continue;
			}
			if (link_list_add(&plan->links, in) || link_list_add(&plan->links, out)) {
				s->method = METHOD_NONE;
				continue;
			}
			s->attached = true;
		}
	}
}

bool probe_plan_copy_covers(const struct probe_plan *plan, int family)
{
	/*
	 * Which copy routines carry the bulk bytes of a family, by direction
	 * (read, write). Pipes copy with copy_page_{to,from}_iter, unix
	 * sockets with skb_copy_datagram_{iter,from_iter}; both end in
	 * _copy_{to,from}_iter. _copy_{to,from}_user move only small structs
	 * here. Both directions must be covered. TCP sends copy through
	 * paths of their own (nocache copies into pages, checksumming copies
	 * for UDP): none listed, so their copy time is always sampled rather
	 * than wrongly called exact.
	 */
	static const char *const fns_of[FAM_COUNT][2][3] = {
	    [FAM_PIPE] = {{"copy_page_to_iter", "_copy_to_iter"},
			  {"copy_page_from_iter", "_copy_from_iter"}},
	    [FAM_UNIX] = {{"skb_copy_datagram_iter", "_copy_to_iter"},
			  {"skb_copy_datagram_from_iter", "_copy_from_iter"}},
	};
	const char *const(*fns)[3];

	if (family < 0 || family >= FAM_COUNT || !fns_of[family][0][0])
		return false;
	fns = fns_of[family];
	for (int dir = 0; dir < 2; dir++) {
		bool covered = false;

		for (int i = 0; i < plan->n_slots[GROUP_COPY]; i++) {
			const struct probe_slot *s = &plan->slots[GROUP_COPY][i];

			for (int f = 0; f < 3 && fns[dir][f] && s->attached; f++)
				covered = covered || !strcmp(s->func, fns[dir][f]);
		}
		if (!covered)
			return false;
	}
	return true;
}

enum probe_method probe_plan_method(const struct probe_plan *plan, enum probe_group g)
{
	enum probe_method m = METHOD_NONE;

	/* fentry wins over kprobe when a group mixes them */
	for (int i = 0; i < plan->n_slots[g]; i++) {
		const struct probe_slot *s = &plan->slots[g][i];

		if (s->attached && (m == METHOD_NONE || s->method == METHOD_FENTRY))
			m = s->method;
	}
	return m;
}

const char *method_name(enum probe_method m)
{
	return m == METHOD_FENTRY ? "fentry" : m == METHOD_KPROBE ? "kprobe" : "none";
}

void probe_plan_print(const struct probe_plan *plan, FILE *out)
{
	static const char *const fallback[GROUP_COUNT] = {
	    "sampled (cpu-clock perf events, kernel stacks vs kallsyms)",
	    "not measured (syscall tracepoints time the whole call)",
	    "sampled (kernel stacks through exc_page_fault)",
	    "tracepoint (clone/fork syscall enter/exit)",
	    "tracepoint (mmap syscall enter/exit)",
	};
	static const char *const mode_names[] = {"auto", "fentry", "kprobe", "fallback"};

	fprintf(out, "probe mode: %s\n", mode_names[plan->mode]);
	fprintf(out, "fentry/fexit: %s%s%s\n", plan->fentry_ok ? "available" : "unavailable (",
		plan->fentry_ok ? "" : (plan->fentry_why[0] ? plan->fentry_why : "not tried"),
		plan->fentry_ok ? "" : ")");
	fprintf(out, "kprobe:       %s%s%s\n", plan->kprobe_ok ? "available" : "unavailable (",
		plan->kprobe_ok ? "" : plan->kprobe_why, plan->kprobe_ok ? "" : ")");
	for (int g = 0; g < GROUP_COUNT; g++) {
		enum probe_method m = probe_plan_method(plan, g);

		fprintf(out, "\n%s: %s\n", group_names[g],
			m == METHOD_NONE ? fallback[g] : method_name(m));
		for (int i = 0; i < plan->n_slots[g]; i++) {
			const struct probe_slot *s = &plan->slots[g][i];

			if (s->attached)
				fprintf(out, "  %-22s %s\n", s->func, method_name(s->method));
			else
				fprintf(out, "  %-22s rejected: %s; %s\n", s->func,
					s->why_not_fentry[0] ? s->why_not_fentry : "fentry: -",
					s->why_not_kprobe[0] ? s->why_not_kprobe : "kprobe: -");
		}
	}
}

void probe_plan_free(struct probe_plan *plan)
{
	link_list_destroy(&plan->links);
}
