// SPDX-License-Identifier: MIT
/* The report's hierarchy: exact quantities with their sampled splits (breakdown.h). */
#include "breakdown.h"

#include <string.h>

#include "util.h"

const struct measured_def measured_defs[MS_COUNT] = {
    [MS_SERIALIZER] = {"serializer", "serializer", PH_SERIALIZE, ACT_SERIALIZE},
    [MS_DESERIALIZER] = {"deserializer", "deserializer", PH_DESERIALIZE, ACT_DESERIALIZE},
    [MS_IPC_ONCPU] = {"ipc_oncpu", "IPC calls on CPU", PH_SYSCALL, ACT_IPC},
    [MS_BLOCKED] = {"blocked", "blocked waiting for IPC", PH_BLOCKED, -1},
    [MS_FORK] = {"fork", "fork", PH_FORK, -1},
    [MS_MMAP] = {"mmap", "shared mmap", PH_MMAP, -1},
    [MS_WAIT] = {"wait", "wait", PH_WAIT, -1},
    [MS_COMPUTE] = {"compute", "compute", PH_COMPUTE, -1},
    [MS_FAULTS_ELSEWHERE] = {"faults_elsewhere", "page faults elsewhere", PH_FAULT, -1},
    [MS_OTHER] = {"other", "other", PH_OTHER, -1},
};

/* A remainder's method: what is left of an exact amount once the sampled
 * splits beside it are taken out. */
#define PHASE_REMAINDER (-1)

static struct estimate exact(uint64_t ns)
{
	return (struct estimate){.ns = ns, .lo_ns = ns, .hi_ns = ns, .exact = true};
}

/*
 * A sampled amount with its 95% half-width, its range clamped to [floor,
 * ceil]: an estimate of a part of an exactly measured whole can be neither
 * negative nor more than that whole, and the interval says no more than
 * that.
 */
static struct estimate sampled(uint64_t ns, uint64_t ci, uint64_t floor, uint64_t ceil)
{
	struct estimate e = {.ns = ns};

	if (!ceil && !ns) /* a part of nothing: nothing to estimate */
		return exact(0);
	e.lo_ns = ns > ci ? ns - ci : 0;
	e.hi_ns = ns > UINT64_MAX - ci ? UINT64_MAX : ns + ci;
	if (e.lo_ns < floor)
		e.lo_ns = floor;
	if (e.hi_ns > ceil)
		e.hi_ns = ceil;
	if (e.lo_ns > e.ns)
		e.lo_ns = e.ns;
	if (e.hi_ns < e.ns)
		e.hi_ns = e.ns;
	return e;
}

static void add_split(struct measured *m, const char *name, const char *label, int phase,
		      struct estimate e)
{
	if (m->n_splits < SPLITS_MAX)
		m->splits[m->n_splits++] = (struct split){name, label, phase, e};
}

/*
 * A serializer (splits in the order of SPLIT_SER_*): its uprobes timed it exactly; page faults
 * inside it are a sampled share of that time, and what is left is its own work. Serializer time
 * sampled after its probes were removed (a hot serializer) makes the whole an estimate, never less
 * than what was timed.
 */
static void serializer(struct measured *m, const struct proc_row *r, int id)
{
	int phase = measured_defs[id].phase, act = measured_defs[id].act;
	uint64_t timed = r->activity_ns[act];
	uint64_t whole = r->phase_ns[phase] + r->fault_ns[act];
	struct estimate faults = r->faults_timed
				     ? exact(r->fault_ns[act])
				     : sampled(r->fault_ns[act], r->fault_ci95_ns[act], 0, timed);

	if (whole < r->phase_ns[phase]) /* wrapped: only a crafted recording */
		whole = UINT64_MAX;
	m->timed_ns = timed;
	if (r->ser_partial) /* probes gone, nothing sampled: a lower bound */
		m->e = (struct estimate){.ns = whole,
					 .lo_ns = whole,
					 .hi_ns = whole > r->thread_ns ? whole : r->thread_ns};
	else if (whole > timed) /* the sampled part's own half-width */
		m->e = sampled(
		    whole,
		    u64_sat(ci95_remove((double)r->ci95_ns[phase], (double)r->fault_ci95_ns[act])),
		    timed, UINT64_MAX);
	else
		m->e = exact(timed);
	add_split(m, "page_faults", "page faults", PH_FAULT, faults);
	add_split(m, "own_work", whole > timed ? "its own work (partly sampled)" : "its own work",
		  PHASE_REMAINDER,
		  faults.exact && m->e.exact
		      ? exact(r->phase_ns[phase])
		      : sampled(r->phase_ns[phase], r->ci95_ns[phase], 0, m->e.hi_ns));
}

/* On CPU in IPC calls (splits in the order of SPLIT_IPC_*). */
static void ipc_oncpu(struct measured *m, const struct proc_row *r)
{
	uint64_t whole = r->ipc_oncpu_ns;
	struct estimate copy = r->copy_timed
				   ? exact(r->phase_ns[PH_COPY])
				   : sampled(r->phase_ns[PH_COPY], r->ci95_ns[PH_COPY], 0, whole);
	struct estimate faults =
	    r->faults_timed ? exact(r->fault_ns[ACT_IPC])
			    : sampled(r->fault_ns[ACT_IPC], r->fault_ci95_ns[ACT_IPC], 0, whole);

	m->e = exact(whole);
	add_split(m, "copy", "copy routines", PH_COPY, copy);
	add_split(m, "page_faults", "page faults", PH_FAULT, faults);
	add_split(m, "rest", "rest of the calls", PHASE_REMAINDER,
		  copy.exact && faults.exact
		      ? exact(r->phase_ns[PH_SYSCALL])
		      : sampled(r->phase_ns[PH_SYSCALL], r->ci95_ns[PH_SYSCALL], 0, whole));
}

