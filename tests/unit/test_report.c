// SPDX-License-Identifier: MIT
/* The three report writers, read back and checked field by field. */
#include <json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

static struct report rep;
static const struct measure m = {.sample_hz = 4999};

static int setup(void **state)
{
	struct proc_stats parent = {0}, child = {0};
	struct chan_key wk = {.ino = 8448, .tgid = 100, .dir = DIR_WRITE, .kind = IPC_PIPE};
	struct chan_key rk = {.ino = 8448, .tgid = 101, .dir = DIR_READ, .kind = IPC_PIPE};
	/* the pickle crosses the pipe in 112 ms: 43.5 MB/s */
	struct chan_stats ws = {
	    .calls = 2, .bytes = 4871356, .first_ns = 1000000, .last_ns = 100000000};
	struct chan_stats rs = {
	    .calls = 76, .bytes = 4871356, .first_ns = 2000000, .last_ns = 113000000};
	struct proc_row row;

	(void)state;
	memset(&rep, 0, sizeof(rep));
	rep.target = "python3 seed, \"quoted\"";
	rep.start_ns = 0;
	rep.end_ns = 200000000;
	rep.sample_hz = 4999;
	rep.exit_status = 0;
	rep.memcpy_bps = 9e9;
	rep.pipe_bps = 3.1e9;
	for (int p = 0; p < PH_COUNT; p++)
		rep.methods[p] = "tracepoint";
	rep.methods[PH_SERIALIZE] = rep.methods[PH_DESERIALIZE] = "uprobe";
	rep.methods[PH_COPY] = rep.methods[PH_FAULT] = rep.methods[PH_COMPUTE] = "sampled";
	rep.methods[PH_OTHER] = "derived";

	parent.exit_ns = 200000000;
	parent.thread_ns = 200000000;
	parent.ppid = 1;
	strcpy(parent.comm, "py,thon");
	parent.serialize_ns = 30000000;
	parent.serialize_calls = 1;
	parent.ipc_oncpu_ns = 1000000;
	parent.ipc_oncpu_fam_ns[FAM_PIPE] = parent.ipc_oncpu_ns;
	parent.ipc_blocked_ns = 50000000;
	parent.bytes_written = 4871356;
	proc_row_from_stats(&row, 100, &parent, NULL, 0, &m);
	report_add_proc(&rep, &row);

	child.start_ns = 100000000;
	child.exit_ns = 170000000;
	child.thread_ns = 70000000;
	child.ppid = 100;
	strcpy(child.comm, "python3");
	child.deserialize_ns = 24000000;
	child.deserialize_calls = 1;
	child.bytes_read = 4871356;
	proc_row_from_stats(&row, 101, &child, NULL, 0, &m);
	report_add_proc(&rep, &row);

	report_add_chan(&rep, &wk, &ws);
	report_add_chan(&rep, &rk, &rs);
	report_add_probe(&rep, "/x/_pickle.so:dump (serialize)");
	report_add_note(&rep, "note %d", 1);
	report_finish(&rep);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	report_free(&rep);
	return 0;
}

static char *render(int (*writer)(const struct report *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(writer(&rep, f), 0);
	fclose(f);
	return buf;
}

static uint64_t get_u64(json_object *o, const char *k)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_get_uint64(v);
}

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, k, &v));
	return v;
}

