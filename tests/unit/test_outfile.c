// SPDX-License-Identifier: MIT
/*
 * Output files written by root: a new version appears whole at its path or
 * not at all, a symlink at the path is replaced rather than followed, and an
 * output that was never opened owns no descriptor (its zeroed dirfd is
 * stdin's number: closing it once closed ipcprof's stdin).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "outfile.h"

static char dir[] = "/tmp/ipcprof-outfile-XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A report with `text`, opened and committed as ipcprof does; both succeed. */
static void write_report(const char *path, const char *text)
{
	char err[256];
	struct outfile o;

	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	fputs(text, o.f);
	assert_int_equal(outfile_commit(&o, err, sizeof(err)), 0);
}

static void test_zeroed_abort_keeps_stdin(void **state)
{
	struct outfile never;
	memset(&never, 0, sizeof(never));
	int null = open("/dev/null", O_RDONLY), probe;

	(void)state;
	/* a known descriptor 0, whatever the runner gave us */
	assert_true(null >= 0);
	assert_int_equal(dup2(null, 0), 0);
	if (null != 0)
		close(null);
	outfile_abort(&never);
	outfile_abort(&never);
	/* stdin still there: dup of it still works */
	probe = dup(0);
	assert_true(probe >= 0);
	close(probe);
}

static void test_commit_and_abort(void **state)
{
	char path[128], err[256];
	struct outfile o;

	(void)state;
	snprintf(path, sizeof(path), "%s/report.txt", dir);
	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	fputs("first\n", o.f);
	/* nothing at the path before commit */
	assert_null(slurp(path));
	assert_int_equal(outfile_commit(&o, err, sizeof(err)), 0);
	assert_string_equal(slurp(path), "first\n");

	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	fputs("second, abandoned\n", o.f);
	outfile_abort(&o);
	outfile_abort(&o); /* twice: still harmless */
	assert_string_equal(slurp(path), "first\n");
}

static void test_symlink_replaced_not_followed(void **state)
{
	char path[128], victim[128];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/link.txt", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	write_file(victim, "untouched\n", 0644);
	assert_int_equal(symlink(victim, path), 0);
	write_report(path, "report\n");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(slurp(path), "report\n");
	assert_string_equal(slurp(victim), "untouched\n");
}

/* Root never writes a report into a disk or a socket, whatever the path. */
static void test_block_device_refused(void **state)
{
	char path[128], err[256];
	struct outfile o;

	(void)state;
	snprintf(path, sizeof(path), "%s/disk", dir);
	/* a major no driver has: were it opened, nothing would happen */
	assert_int_equal(mknod(path, S_IFBLK | 0600, makedev(4000, 0)), 0);
	assert_true(outfile_open(&o, path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "not a regular file, character device or FIFO"));
}

/* A link to a device is followed when root made it (/dev/stdout is one),
 * not when another user planted it. */
static void test_foreign_link_to_device_refused(void **state)
{
	char path[128], err[256];
	struct outfile o;

	(void)state;
	snprintf(path, sizeof(path), "%s/null-by-root", dir);
	assert_int_equal(symlink("/dev/null", path), 0);
	assert_int_equal(outfile_open(&o, path, err, sizeof(err)), 0);
	assert_false(o.replace); /* written in place */
	fputs("discarded\n", o.f);
	assert_int_equal(outfile_commit(&o, err, sizeof(err)), 0);

	snprintf(path, sizeof(path), "%s/null-by-other", dir);
	assert_int_equal(symlink("/dev/null", path), 0);
	assert_int_equal(lchown(path, 65534, 65534), 0);
	assert_true(outfile_open(&o, path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "owned by another user"));
}

/* Temporary names cannot be taken ahead: names of the old, predictable
 * scheme planted in the directory neither block the commit nor get used. */
static void test_planted_names_ignored(void **state)
{
	char path[128], name[160];

	(void)state;
	snprintf(path, sizeof(path), "%s/target", dir);
	write_file(path, "old\n", 0644);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "%s/.ipcprof-%d-%d.tmp", dir, getpid(), i);
		write_file(name, "planted\n", 0644);
	}
	write_report(path, "report\n");
	assert_string_equal(slurp(path), "report\n");
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "%s/.ipcprof-%d-%d.tmp", dir, getpid(), i);
		assert_string_equal(slurp(name), "planted\n");
		unlink(name);
	}
}

/* /dev/fd/N and /proc/self/fd/N write into what the descriptor holds (here
 * a regular file, as `-o /dev/stdout > out.txt` would), never replace the
 * link: once the report was renamed over /dev/stdout for the whole system. */
