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
 * reads (gzip's mtime, extra flags and OS bytes; deflate's final padding
 * bits), prints exactly as the intact one: never a silently wrong number. */
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
	assert_true(accepted <= 8); /* 6 gzip header bytes, at most 2 deflate tail bytes */
	free(want);
	free(bytes);
	report_free(&live);
}

/* Every member of the rows survives: filled with a pattern, compared byte
 * by byte; only struct padding may differ (a member missing from the field
 * tables would differ by its whole size). */
static void test_every_field_survives(void **state)
{
	struct report rep = {0}, back = {0};
	struct proc_row row;
	struct chan_key k = {.ino = 5, .tgid = 0x5a5a5a5a, .dir = DIR_WRITE, .kind = IPC_FIFO};
	struct chan_stats cs;
	const unsigned char *a, *b;
	char err[256];
	int differ = 0;
	FILE *f;

	(void)state;
	memset(&row, 0x5a, sizeof(row));
	strcpy(row.comm, "fifteen chars..");
	row.exited = row.copy_timed = row.faults_timed = row.ser_partial = true;
	memset(&cs, 0x5a, sizeof(cs));
	rep.target = "t";
	report_add_proc(&rep, &row);
	report_add_chan(&rep, &k, &cs);
	report_finish(&rep);
	f = fopen(scratch, "wb");
	assert_int_equal(record_write(&rep, f, scratch, err, sizeof(err)), 0);
	fclose(f);
	assert_int_equal(record_read(scratch, &back, err, sizeof(err)), 0);
	a = (const void *)&rep.procs[0];
	b = (const void *)&back.procs[0];
	for (size_t i = 0; i < sizeof(struct proc_row); i++)
		differ += a[i] != b[i];
	assert_true(differ == 0); /* four bools fill the gap before exit_code */
	a = (const void *)&rep.chans[0].ends[0];
	b = (const void *)&back.chans[0].ends[0];
	differ = 0;
	for (size_t i = 0; i < sizeof(struct chan_end); i++)
		differ += a[i] != b[i];
	assert_true(differ <= 3 + 4); /* the padding after `dir`, struct inet_ends' pad */
	assert_int_equal(back.chans[0].kind, IPC_FIFO);
	report_free(&rep);
	report_free(&back);
}

#define HEADER	      "{\"recording\":{\"format\":\"ipcprof-recording\",\"version\":3}}\n"
#define DONE(p, c, e) "{\"done\":{\"procs\":" #p ",\"channels\":" #c ",\"ends\":" #e "}}\n"

static int decode(const char *text, struct report *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	return record_decode(text, strlen(text), "x.ipcp", r, err, errlen);
}