static void test_json_schema_and_values(void **state)
{
	char *text = render(report_write_json);
	json_object *root = json_tokener_parse(text), *procs, *chan, *totals;
	uint64_t sum = 0;

	(void)state;
	assert_non_null(root);
	assert_string_equal(json_object_get_string(get(root, "tool")), "ipcprof");
	assert_string_equal(json_object_get_string(get(root, "target")), rep.target);
	assert_int_equal(get_u64(root, "duration_ns"), 200000000);
	assert_string_equal(json_object_get_string(get(get(root, "methods"), "copy")), "sampled");
	assert_string_equal(json_object_get_string(get(get(root, "methods"), "serialize")),
			    "uprobe");
	assert_int_equal(get_u64(root, "lost_events"), 0);
	totals = get(root, "totals");
	assert_int_equal(get_u64(totals, "serialize_ns"), 30000000);
	assert_int_equal(get_u64(totals, "deserialize_ns"), 24000000);
	assert_int_equal(get_u64(totals, "bytes_written"), 4871356);
	for (int p = 0; p < PH_COUNT; p++)
		sum += get_u64(totals, phase_fields[p]);
	assert_int_equal(sum, get_u64(totals, "thread_ns"));

	procs = get(root, "processes");
	assert_int_equal(json_object_array_length(procs), 2);
	assert_int_equal(get_u64(json_object_array_get_idx(procs, 1), "wall_ns"), 70000000);
	assert_int_equal(get_u64(json_object_array_get_idx(procs, 1), "ppid"), 100);

	chan = json_object_array_get_idx(get(root, "channels"), 0);
	assert_string_equal(json_object_get_string(get(chan, "name")), "pipe:[8448]");
	assert_int_equal(get_u64(chan, "bytes_read"), 4871356);
	assert_int_equal(get_u64(chan, "read_calls"), 76);
	assert_int_equal(get_u64(chan, "span_ns"), 112000000);
	assert_int_equal(get_u64(chan, "bytes_per_s"), 43494250);
	assert_int_equal(get_u64(root, "pipe_bytes_per_s"), 3100000000);
	assert_int_equal(json_object_get_uint64(json_object_array_get_idx(get(chan, "writers"), 0)),
			 100);
	assert_int_equal(json_object_get_uint64(json_object_array_get_idx(get(chan, "readers"), 0)),
			 101);
	json_object_put(root);
	free(text);
}

static void test_text_is_readable(void **state)
{
	char *text = render(report_write_text);

	(void)state;
	if (getenv("SHOW"))
		fputs(text, stderr);
	assert_non_null(strstr(text, "traced 2 processes for 200.0 ms"));
	/* the serializer's time stands as its probes measured it ... */
	assert_non_null(strstr(text, "\nserializer                      30.0 ms   11.1%  -      "
				     "                uprobe, 1 calls\n"));
	/* ... and with no sample inside it, its faults could be any of it */
	assert_non_null(strstr(text, "\n  of which page faults            ~0 ns    0.0%  0 ns .. "
				     "30.0 ms        sampled, 0 of 0 samples @ 4999 Hz; 0 CoW + 0 "
				     "first-touch (exact)\n"));
	/* nothing measured as 0 because a share took it: IPC on CPU is exact */
	assert_non_null(strstr(text, "\nIPC calls on CPU                 1.0 ms    0.4%  -      "
				     "                tracepoint, 0 IPC calls\n"));
	assert_non_null(strstr(text, "copy routines"));
	assert_non_null(strstr(text, "pipe:[8448]"));
	assert_non_null(strstr(text, "100 (py,thon) -> 101 (python3): 4.87 MB in 2 writes, "
				     "4.87 MB in 76 reads"));
	assert_non_null(strstr(text,
			       "4.87 MB in 112.0 ms = 43.49 MB/s (single pipe here: 3.10 GB/s, "
			       "memcpy: 9.00 GB/s)"));
	assert_non_null(strstr(text, "note: note 1"));
	assert_non_null(strstr(text, "lost events: 0"));
	free(text);
}

static void test_csv_one_row_per_process(void **state)
{
	char *text = render(report_write_csv), *line, *save = NULL;
	int rows = 0, header_cols = 0;

	(void)state;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int cols = 1;

		for (char *c = line; *c; c++)
			cols += *c == ',' && !(rows == 1 && c > line && c[-1] == 'y');
		if (!rows)
			header_cols = cols;
		else
			assert_int_equal(cols, header_cols);
		rows++;
	}
	assert_int_equal(rows, 3);
	free(text);
	text = render(report_write_csv);
	assert_non_null(strstr(text, "pid,ppid,comm,exited,exit_code,wall_ns,thread_ns,"
				     "serialize_ns,deserialize_ns,syscall_ns,blocked_ns,copy_ns,"
				     "fault_ns,fork_ns,mmap_ns,wait_ns,compute_ns,other_ns"));
	assert_non_null(strstr(text, "\n100,1,\"py,thon\",1,0,200000000,200000000,30000000,0,"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_schema_and_values),
	    cmocka_unit_test(test_text_is_readable),
	    cmocka_unit_test(test_csv_one_row_per_process),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
