// SPDX-License-Identifier: MIT
/* Derived phases, channel grouping and totals of the report model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "breakdown.h"
#include "report.h"

/* sampled measurement, one sample per ms */
static const struct measure sampled_1khz = {.sample_hz = 1000};

static struct proc_stats busy_proc(void)
{
	struct proc_stats s = {0};

	s.start_ns = 1000;
	s.exit_ns = 1000 + 100000000; /* 100 ms */
	s.thread_ns = 100000000;
	s.ppid = 1;
	strcpy(s.comm, "worker");
	s.serialize_ns = 20000000;
	s.deserialize_ns = 10000000;
	s.ipc_oncpu_ns = 8000000;
	s.ipc_blocked_ns = 30000000;
	s.fork_ns = 1000000;
	s.first_run_ns = 500000;
	s.mmap_ns = 250000;
	s.samples_ipc = 40;
	s.samples_copy = 10;
	s.ipc_oncpu_fam_ns[FAM_PIPE] = s.ipc_oncpu_ns;
	s.samples_ipc_fam[FAM_PIPE] = 40;
	s.samples_copy_fam[FAM_PIPE] = 10;
	/* every ms of the timed activities sampled once */
	s.act_samples[ACT_SERIALIZE] = 20;
	s.act_samples[ACT_DESERIALIZE] = 10;
	s.act_samples[ACT_IPC] = 40;
	return s;
}

static void test_phases_sum_to_thread_time(void **state)
{
	struct proc_stats s = busy_proc();
	struct proc_row r;
	uint64_t sum = 0;

	(void)state;
	proc_row_from_stats(&r, 42, &s, NULL, 0, &sampled_1khz);
	for (int p = 0; p < PH_COUNT; p++)
		sum += r.phase_ns[p];
	assert_int_equal(sum, r.thread_ns);
	assert_int_equal(r.wall_ns, 100000000);
	/* 10 of 40 IPC samples were copying: a quarter of 8 ms on CPU */
	assert_int_equal(r.phase_ns[PH_COPY], 2000000);
	assert_int_equal(r.phase_ns[PH_SYSCALL], 6000000);
	assert_int_equal(r.phase_ns[PH_FORK], 1500000);
	assert_int_equal(r.phase_ns[PH_OTHER],
			 100000000 - 20000000 - 10000000 - 8000000 - 30000000 - 1500000 - 250000);
	assert_true(r.exited);
	assert_string_equal(r.comm, "worker");
}

/*
 * The 95% half-widths, against values worked out by hand (Python):
 * copy: Wilson interval of 10 copy samples out of 40 IPC samples, times the
 * 8 ms on CPU in IPC calls: 8e6 * 0.15194 = 1,215,540 ns; compute: 25 user
 * samples at 1 kHz, a Poisson count: 1.96 * sqrt(25) * 1 ms = 9.8 ms.
 * Exactly measured phases carry none.
 */
static void test_sampled_phases_carry_their_uncertainty(void **state)
{
	struct proc_stats s = busy_proc();
	struct proc_row r;

	(void)state;
	s.user_samples[ACT_OTHER] = 25;
	proc_row_from_stats(&r, 42, &s, NULL, 0, &sampled_1khz);
	assert_in_range(r.ci95_ns[PH_COPY], 1215000, 1216000);
	assert_int_equal(r.ci95_ns[PH_COMPUTE], 9800000);
	assert_int_equal(r.ci95_ns[PH_BLOCKED], 0);
	assert_int_equal(r.ci95_ns[PH_WAIT], 0);
	assert_int_equal(r.ci95_ns[PH_FORK], 0);
	/* the syscall share is what copy is not: it inherits copy's error */
	assert_true(r.ci95_ns[PH_SYSCALL] >= r.ci95_ns[PH_COPY]);
}

