// SPDX-License-Identifier: MIT
/*
 * Each finding rule on a report that must trigger it and on one just on
 * the other side of its threshold that must not. Reports are built by
 * hand: the rules read only the report model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "findings.h"

static struct report rep;
static struct proc_row procs[2];
static struct channel chans[2];

static int reset(void **state)
{
	(void)state;
	memset(&rep, 0, sizeof(rep));
	memset(procs, 0, sizeof(procs));
	memset(chans, 0, sizeof(chans));
	return 0;
}

/* The finding of `rule`, or NULL; checks that no other rule fired. */
static const struct finding *only(const char *rule)
{
	static struct finding f[FINDINGS_MAX];
	int n = findings_derive(&rep, f, FINDINGS_MAX);

	for (int i = 0; i < n; i++)
		if (strcmp(f[i].rule, rule))
			fail_msg("unexpected finding %s: %s", f[i].rule, f[i].text);
	return n ? &f[0] : NULL;
}

static void test_serialization_dominates(void **state)
{
	const struct finding *f;

	(void)state;
	rep.totals.activity_ns[ACT_SERIALIZE] = 30000000;
	rep.totals.activity_ns[ACT_DESERIALIZE] = 20000000;
	rep.totals.ipc_oncpu_ns = 50000000; /* exactly half: fires */
	f = only("serialization-dominates");
	assert_non_null(f);
	assert_true(f->value == 0.5);
	assert_non_null(strstr(f->text, "pickling is 50% of the CPU"));
	assert_non_null(strstr(f->text, "serialize 30.0 ms"));
	rep.totals.ipc_oncpu_ns = 50000001;
	assert_null(only("serialization-dominates"));
	/* too little to matter */
	rep.totals.ipc_oncpu_ns = 0;
	rep.totals.activity_ns[ACT_SERIALIZE] = 4000000;
	rep.totals.activity_ns[ACT_DESERIALIZE] = 5000000;
	assert_null(only("serialization-dominates"));
}

static void test_cow_while_pickling(void **state)
{
	const struct finding *f;

	(void)state;
	rep.totals.faults[ACT_SERIALIZE][FT_COW] = 1000;
	rep.totals.faults[ACT_SERIALIZE][FT_NOT_PRESENT] = 3000; /* 25% */
	f = only("cow-while-pickling");
	assert_non_null(f);
	assert_non_null(strstr(f->text, "1000 copy-on-write page faults while pickling (25%"));
	rep.totals.faults[ACT_SERIALIZE][FT_NOT_PRESENT] = 3001;
	assert_null(only("cow-while-pickling"));
	/* copy-on-write elsewhere (a child touching inherited data) is not it */
	rep.totals.faults[ACT_SERIALIZE][FT_COW] = 999;
	rep.totals.faults[ACT_SERIALIZE][FT_NOT_PRESENT] = 0;
	rep.totals.faults[ACT_POST_FORK][FT_COW] = 100000;
	assert_null(only("cow-while-pickling"));
}

static void test_channel_below_pipe(void **state)
{
	const struct finding *f;

	(void)state;
	rep.chans = chans;
	rep.n_chans = 2;
	rep.pipe_bps = 1e9;
	/* the busiest channel decides: 10 MB in 1 s = 1% of a pipe */
	chans[0] = (struct channel){
	    .ino = 7, .kind = IPC_PIPE, .bytes_written = 2000000, .first_ns = 0, .last_ns = 1000};
	chans[1] = (struct channel){.ino = 8,
				    .kind = IPC_PIPE,
				    .bytes_written = 10000000,
				    .first_ns = 1000000000,
				    .last_ns = 2000000000};
	f = only("channel-below-pipe");
	assert_non_null(f);
	assert_non_null(strstr(f->text, "pipe:[8] moved 10.00 MB"));
	assert_non_null(strstr(f->text, "1.0% of the"));
	/* at 10% of a pipe it is not below */
	chans[1].last_ns = 1100000000;
	assert_null(only("channel-below-pipe"));
	/* no pipe bandwidth measured: nothing to compare with */
	chans[1].last_ns = 2000000000;
	rep.pipe_bps = 0;
	assert_null(only("channel-below-pipe"));
}

static void test_small_messages(void **state)
{
	const struct finding *f;

	(void)state;
	rep.totals.ipc_calls = 10000;
	rep.totals.bytes_written = 5000000;
	rep.totals.bytes_read = 5239999; /* 1023.9999 bytes a call */
	f = only("small-messages");
	assert_non_null(f);
	assert_non_null(strstr(f->text, "10000 IPC calls of 1024 bytes"));
	rep.totals.bytes_read = 5240000; /* 1024 */
	assert_null(only("small-messages"));
	rep.totals.ipc_calls = 9999;
	rep.totals.bytes_read = 0;
	assert_null(only("small-messages"));
}

/* One process's end of a channel, by hand. */
static struct chan_end end_of(uint32_t pid, uint8_t dir, uint64_t first_ns, uint64_t bytes,
			      uint64_t blocked_ns)
{
	struct chan_end e = {.tgid = pid, .dir = dir};

	e.s.first_ns = first_ns;
	e.s.bytes = bytes;
	e.s.blocked_ns = blocked_ns;
	return e;
}