/* Faults outside the timed activities: on shared memory (first touches of
 * segments, in the order of SPLIT_ELSEWHERE_*) and the rest. */
static void faults_elsewhere(struct measured *m, const struct proc_row *r)
{
	uint64_t shared = r->fault_ns[ACT_SHARED], rest = m->e.ns - shared;
	uint64_t rest_ci = ci95_combine((double)r->fault_ci95_ns[ACT_POST_FORK],
					(double)r->fault_ci95_ns[ACT_OTHER]);

	add_split(m, "shared_memory", "on shared memory", PH_FAULT,
		  r->faults_timed ? exact(shared)
				  : sampled(shared, r->fault_ci95_ns[ACT_SHARED], 0, m->e.hi_ns));
	add_split(m, "rest", "elsewhere", PH_FAULT,
		  r->faults_timed ? exact(rest) : sampled(rest, rest_ci, 0, m->e.hi_ns));
}

/* Blocked (splits in the order of SPLIT_BLOCKED_*): inside IPC calls, and in
 * poll/epoll waits that an IPC descriptor ended; one sched_switch hook
 * times both. */
static void blocked(struct measured *m, const struct proc_row *r)
{
	uint64_t poll = r->blocked_poll_ns < m->e.ns ? r->blocked_poll_ns : m->e.ns;

	add_split(m, "in_calls", "in IPC calls", PH_BLOCKED, exact(m->e.ns - poll));
	add_split(m, "in_poll", "in poll/epoll waits", PH_BLOCKED, exact(poll));
}

/* Not measured at all (a serializer with no probe): no claim about it. */
static void mark_unavailable(struct measured *m)
{
	m->e.exact = false;
	m->e.unavailable = true;
	for (int k = 0; k < m->n_splits; k++) {
		m->splits[k].e.exact = false;
		m->splits[k].e.unavailable = true;
	}
}

void breakdown_of(const struct proc_row *r, const char *const *methods,
		  struct measured out[MS_COUNT])
{
	uint64_t elsewhere = proc_row_elsewhere_ns(r);

	for (int i = 0; i < MS_COUNT; i++)
		out[i] = (struct measured){0};
	serializer(&out[MS_SERIALIZER], r, MS_SERIALIZER);
	serializer(&out[MS_DESERIALIZER], r, MS_DESERIALIZER);
	ipc_oncpu(&out[MS_IPC_ONCPU], r);
	out[MS_BLOCKED].e = exact(r->phase_ns[PH_BLOCKED]);
	blocked(&out[MS_BLOCKED], r);
	out[MS_FORK].e = exact(r->phase_ns[PH_FORK]);
	out[MS_MMAP].e = exact(r->phase_ns[PH_MMAP]);
	out[MS_WAIT].e = exact(r->phase_ns[PH_WAIT]);
	out[MS_COMPUTE].e =
	    sampled(r->phase_ns[PH_COMPUTE], r->ci95_ns[PH_COMPUTE], 0, r->thread_ns);
	out[MS_FAULTS_ELSEWHERE].e =
	    r->faults_timed ? exact(elsewhere)
			    : sampled(elsewhere, proc_row_elsewhere_ci95(r), 0, r->thread_ns);
	faults_elsewhere(&out[MS_FAULTS_ELSEWHERE], r);
	out[MS_OTHER].e = sampled(r->phase_ns[PH_OTHER], r->ci95_ns[PH_OTHER], 0, r->thread_ns);
	for (int i = 0; i < MS_COUNT; i++) {
		if (i != MS_SERIALIZER && i != MS_DESERIALIZER && out[i].e.exact)
			out[i].timed_ns = out[i].e.ns;
		if (methods && methods[measured_defs[i].phase] &&
		    !strcmp(methods[measured_defs[i].phase], "unavailable"))
			mark_unavailable(&out[i]);
	}
}

void breakdown_phases(const struct proc_row *r, const char *const *methods,
		      struct estimate out[PH_COUNT])
{
	struct measured ms[MS_COUNT];

	breakdown_of(r, methods, ms);
	for (int p = 0; p < PH_COUNT; p++)
		out[p] = exact(r->phase_ns[p]);
	out[PH_SERIALIZE] = ms[MS_SERIALIZER].splits[SPLIT_SER_OWN].e;
	out[PH_DESERIALIZE] = ms[MS_DESERIALIZER].splits[SPLIT_SER_OWN].e;
	out[PH_COPY] = ms[MS_IPC_ONCPU].splits[SPLIT_IPC_COPY].e;
	out[PH_SYSCALL] = ms[MS_IPC_ONCPU].splits[SPLIT_IPC_REST].e;
	out[PH_COMPUTE] = ms[MS_COMPUTE].e;
	out[PH_OTHER] = ms[MS_OTHER].e;
	if (!r->faults_timed)
		out[PH_FAULT] =
		    sampled(r->phase_ns[PH_FAULT], r->ci95_ns[PH_FAULT], 0, r->thread_ns);
}

const char *breakdown_method(const struct report *rep, int phase)
{
	if (phase == PHASE_REMAINDER)
		return "derived";
	return rep->methods[phase] ? rep->methods[phase] : "unavailable";
}