static void test_live_process_uses_end_time(void **state)
{
	struct live_threads live = {.thread_ns = 50000000, .wait_ns = 0};
	struct proc_stats s = busy_proc();
	struct proc_row r;

	(void)state;
	s.exit_ns = 0;
	s.thread_ns = 0;
	proc_row_from_stats(&r, 7, &s, &live, 1000 + 50000000, &sampled_1khz);
	assert_false(r.exited);
	assert_int_equal(r.wall_ns, 50000000);
	assert_int_equal(r.thread_ns, 50000000);
	/* phases larger than the lifetime never make "other" wrap around */
	assert_int_equal(r.phase_ns[PH_OTHER], 0);
}

static void test_no_samples_means_no_copy(void **state)
{
	struct proc_stats s = busy_proc();
	struct proc_row r;

	(void)state;
	s.samples_ipc = 0;
	s.samples_copy = 0;
	s.samples_ipc_fam[FAM_PIPE] = 0;
	s.samples_copy_fam[FAM_PIPE] = 0;
	proc_row_from_stats(&r, 1, &s, NULL, 0, &sampled_1khz);
	assert_int_equal(r.phase_ns[PH_COPY], 0);
	assert_int_equal(r.phase_ns[PH_SYSCALL], 8000000);
}

static void test_faults_are_carved_out_of_activities(void **state)
{
	struct proc_stats s = busy_proc();
	struct proc_row r;
	uint64_t sum = 0;

	(void)state;
	s.wait_ns = 5000000;
	/* inside timed activities a share of their samples, elsewhere one
	 * sample stands for 1 ms (1000 Hz) */
	s.fault_samples[ACT_SERIALIZE] = 5;    /* 5 of 20 samples: 5 ms of 20 ms */
	s.fault_samples[ACT_DESERIALIZE] = 50; /* more than it had: capped */
	s.fault_samples[ACT_IPC] = 8;	       /* 8 of 40 IPC samples: 1.6 ms */
	s.fault_samples[ACT_OTHER] = 3;
	s.faults[ACT_SERIALIZE][FT_COW] = 1200;
	s.faults[ACT_DESERIALIZE][FT_NOT_PRESENT] = 38000;
	proc_row_from_stats(&r, 9, &s, NULL, 0, &sampled_1khz);
	assert_int_equal(r.fault_ns[ACT_SERIALIZE], 5000000);
	assert_int_equal(r.phase_ns[PH_SERIALIZE], 15000000);
	assert_int_equal(r.fault_ns[ACT_DESERIALIZE], 10000000);
	assert_int_equal(r.phase_ns[PH_DESERIALIZE], 0);
	assert_int_equal(r.fault_ns[ACT_IPC], 1600000);
	assert_int_equal(r.phase_ns[PH_COPY], 2000000);
	assert_int_equal(r.phase_ns[PH_SYSCALL], 8000000 - 2000000 - 1600000);
	assert_int_equal(r.fault_ns[ACT_OTHER], 3000000);
	assert_int_equal(r.phase_ns[PH_FAULT], 5000000 + 10000000 + 1600000 + 3000000);
	assert_int_equal(r.phase_ns[PH_WAIT], 5000000);
	assert_int_equal(r.activity_ns[ACT_DESERIALIZE], 10000000);
	assert_int_equal(r.faults[ACT_DESERIALIZE][FT_NOT_PRESENT], 38000);
	for (int p = 0; p < PH_COUNT; p++)
		sum += r.phase_ns[p];
	assert_int_equal(sum, r.thread_ns);
}

static void test_loose_faults_never_exceed_lifetime(void **state)
{
	struct proc_stats s = busy_proc();
	struct proc_row r;
	uint64_t sum = 0;

	(void)state;
	s.fault_samples[ACT_OTHER] = 1000000; /* absurd: a million ms */
	s.fault_samples[ACT_POST_FORK] = 1000000;
	s.user_samples[ACT_OTHER] = 1000000;
	/* and faults inside the timed activities, which must not be counted
	 * twice when capping */
	s.fault_samples[ACT_SERIALIZE] = 5;
	s.fault_samples[ACT_IPC] = 40;
	proc_row_from_stats(&r, 9, &s, NULL, 0, &sampled_1khz);
	for (int p = 0; p < PH_COUNT; p++)
		sum += r.phase_ns[p];
	assert_int_equal(sum, r.thread_ns);
	assert_int_equal(r.phase_ns[PH_OTHER], 0);
	assert_int_equal(r.fault_ns[ACT_OTHER], r.fault_ns[ACT_POST_FORK]);
}