/* Newer writers may add fields and records: older readers skip them. */
static void test_unknown_fields_and_records_are_skipped(void **state)
{
	const char *text =
	    HEADER "{\"someday\":[1,{\"a\":2}]}\n"
		   "{\"proc\":{\"pid\":7,\"new\":{\"x\":1},\"phase_ns\":"
		   "{\"serialize\":5,\"teleport\":9},\"comm\":\"w\"}}\n" DONE(1, 0, 0);
	struct report r;
	char err[256];

	(void)state;
	assert_int_equal(decode(text, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n_procs, 1);
	assert_int_equal(r.procs[0].pid, 7);
	assert_int_equal(r.procs[0].phase_ns[PH_SERIALIZE], 5);
	assert_string_equal(r.procs[0].comm, "w");
	report_free(&r);
}

static void test_other_versions_are_refused_clearly(void **state)
{
	struct report r;
	char err[256];
	FILE *f;

	(void)state;
	assert_int_equal(decode("{\"recording\":{\"format\":\"ipcprof-recording\",\"version\":4}}"
				"\n" DONE(0, 0, 0),
				&r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "newer"));
	report_free(&r);
	/* format 2 files began with a binary header */
	f = fopen(scratch, "wb");
	fwrite("IPCPROF\n\x02\0\0\0\x30\0\0\0", 1, 16, f);
	fclose(f);
	memset(&r, 0, sizeof(r));
	assert_int_equal(record_read(scratch, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "format 2"));
	report_free(&r);
}

/* Crafted lines: each one is refused with a one-line reason naming the
 * file; none reads out of bounds (the suite also runs under ASan). */
static void test_crafted_files_are_refused(void **state)
{
	static const char *const bad[] = {
	    HEADER "{\"proc\":{\"comm\":\"sixteen chars...\"}}\n" DONE(1, 0, 0),
	    HEADER "{\"proc\":{\"comm\":\"a\\u0000b\"}}\n" DONE(1, 0, 0),
	    HEADER "{\"note\":\"a\\u0000b\"}\n" DONE(0, 0, 0),
	    HEADER "{\"proc\":{\"exited\":2}}\n" DONE(1, 0, 0),
	    HEADER "{\"proc\":{\"pid\":-1}}\n" DONE(1, 0, 0),
	    HEADER "{\"proc\":{\"pid\":4294967296}}\n" DONE(1, 0, 0),
	    HEADER "{\"proc\":{\"pid\":1.5}}\n" DONE(1, 0, 0),
	    HEADER "{\"proc\":{\"phase_ns\":[1,2]}}\n" DONE(1, 0, 0),
	    HEADER "{\"channel\":{\"kind\":9}}\n" DONE(0, 1, 0),
	    HEADER "{\"channel\":{}}\n{\"end\":{\"dir\":2}}\n" DONE(0, 1, 1),
	    HEADER
	    "{\"channel\":{}}\n{\"end\":{\"size_hist\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
	    "0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}\n" DONE(0, 1, 1),
	    HEADER "{\"end\":{}}\n" DONE(0, 0, 1),
	    HEADER "{\"recording\":{\"memcpy_bps\":NaN}}\n" DONE(0, 0, 0),
	    "{\"recording\":{\"format\":\"ipcprof-recording\",\"version\":3,\"memcpy_bps\":NaN}}"
	    "\n" DONE(0, 0, 0),
	    HEADER DONE(2, 0, 0),
	    HEADER DONE(0, 0, 0) "{\"proc\":{}}\n",
	    HEADER HEADER DONE(0, 0, 0),
	    HEADER "{\"proc\":{}}\n",
	    HEADER DONE(0, 0, 0) "{",
	    HEADER "{\"proc\":{\"a\":[[[[[[[[[[1]]]]]]]]]]}}\n" DONE(1, 0, 0),
	    HEADER "{\"proc\":{},\"note\":\"two keys\"}\n" DONE(1, 0, 0),
	    HEADER "{\"proc\":{}} trailing\n" DONE(1, 0, 0),
	    "{\"recording\":{\"format\":\"something else\",\"version\":3}}\n" DONE(0, 0, 0),
	    "",
	    "\n",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct report r;

		if (decode(bad[i], &r, err, sizeof(err)) != -EINVAL)
			fail_msg("crafted file %zu accepted", i);
		assert_non_null(strstr(err, "x.ipcp"));
		assert_null(strchr(err, '\n'));
		report_free(&r);
	}
}

/* What a file claims never sizes an allocation: counts are capped and a
 * line over the cap is refused without being parsed. */
static void test_caps(void **state)
{
	size_t n = 32769, len = strlen(HEADER) + n * 12 + 1;
	char *text = malloc(len), *p = text, err[256];
	struct report r;

	(void)state;
	p += sprintf(p, HEADER);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "{\"proc\":{}}\n");
	assert_int_equal(decode(text, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 32768 processes"));
	report_free(&r);
	text = realloc(text, 70000 + 256);
	p = text + sprintf(text, HEADER "{\"note\":\"");
	memset(p, 'a', 70000);
	strcpy(p + 70000, "\"}\n");
	assert_int_equal(decode(text, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than"));
	report_free(&r);
	free(text);
}

/* Names come from the traced programs: no writer passes them on raw. */
static void test_writers_escape_names(void **state)
{
	struct report rep = {0};
	struct proc_row row = {.pid = 9};
	char *text, *svg, *csv;

	(void)state;
	strcpy(row.comm, "\x1b]0;x\a<b>\r\n,\"");
	rep.target = "<script>alert(1)</script>\x1b[2J";
	report_add_proc(&rep, &row);
	report_add_note(&rep, "bell\a");
	report_finish(&rep);
	text = render(&rep, report_write_text);
	assert_null(strchr(text, '\x1b'));
	assert_null(strchr(text, '\a'));
	assert_non_null(strstr(text, "\\x1b]0;x\\x07<b>\\x0d\\x0a"));
	svg = render(&rep, report_write_svg);
	assert_null(strstr(svg, "<script"));
	assert_null(strstr(svg, "<b>"));
	assert_null(strchr(svg, '\x1b'));
	csv = render(&rep, report_write_csv);
	assert_non_null(strstr(csv, ",\"\x1b]0;x\a<b>\r\n,\"\"\","));
	free(text);
	free(svg);
	free(csv);
	report_free(&rep);
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
	    cmocka_unit_test(test_every_field_survives),
	    cmocka_unit_test(test_unknown_fields_and_records_are_skipped),
	    cmocka_unit_test(test_other_versions_are_refused_clearly),
	    cmocka_unit_test(test_crafted_files_are_refused),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_writers_escape_names),
	    cmocka_unit_test(test_not_a_recording),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
