// SPDX-License-Identifier: MIT
/* Recordings: round trip, and no crash on any truncation or corruption. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "record.h"

static const struct measure m = {.sample_hz = 4999, .exact_copy = {false, true}};
static char path[64], scratch[64];

static void build(struct report *rep)
{
	struct proc_stats s = {0};
	struct chan_key k = {.ino = 77, .tgid = 10, .dir = DIR_WRITE, .kind = IPC_UNIX_STREAM};
	struct chan_stats cs = {.calls = 3, .bytes = 4871356, .peer_ino = 78};
	struct proc_row row;

	memset(rep, 0, sizeof(*rep));
	rep->target = "python3 seed.py queue";
	rep->end_ns = 5000000;
	rep->sample_hz = 4999;
	rep->measure = m;
	rep->exit_status = 3;
	rep->lost_events = 2;
	for (int p = 0; p < PH_COUNT; p++)
		rep->methods[p] = "tracepoint";
	rep->methods[PH_COPY] = "fentry+sampled";
	rep->ipc_kernel_method = "fentry";
	s.exit_ns = 5000000;
	s.thread_ns = 5000000;
	s.serialize_ns = 1000000;
	s.faults[ACT_DESERIALIZE][FT_NOT_PRESENT] = 38000;
	strcpy(s.comm, "python3");
	proc_row_from_stats(&row, 10, &s, NULL, 0, &m);
	report_add_proc(rep, &row);
	report_add_chan(rep, &k, &cs);
	k.tgid = 11;
	k.dir = DIR_READ;
	report_add_chan(rep, &k, &cs);
	report_add_probe(rep, "/x/_pickle.so:dump (serialize)");
	report_add_note(rep, "a note with \"quotes\"");
	report_finish(rep);
}

static char *render(const struct report *rep, int (*w)(const struct report *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	w(rep, f);
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	struct report rep;
	char err[256];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/ipcprof-rec-XXXXXX");
	close(mkstemp(path));
	snprintf(scratch, sizeof(scratch), "/tmp/ipcprof-bad-XXXXXX");
	close(mkstemp(scratch));
	build(&rep);
	f = fopen(path, "wb");
	if (!f || record_write(&rep, f, path, err, sizeof(err)) || fclose(f))
		return -1;
	/* build() used string literals: nothing owned, but the rows are */
	report_free(&rep);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(scratch);
	return 0;
}

static void test_round_trip_prints_the_same(void **state)
{
	struct report live, back = {0};
	char err[256];
	int (*writers[])(const struct report *, FILE *) = {report_write_text, report_write_json,
							   report_write_csv};

	(void)state;
	build(&live);
	assert_int_equal(record_read(path, &back, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
		char *a = render(&live, writers[i]), *b = render(&back, writers[i]);

		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	assert_string_equal(back.methods[PH_COPY], "fentry+sampled");
	assert_int_equal(back.chans[0].bytes_written, 4871356);
	assert_int_equal(back.totals.faults[ACT_DESERIALIZE][FT_NOT_PRESENT], 38000);
	report_free(&live);
	report_free(&back);
}

static long file_bytes(const char *p, unsigned char **out)
{
	FILE *f = fopen(p, "rb");
	long n;

	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*out = malloc(n);
	assert_int_equal(fread(*out, 1, n, f), n);
	fclose(f);
	return n;
}

static void write_bytes(const unsigned char *b, long n)
{
	FILE *f = fopen(scratch, "wb");

	assert_int_equal(fwrite(b, 1, n, f), n);
	fclose(f);
}

static void test_every_truncation_is_rejected(void **state)
{
	unsigned char *bytes;
	long n = file_bytes(path, &bytes);
	char err[256];

	(void)state;
	for (long len = 0; len < n; len++) {
		struct report r = {0};

		write_bytes(bytes, len);
		assert_int_equal(record_read(scratch, &r, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, scratch));
		report_free(&r);
	}
	free(bytes);
}

/* A damaged file is either rejected or, where the damage hit bits nobody
 * reads (header padding, deflate's final padding bits), prints exactly as
 * the intact one: never a silently wrong number. */
static void test_every_flipped_byte_is_caught(void **state)
{
	struct report live;
	unsigned char *bytes;
	long n = file_bytes(path, &bytes);
	char err[256], *want;
	int accepted = 0;

	(void)state;
	build(&live);
	want = render(&live, report_write_json);
	for (long i = 0; i < n; i++) {
		struct report r = {0};

		bytes[i] ^= 0x5a;
		write_bytes(bytes, n);
		if (record_read(scratch, &r, err, sizeof(err)) == 0) {
			char *got = render(&r, report_write_json);

			assert_string_equal(got, want);
			free(got);
			accepted++;
		}
		report_free(&r);
		bytes[i] ^= 0x5a;
	}
	assert_true(accepted <= 6); /* 4 padding bytes, at most 2 deflate tail bytes */
	free(want);
	free(bytes);
	report_free(&live);
}

static void test_not_a_recording(void **state)
{
	struct report r = {0};
	char err[256];

	char path[] = "/tmp/ipcprof-test-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a recording at all, but long enough\n", 40), 40);
	close(fd);
	assert_int_equal(record_read(path, &r, err, sizeof(err)), -EINVAL);
	unlink(path);
	assert_non_null(strstr(err, "not an ipcprof recording"));
	assert_int_equal(record_read("/nonexistent.ipcp", &r, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_prints_the_same),
	    cmocka_unit_test(test_every_truncation_is_rejected),
	    cmocka_unit_test(test_every_flipped_byte_is_caught),
	    cmocka_unit_test(test_not_a_recording),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