static void test_exact_copy_only_where_covered(void **state)
{
	struct measure m = {.sample_hz = 1000, .exact_copy = {false, true}};
	struct proc_stats s = busy_proc();
	struct proc_row r;

	(void)state;
	/* 8 ms on CPU: 5 ms in pipe calls (sampled: 10 of 20 samples copying),
	 * 3 ms in socket calls (exact: 1.25 ms copying) */
	s.ipc_oncpu_fam_ns[FAM_PIPE] = 5000000;
	s.ipc_oncpu_fam_ns[FAM_UNIX] = 3000000;
	s.samples_ipc_fam[FAM_PIPE] = 20;
	s.samples_copy_fam[FAM_PIPE] = 10;
	s.samples_ipc_fam[FAM_UNIX] = 20;
	s.samples_copy_fam[FAM_UNIX] = 0; /* ignored: exact */
	s.copy_exact_fam_ns[FAM_UNIX] = 1250000;
	proc_row_from_stats(&r, 5, &s, NULL, 0, &m);
	assert_int_equal(r.phase_ns[PH_COPY], 2500000 + 1250000);
	assert_int_equal(r.phase_ns[PH_SYSCALL], 8000000 - 3750000);
	/* the sampled estimate is kept beside: 10 of 40 IPC samples */
	assert_int_equal(r.copy_sampled_ns, 2000000);
}

static void test_channels_group_by_inode(void **state)
{
	struct report rep = {0};
	struct chan_key w = {.ino = 99, .dev = 12, .tgid = 10, .dir = DIR_WRITE, .kind = IPC_PIPE};
	struct chan_key r = w, other = w;
	struct chan_stats ws = {.calls = 2, .bytes = 4871356, .blocked_ns = 5};
	struct chan_stats rs = {.calls = 76, .bytes = 4871356, .blocked_ns = 7};
	char name[64];

	(void)state;
	r.tgid = 11;
	r.dir = DIR_READ;
	other.ino = 100;
	assert_int_equal(report_add_chan(&rep, &r, &rs), 0);
	assert_int_equal(report_add_chan(&rep, &other, &ws), 0);
	assert_int_equal(report_add_chan(&rep, &w, &ws), 0);
	report_finish(&rep);
	assert_int_equal(rep.n_chans, 2);
	/* most bytes first, writers before readers */
	assert_int_equal(rep.chans[0].ino, 99);
	assert_int_equal(rep.chans[0].n_ends, 2);
	assert_int_equal(rep.chans[0].ends[0].dir, DIR_WRITE);
	assert_int_equal(rep.chans[0].ends[0].tgid, 10);
	assert_int_equal(rep.chans[0].bytes_written, 4871356);
	assert_int_equal(rep.chans[0].bytes_read, 4871356);
	assert_int_equal(rep.chans[0].read_calls, 76);
	assert_int_equal(rep.chans[0].blocked_ns, 12);
	assert_string_equal(chan_name(&rep.chans[0], name, sizeof(name)), "pipe:[99]");
	report_free(&rep);
}

static void test_socket_names_show_both_ends(void **state)
{
	struct channel c = {.ino = 5, .peer_ino = 6, .kind = IPC_UNIX_STREAM};
	char name[64];

	(void)state;
	assert_string_equal(chan_name(&c, name, sizeof(name)), "socket:[5]->[6]");
	c.peer_ino = 0;
	assert_string_equal(chan_name(&c, name, sizeof(name)), "socket:[5]");
	c.kind = IPC_FIFO;
	c.dev = (8u << 20) | 1;
	assert_string_equal(chan_name(&c, name, sizeof(name)), "fifo:[8:1:5]");
}