static void test_blocked_on_peer(void **state)
{
	struct chan_end pipe_read, req_read, reply_write;
	const struct finding *f;

	(void)state;
	rep.procs = procs;
	rep.n_procs = 2;
	rep.chans = chans;
	rep.n_chans = 1;
	procs[0] = (struct proc_row){.pid = 10, .thread_ns = 1000000000};
	procs[1] = (struct proc_row){.pid = 11, .thread_ns = 1000000000};
	strcpy(procs[1].comm, "reader");
	/* a one-way pipe that brought 2 MB: waiting for data */
	chans[0] = (struct channel){.ino = 7, .kind = IPC_PIPE, .ends = &pipe_read, .n_ends = 1};
	pipe_read = end_of(11, DIR_READ, 100, 2 << 20, 500000000);
	f = only("blocked-on-peer");
	assert_non_null(f);
	assert_non_null(strstr(f->text, "pid 11 (reader) spent 500.0 ms, 50% of its time"));
	pipe_read.s.blocked_ns = 499999999;
	assert_null(only("blocked-on-peer"));
	/* an idle helper: blocked all its life on a pipe that brought little */
	pipe_read = end_of(11, DIR_READ, 100, 100, 900000000);
	assert_null(only("blocked-on-peer"));
	/* a connection (a unix socket pair): 11 reads requests on one
	 * direction and answers on the other */
	rep.n_chans = 2;
	chans[0] = (struct channel){
	    .ino = 20, .peer_ino = 21, .kind = IPC_UNIX_STREAM, .ends = &req_read, .n_ends = 1};
	chans[1] = (struct channel){
	    .ino = 21, .peer_ino = 20, .kind = IPC_UNIX_STREAM, .ends = &reply_write, .n_ends = 1};
	req_read = end_of(11, DIR_READ, 100, 100, 900000000);
	reply_write = end_of(11, DIR_WRITE, 200, 100, 0);
	/* a server: its peer sent first; it waits for work, no bottleneck */
	assert_null(only("blocked-on-peer"));
	/* a client: it sent first; it waits for answers */
	reply_write.s.first_ns = 50;
	f = only("blocked-on-peer");
	assert_non_null(f);
	assert_non_null(strstr(f->text, "pid 11 (reader) spent 900.0 ms, 90% of its time"));
	/* waits in epoll for the answers count too */
	req_read.s.blocked_ns = 60000000;
	req_read.s.poll_blocked_ns = 500000000;
	assert_non_null(only("blocked-on-peer"));
	/* most of a short life is not worth a sentence */
	procs[1].thread_ns = 150000000;
	req_read.s.blocked_ns = 99999999;
	req_read.s.poll_blocked_ns = 0;
	assert_null(only("blocked-on-peer"));
}

static void test_shared_memory_carries(void **state)
{
	struct seg_use uses[2] = {0};
	const struct finding *f;

	(void)state;
	rep.sample_hz = 100;
	rep.seg_uses = uses;
	rep.n_seg_uses = 2;
	/* a worker made a segment and filled it; the main process read it */
	uses[0] = (struct seg_use){.ino = 7, .dev = 1, .pid = 20, .bytes_touched = 3000000};
	uses[0].s.flags = SEG_MAPPED;
	uses[0].s.first_ns = 1;
	uses[0].s.fault_samples = 2;
	uses[1] = (struct seg_use){.ino = 7, .dev = 1, .pid = 10, .bytes_touched = 3000000};
	uses[1].s.flags = SEG_MAPPED;
	uses[1].s.first_ns = 2;
	uses[1].s.fault_samples = 1;
	strcpy(uses[0].s.name, "torch_20_1");
	rep.chans = chans;
	rep.n_chans = 1;
	chans[0].bytes_written = 3000000; /* as much through a pipe: one half */
	chans[0].fds_sent = 1;
	chans[0].oncpu_ns = 5000;
	f = only("shared-memory-carries");
	assert_non_null(f);
	assert_non_null(strstr(f->text, "3.00 MB went through 1 shared segment"));
	assert_non_null(strstr(f->text, "makers (~20.0 ms, sampled) and by the readers (~10.0 ms"));
	assert_non_null(strstr(f->text, "1 descriptor hand-off (5.0 us"));
	chans[0].bytes_written = 3000001; /* just under one half */
	assert_null(only("shared-memory-carries"));
	/* under 1 MB read from segments: not worth a sentence */
	chans[0].bytes_written = 0;
	uses[1].bytes_touched = 999999;
	assert_null(only("shared-memory-carries"));
	rep.seg_uses = NULL;
	rep.n_seg_uses = 0;
}

static void test_a_quiet_report_has_none(void **state)
{
	struct finding f[FINDINGS_MAX];

	(void)state;
	assert_int_equal(findings_derive(&rep, f, FINDINGS_MAX), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_serialization_dominates, reset),
	    cmocka_unit_test_setup(test_cow_while_pickling, reset),
	    cmocka_unit_test_setup(test_channel_below_pipe, reset),
	    cmocka_unit_test_setup(test_small_messages, reset),
	    cmocka_unit_test_setup(test_blocked_on_peer, reset),
	    cmocka_unit_test_setup(test_shared_memory_carries, reset),
	    cmocka_unit_test_setup(test_a_quiet_report_has_none, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
