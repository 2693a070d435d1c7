// SPDX-License-Identifier: MIT
/*
 * One process's report row from its kernel counters: exact times where the
 * kernel timed them, sampled shares of exact times elsewhere, and the 95%
 * intervals of what was sampled. The phases sum to the threads' time.
 */
#include <math.h>
#include <string.h>

#include "report.h"
#include "util.h"

static uint64_t share(uint64_t total, uint64_t part, uint64_t whole)
{
	return whole ? (uint64_t)((double)total * (double)part / (double)whole) : 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Uncertainty of sampled estimates, 95% (z = 1.96).
 * A share k/n of samples (copy within IPC time): the Wilson score interval,
 * which stays honest for k = 0 or k = n and small n; returned as the larger
 * distance of its bounds from k/n. With no samples at all, the share is
 * anything in [0, 1].
 */
static double share_halfwidth(uint64_t k, uint64_t n)
{
	const double z = 1.96;
	double p, denom, centre, spread;

	if (!n)
		return 1.0;
	p = (double)k / (double)n;
	denom = 1 + z * z / (double)n;
	centre = (p + z * z / (2.0 * (double)n)) / denom;
	spread = z * sqrt(p * (1 - p) / (double)n + z * z / (4.0 * (double)n * (double)n)) / denom;
	return fmax(fabs(centre + spread - p), fabs(p - (centre - spread)));
}

/* k samples standing for k periods (a Poisson count): 1.96 sqrt(k), and 3
 * for k = 0 (the 95% upper bound when nothing was seen). */
double count_halfwidth(uint64_t k)
{
	return k ? 1.96 * sqrt((double)k) : 3.0;
}

uint64_t ci95_combine(double a, double b)
{
	return u64_sat(sqrt(a * a + b * b));
}

/* An exactly timed activity's time, 0 for those not timed. */
static uint64_t timed_ns(const struct proc_stats *s, int a)
{
	return a == ACT_SERIALIZE     ? s->serialize_ns
	       : a == ACT_DESERIALIZE ? s->deserialize_ns
	       : a == ACT_IPC	      ? s->ipc_oncpu_ns
				      : 0;
}

/*
 * Fault time is sampled unless precise probes timed it. Inside the exactly
 * timed activities (serializers, IPC calls) the share of their samples that
 * were handling a fault splits their measured time, so the estimate never
 * exceeds it and its interval is that of a share (both samplers pool
 * there). Elsewhere each per-CPU sample stands for one sampling period.
 */
static void estimate_faults(struct proc_row *r, const struct proc_stats *s, const struct measure *m)
{
	double period = m->sample_hz ? 1e9 / m->sample_hz : 0;

	for (int a = 0; a < ACT_COUNT; a++) {
		uint64_t timed = timed_ns(s, a);

		if (a <= ACT_IPC)
			r->activity_ns[a] = timed;
		if (m->exact_fault) {
			r->fault_ns[a] =
			    min_u64(s->fault_exact_ns[a], a <= ACT_IPC ? timed : UINT64_MAX);
		} else if (a <= ACT_IPC) {
			r->fault_ns[a] =
			    min_u64(share(timed, s->fault_samples[a], s->act_samples[a]), timed);
			if (timed)
				r->fault_ci95_ns[a] =
				    u64_sat((double)timed * share_halfwidth(s->fault_samples[a],
									    s->act_samples[a]));
		} else if (a == ACT_SHARED && !s->fault_samples[a] && !s->faults[a][FT_COW] &&
			   !s->faults[a][FT_NOT_PRESENT] && !s->faults[a][FT_OTHER]) {
			/* no fault on a shared mapping at all (the counts are
			 * exact): nothing to estimate, nor to be unsure of */
			r->fault_ns[a] = 0;
		} else {
			r->fault_ns[a] = u64_sat((double)s->fault_samples[a] * period);
			r->fault_ci95_ns[a] =
			    u64_sat(count_halfwidth(s->fault_samples[a]) * period);
		}
	}
}

static void estimate_ci95(struct proc_row *r, const struct proc_stats *s, const struct measure *m)
{
	double period = m->sample_hz ? 1e9 / m->sample_hz : 0, copy = 0, compute;

	for (int f = 0; f < FAM_COUNT; f++) {
		double u;

		if (m->exact_copy[f] || !s->ipc_oncpu_fam_ns[f])
			continue;
		u = (double)s->ipc_oncpu_fam_ns[f] *
		    share_halfwidth(s->samples_copy_fam[f], s->samples_ipc_fam[f]);
		copy = sqrt(copy * copy + u * u);
	}
	/* faults elsewhere: never more than the threads' whole time */
	for (int a = ACT_POST_FORK; a < ACT_COUNT; a++)
		r->fault_ci95_ns[a] = min_u64(r->fault_ci95_ns[a], r->thread_ns);
	compute =
	    count_halfwidth(s->user_samples[ACT_POST_FORK] + s->user_samples[ACT_OTHER]) * period;
	compute = fmin(compute, (double)r->thread_ns);
	r->ci95_ns[PH_COPY] = (uint64_t)copy;
	r->ci95_ns[PH_SYSCALL] = ci95_combine(copy, (double)r->fault_ci95_ns[ACT_IPC]);
	r->ci95_ns[PH_SERIALIZE] = r->fault_ci95_ns[ACT_SERIALIZE];
	r->ci95_ns[PH_DESERIALIZE] = r->fault_ci95_ns[ACT_DESERIALIZE];
	if (s->ser_ip_samples) {
		double u = count_halfwidth(s->ser_ip_samples) * period;

		r->ci95_ns[PH_SERIALIZE] = ci95_combine((double)r->ci95_ns[PH_SERIALIZE], u);
		r->ci95_ns[PH_DESERIALIZE] = ci95_combine((double)r->ci95_ns[PH_DESERIALIZE], u);
	}
	r->ci95_ns[PH_FAULT] = 0;
	for (int a = 0; a < ACT_COUNT; a++)
		r->ci95_ns[PH_FAULT] =
		    ci95_combine((double)r->ci95_ns[PH_FAULT], (double)r->fault_ci95_ns[a]);
	r->ci95_ns[PH_COMPUTE] = (uint64_t)compute;
	r->ci95_ns[PH_OTHER] = ci95_combine(compute, (double)proc_row_elsewhere_ci95(r));
}

/* What is copied as it is: identity, counts, samples. */
static void copy_counters(struct proc_row *r, uint32_t pid, const struct proc_stats *s)
{
	r->pid = pid;
	r->ppid = s->ppid;
	memcpy(r->comm, s->comm, sizeof(r->comm));
	r->comm[sizeof(r->comm) - 1] = '\0';
	r->exited = s->exit_ns != 0;
	r->exit_code = s->exit_code;
	r->start_ns = s->start_ns;
	r->serialize_calls = s->serialize_calls;
	r->deserialize_calls = s->deserialize_calls;
	r->ipc_calls = s->ipc_calls;
	r->ipc_oncpu_ns = s->ipc_oncpu_ns;
	memcpy(r->ipc_oncpu_fam_ns, s->ipc_oncpu_fam_ns, sizeof(r->ipc_oncpu_fam_ns));
	r->bytes_read = s->bytes_read;
	r->bytes_written = s->bytes_written;
	r->fork_calls = s->fork_calls;
	r->first_run_ns = s->first_run_ns;
	r->mmap_calls = s->mmap_calls;
	r->mmap_bytes = s->mmap_bytes;
	r->samples_total = s->samples_total;
	r->samples_ipc = s->samples_ipc;
	r->samples_copy = s->samples_copy;
	memcpy(r->faults, s->faults, sizeof(r->faults));
	r->faults_kernel = s->faults_kernel;
	memcpy(r->fault_samples, s->fault_samples, sizeof(r->fault_samples));
	memcpy(r->user_samples, s->user_samples, sizeof(r->user_samples));
	memcpy(r->act_samples, s->act_samples, sizeof(r->act_samples));
}

/* The timed phases (copy exact or a sampled share of exact on-CPU time).
 * Returns their sum with the fault time carved out of them. */
static uint64_t timed_phases(struct proc_row *r, const struct proc_stats *s,
			     const struct live_threads *live, const struct measure *m)
{
	uint64_t copy = 0, sum = 0;

	/* Precise probes time the copies; otherwise the sampler says which
	 * share of the (exact) on-CPU syscall time was copying. */
	for (int f = 0; f < FAM_COUNT; f++) {
		if (m->exact_copy[f])
			copy += s->copy_exact_fam_ns[f];
		else
			copy += share(s->ipc_oncpu_fam_ns[f], s->samples_copy_fam[f],
				      s->samples_ipc_fam[f]);
	}
	copy = min_u64(copy, s->ipc_oncpu_ns - r->fault_ns[ACT_IPC]);
	r->copy_timed = proc_row_copy_timed(r, m);
	/* kept side by side with exact copy times, to check the sampler */
	r->copy_sampled_ns = share(s->ipc_oncpu_ns, s->samples_copy, s->samples_ipc);
	r->phase_ns[PH_SERIALIZE] = s->serialize_ns - r->fault_ns[ACT_SERIALIZE];
	r->phase_ns[PH_DESERIALIZE] = s->deserialize_ns - r->fault_ns[ACT_DESERIALIZE];
	r->phase_ns[PH_COPY] = copy;
	r->phase_ns[PH_SYSCALL] = s->ipc_oncpu_ns - copy - r->fault_ns[ACT_IPC];
	r->blocked_poll_ns = s->poll_blocked_ns;
	r->phase_ns[PH_BLOCKED] = s->ipc_blocked_ns + s->poll_blocked_ns;
	r->phase_ns[PH_FORK] = (m->exact_fork ? s->fork_kernel_ns : s->fork_ns) + s->first_run_ns;
	r->phase_ns[PH_MMAP] = (m->exact_mmap ? s->mmap_kernel_ns : s->mmap_ns) + s->unmap_ns;
	r->ipc_kernel_ns = m->ipc_kernel ? s->ipc_kernel_ns : 0;
	r->phase_ns[PH_WAIT] = s->wait_ns + (live ? live->wait_ns : 0);
	for (int p = 0; p < PH_COUNT; p++)
		sum += r->phase_ns[p];
	/* fault time carved out of the timed activities above */
	return sum + r->fault_ns[ACT_SERIALIZE] + r->fault_ns[ACT_DESERIALIZE] +
	       r->fault_ns[ACT_IPC];
}

/* Serializer time sampled in its module once its probes were removed:
 * samples cannot tell pickling from unpickling, so split them as the
 * exactly timed calls before were split. */
static void add_sampled_serializer(struct proc_row *r, const struct proc_stats *s, uint64_t ns)
{
	uint64_t ser = s->serialize_ns + s->deserialize_ns
			   ? share(ns, s->serialize_ns, s->serialize_ns + s->deserialize_ns)
			   : ns / 2;

	r->phase_ns[PH_SERIALIZE] += ser;
	r->phase_ns[PH_DESERIALIZE] += ns - ser;
	r->ser_sampled_ns = ns;
}

/* Sampled time outside timed activities (faults, the program's own code,
 * a demoted serializer) comes out of what is left of the threads' time;
 * scaled down should sampling noise ever make it exceed that. Fault time
 * that precise probes timed is not scaled: it leaves less room for the
 * sampled rest instead. */
static void sampled_phases(struct proc_row *r, const struct proc_stats *s, uint64_t sum,
			   uint64_t period)
{
	uint64_t ser_sampled = s->ser_ip_samples * period, rest, loose;
	uint64_t elsewhere = proc_row_elsewhere_ns(r);
	/* sampled faults elsewhere are scaled with the rest; timed ones only take their room */
	uint64_t timed = r->faults_timed ? elsewhere : 0, scaled = elsewhere - timed;

	r->phase_ns[PH_COMPUTE] =
	    (s->user_samples[ACT_POST_FORK] + s->user_samples[ACT_OTHER]) * period;
	rest = r->thread_ns > sum + timed ? r->thread_ns - sum - timed : 0;
	loose = scaled + r->phase_ns[PH_COMPUTE] + ser_sampled;
	if (loose > rest) {
		uint64_t ser = share(rest, ser_sampled, loose);

		if (scaled) {
			for (int a = ACT_POST_FORK; a < ACT_COUNT; a++)
				r->fault_ns[a] = share(rest, r->fault_ns[a], loose);
			scaled = proc_row_elsewhere_ns(r);
		}
		r->phase_ns[PH_COMPUTE] = rest - scaled - ser;
		ser_sampled = ser;
	}
	sum += r->phase_ns[PH_COMPUTE] + ser_sampled;
	if (ser_sampled)
		add_sampled_serializer(r, s, ser_sampled);
	for (int a = 0; a < ACT_COUNT; a++)
		r->phase_ns[PH_FAULT] += r->fault_ns[a];
	sum += proc_row_elsewhere_ns(r);
	r->phase_ns[PH_OTHER] = r->thread_ns > sum ? r->thread_ns - sum : 0;
}

void proc_row_from_stats(struct proc_row *r, uint32_t pid, const struct proc_stats *s,
			 const struct live_threads *live, uint64_t end_ns, const struct measure *m)
{
	uint64_t period = m->sample_hz ? 1000000000ull / m->sample_hz : 0;

	memset(r, 0, sizeof(*r));
	copy_counters(r, pid, s);
	r->end_ns = r->exited ? s->exit_ns : end_ns;
	r->wall_ns = r->end_ns > r->start_ns ? r->end_ns - r->start_ns : 0;
	r->thread_ns = s->thread_ns + (live ? live->thread_ns : 0);
	r->faults_timed = m->exact_fault;
	estimate_faults(r, s, m);
	sampled_phases(r, s, timed_phases(r, s, live, m), period);
	estimate_ci95(r, s, m);
}

uint64_t proc_row_elsewhere_ns(const struct proc_row *r)
{
	uint64_t ns = 0;

	for (int a = ACT_POST_FORK; a < ACT_COUNT; a++)
		ns += r->fault_ns[a];
	return ns;
}

uint64_t proc_row_elsewhere_ci95(const struct proc_row *r)
{
	uint64_t ci = 0;

	for (int a = ACT_POST_FORK; a < ACT_COUNT; a++)
		ci = ci95_combine((double)ci, (double)r->fault_ci95_ns[a]);
	return ci;
}

uint64_t proc_row_faults(const struct proc_row *r, int type)
{
	uint64_t n = 0;

	for (int a = 0; a < ACT_COUNT; a++)
		n += r->faults[a][type];
	return n;
}

double ci95_remove(double a, double b)
{
	return a > b ? sqrt(a * a - b * b) : 0;
}

void proc_row_fault_ci95_from_phases(struct proc_row *r)
{
	double ser = (double)r->ci95_ns[PH_SERIALIZE], deser = (double)r->ci95_ns[PH_DESERIALIZE];
	double ipc = ci95_remove((double)r->ci95_ns[PH_SYSCALL], (double)r->ci95_ns[PH_COPY]);
	double rest =
	    ci95_remove(ci95_remove(ci95_remove((double)r->ci95_ns[PH_FAULT], ser), deser), ipc);

	/* u64_sat: a recorded UINT64_MAX comes back as 2^64, past the type */
	r->fault_ci95_ns[ACT_SERIALIZE] = u64_sat(ser);
	r->fault_ci95_ns[ACT_DESERIALIZE] = u64_sat(deser);
	r->fault_ci95_ns[ACT_IPC] = u64_sat(ipc);
	r->fault_ci95_ns[ACT_POST_FORK] = 0;
	r->fault_ci95_ns[ACT_OTHER] = u64_sat(rest);
	r->fault_ci95_ns[ACT_SHARED] = 0;
}

bool proc_row_copy_timed(const struct proc_row *r, const struct measure *m)
{
	uint64_t covered = 0;

	for (int f = 0; f < FAM_COUNT; f++)
		if (m->exact_copy[f])
			covered += r->ipc_oncpu_fam_ns[f];
	return covered >= r->ipc_oncpu_ns;
}