static void test_totals_add_up(void **state)
{
	struct proc_stats s = busy_proc();
	struct report rep = {.start_ns = 1000, .end_ns = 1000 + 100000000};
	struct proc_row r;

	(void)state;
	proc_row_from_stats(&r, 3, &s, NULL, 0, &sampled_1khz);
	report_add_proc(&rep, &r);
	proc_row_from_stats(&r, 2, &s, NULL, 0, &sampled_1khz);
	report_add_proc(&rep, &r);
	report_finish(&rep);
	assert_int_equal(rep.procs[0].pid, 2);
	assert_int_equal(rep.totals.thread_ns, 200000000);
	assert_int_equal(rep.totals.phase_ns[PH_SERIALIZE], 40000000);
	assert_int_equal(rep.totals.wall_ns, 100000000);
	assert_non_null(report_find_proc(&rep, 3));
	assert_null(report_find_proc(&rep, 4));
	report_free(&rep);
}

/* The top level of the hierarchy partitions the threads' time; each split
 * stays inside what it splits; exact amounts are exact. */
static void check_breakdown(const struct proc_row *r)
{
	struct measured ms[MS_COUNT];
	uint64_t sum = 0;

	breakdown_of(r, NULL, ms);
	for (int i = 0; i < MS_COUNT; i++) {
		uint64_t parts = 0;

		sum += ms[i].e.ns;
		assert_true(ms[i].e.lo_ns <= ms[i].e.ns && ms[i].e.ns <= ms[i].e.hi_ns);
		if (ms[i].e.exact)
			assert_true(ms[i].e.lo_ns == ms[i].e.hi_ns);
		for (int k = 0; k < ms[i].n_splits; k++) {
			const struct estimate *e = &ms[i].splits[k].e;

			parts += e->ns;
			assert_true(e->lo_ns <= e->ns && e->ns <= e->hi_ns);
			assert_true(e->hi_ns <= ms[i].e.hi_ns);
		}
		if (ms[i].n_splits)
			assert_int_equal(parts, ms[i].e.ns);
	}
	assert_int_equal(sum, r->thread_ns);
}

/*
 * What the seeds showed: every IPC sample in a copy routine or a fault and
 * every serializer sample in a fault. The partition's syscall and serialize
 * read 0; the hierarchy keeps the exact amounts, with the sampled shares
 * beneath them and ranges no wider than those amounts.
 */
static void test_exact_amounts_stand_as_measured(void **state)
{
	struct proc_stats s = busy_proc();
	struct proc_row r;
	struct measured ms[MS_COUNT];

	(void)state;
	s.samples_copy = s.samples_copy_fam[FAM_PIPE] = 40; /* all 40 IPC samples */
	s.fault_samples[ACT_SERIALIZE] = 20;		    /* all 20 serializer samples */
	s.user_samples[ACT_OTHER] = 10;
	proc_row_from_stats(&r, 7, &s, NULL, 0, &sampled_1khz);
	assert_int_equal(r.phase_ns[PH_SYSCALL], 0);
	assert_int_equal(r.phase_ns[PH_SERIALIZE], 0);
	breakdown_of(&r, NULL, ms);
	assert_true(ms[MS_IPC_ONCPU].e.exact);
	assert_int_equal(ms[MS_IPC_ONCPU].e.ns, 8000000);
	assert_true(ms[MS_SERIALIZER].e.exact);
	assert_int_equal(ms[MS_SERIALIZER].e.ns, 20000000);
	/* 40 of 40: the Wilson interval's lower end, 91.2% of 8 ms */
	assert_false(ms[MS_IPC_ONCPU].splits[SPLIT_IPC_COPY].e.exact);
	assert_int_equal(ms[MS_IPC_ONCPU].splits[SPLIT_IPC_COPY].e.hi_ns, 8000000);
	assert_in_range(ms[MS_IPC_ONCPU].splits[SPLIT_IPC_COPY].e.lo_ns, 7290000, 7300000);
	assert_false(ms[MS_COMPUTE].e.exact);
	assert_true(ms[MS_BLOCKED].e.exact);
	check_breakdown(&r);
}

/* Copies timed by precise probes: the copy split is exact, the rest too
 * when faults are timed as well. */