static void test_own_descriptor_written_in_place(void **state)
{
	static const char *const forms[] = {"/dev/fd/%d", "/proc/self/fd/%d"};
	char path[128], named[64], err[256];
	struct outfile o;
	struct stat st;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/shell-redirect-%zu", dir, i);
		fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		assert_true(fd >= 0);
		snprintf(named, sizeof(named), forms[i], fd);
		assert_int_equal(outfile_open(&o, named, err, sizeof(err)), 0);
		assert_false(o.replace);
		fputs("report\n", o.f);
		assert_int_equal(outfile_commit(&o, err, sizeof(err)), 0);
		close(fd);
		assert_string_equal(slurp(path), "report\n");
	}
	assert_int_equal(lstat("/dev/fd", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* a descriptor not open: an error, nothing made */
	assert_true(outfile_open(&o, "/dev/fd/999", err, sizeof(err)) < 0);
}

/* No file is ever made in /dev, /proc or /sys; no nonsense names. */
static void test_system_dirs_and_bad_names_refused(void **state)
{
	static const char *const refused[] = {"/dev/ipcprof-unit-test", "/proc/self/ipcprof", ""};
	char path[160], err[256];
	struct outfile o;
	struct stat st;

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_true(outfile_open(&o, refused[i], err, sizeof(err)) < 0);
		assert_int_not_equal(lstat("/dev/ipcprof-unit-test", &st), 0);
	}
	snprintf(path, sizeof(path), "%s/newdir/", dir);
	assert_true(outfile_open(&o, path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "not a file name"));
}

/* A FIFO is written in place when root or the invoker made it, not when
 * another user planted it where the report was to go. */
static void test_foreign_fifo_refused(void **state)
{
	char path[128], err[256];
	struct outfile o;
	int reader;

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0666), 0);
	reader = open(path, O_RDONLY | O_NONBLOCK); /* so that opening to write does not wait */
	assert_true(reader >= 0);
	write_report(path, "through\n");
	{
		char buf[16] = "";

		assert_int_equal(read(reader, buf, sizeof(buf)), 8);
		assert_memory_equal(buf, "through\n", 8);
	}
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_true(outfile_open(&o, path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "FIFO owned by another user"));
	close(reader);
}

/* Under sudo, a new report belongs to the caller only in a directory they
 * could have written themselves; a rewritten file keeps owner and mode. */
static void test_sudo_owner_and_mode(void **state)
{
	char sub[128], path[160], id[32];
	struct passwd *pw = getpwnam("nobody");
	struct stat st;

	(void)state;
	if (!pw || pw->pw_uid == 0)
		skip();
	setenv("SUDO_USER", pw->pw_name, 1);
	snprintf(id, sizeof(id), "%u", (unsigned)pw->pw_uid);
	setenv("SUDO_UID", id, 1);
	snprintf(id, sizeof(id), "%u", (unsigned)pw->pw_gid);
	setenv("SUDO_GID", id, 1);

	/* root's 0700 directory: the report stays root's */
	snprintf(path, sizeof(path), "%s/roots", dir);
	write_report(path, "");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);

	/* the caller's directory: theirs */
	snprintf(sub, sizeof(sub), "%s/callers", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(chown(sub, pw->pw_uid, pw->pw_gid), 0);
	snprintf(path, sizeof(path), "%s/report", sub);
	write_report(path, "");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);

	/* a group- and world-writable directory without the sticky bit that
	 * the caller does not own: root's (the caller may not be in it) */
	snprintf(sub, sizeof(sub), "%s/shared", dir);
	assert_int_equal(mkdir(sub, 0777), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	snprintf(path, sizeof(path), "%s/report", sub);
	write_report(path, "");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	/* sticky and world-writable (/tmp): the caller could have, so theirs */
	assert_int_equal(chmod(sub, 01777), 0);
	snprintf(path, sizeof(path), "%s/report2", sub);
	write_report(path, "");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);

	/* an existing 0600 root file: still root's, still 0600 */
	snprintf(sub, sizeof(sub), "%s/callers", dir);
	snprintf(path, sizeof(path), "%s/secret", sub);
	write_file(path, "old\n", 0600);
	write_report(path, "new\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_string_equal(slurp(path), "new\n");

	unsetenv("SUDO_USER");
	unsetenv("SUDO_UID");
	unsetenv("SUDO_GID");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zeroed_abort_keeps_stdin),
	    cmocka_unit_test(test_commit_and_abort),
	    cmocka_unit_test(test_symlink_replaced_not_followed),
	    cmocka_unit_test(test_block_device_refused),
	    cmocka_unit_test(test_foreign_link_to_device_refused),
	    cmocka_unit_test(test_planted_names_ignored),
	    cmocka_unit_test(test_own_descriptor_written_in_place),
	    cmocka_unit_test(test_system_dirs_and_bad_names_refused),
	    cmocka_unit_test(test_foreign_fifo_refused),
	    cmocka_unit_test(test_sudo_owner_and_mode),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