static void test_timed_splits_are_exact(void **state)
{
	struct measure m = {.sample_hz = 1000, .exact_copy = {true, true}, .exact_fault = true};
	struct proc_stats s = busy_proc();
	struct proc_row r;
	struct measured ms[MS_COUNT];

	(void)state;
	s.copy_exact_fam_ns[FAM_PIPE] = 3000000;
	s.fault_exact_ns[ACT_IPC] = 1000000;
	s.fault_exact_ns[ACT_OTHER] = 2000000;
	proc_row_from_stats(&r, 7, &s, NULL, 0, &m);
	breakdown_of(&r, NULL, ms);
	for (int k = 0; k < ms[MS_IPC_ONCPU].n_splits; k++)
		assert_true(ms[MS_IPC_ONCPU].splits[k].e.exact);
	assert_int_equal(ms[MS_IPC_ONCPU].splits[SPLIT_IPC_COPY].e.ns, 3000000);
	assert_int_equal(ms[MS_IPC_ONCPU].splits[SPLIT_IPC_REST].e.ns, 8000000 - 3000000 - 1000000);
	assert_true(ms[MS_FAULTS_ELSEWHERE].e.exact);
	check_breakdown(&r);
	/* a pipe's copies not timed: sampled again */
	m.exact_copy[FAM_PIPE] = false;
	proc_row_from_stats(&r, 7, &s, NULL, 0, &m);
	breakdown_of(&r, NULL, ms);
	assert_false(ms[MS_IPC_ONCPU].splits[SPLIT_IPC_COPY].e.exact);
	check_breakdown(&r);
}

/* Rows recorded before fault_ci95_ns get it back from the phases'. */
static void test_fault_intervals_of_older_recordings(void **state)
{
	struct proc_stats s = busy_proc();
	struct proc_row r;
	uint64_t want[ACT_COUNT];

	(void)state;
	s.fault_samples[ACT_SERIALIZE] = 5;
	s.fault_samples[ACT_IPC] = 8;
	s.fault_samples[ACT_OTHER] = 3;
	s.fault_samples[ACT_POST_FORK] = 2;
	proc_row_from_stats(&r, 3, &s, NULL, 0, &sampled_1khz);
	memcpy(want, r.fault_ci95_ns, sizeof(want));
	memset(r.fault_ci95_ns, 0, sizeof(r.fault_ci95_ns));
	proc_row_fault_ci95_from_phases(&r);
	/* within the nanoseconds that truncating each combined half-width
	 * to an integer loses */
	for (int a = ACT_SERIALIZE; a <= ACT_IPC; a++) {
		assert_true(want[a] > 1000000);
		assert_in_range(r.fault_ci95_ns[a], want[a] - 8, want[a] + 8);
	}
	/* post-fork, shared and other cannot be told apart: together, as other */
	assert_int_equal(want[ACT_SHARED], 0); /* no fault on shared memory: exactly none */
	assert_in_range(r.fault_ci95_ns[ACT_OTHER],
			ci95_combine((double)want[ACT_POST_FORK], (double)want[ACT_OTHER]) - 8,
			ci95_combine((double)want[ACT_POST_FORK], (double)want[ACT_OTHER]) + 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_phases_sum_to_thread_time),
	    cmocka_unit_test(test_sampled_phases_carry_their_uncertainty),
	    cmocka_unit_test(test_live_process_uses_end_time),
	    cmocka_unit_test(test_no_samples_means_no_copy),
	    cmocka_unit_test(test_faults_are_carved_out_of_activities),
	    cmocka_unit_test(test_loose_faults_never_exceed_lifetime),
	    cmocka_unit_test(test_exact_copy_only_where_covered),
	    cmocka_unit_test(test_channels_group_by_inode),
	    cmocka_unit_test(test_socket_names_show_both_ends),
	    cmocka_unit_test(test_totals_add_up),
	    cmocka_unit_test(test_exact_amounts_stand_as_measured),
	    cmocka_unit_test(test_timed_splits_are_exact),
	    cmocka_unit_test(test_fault_intervals_of_older_recordings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
