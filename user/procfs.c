// SPDX-License-Identifier: MIT
#include "procfs.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pid_list_add(struct pid_list *l, pid_t pid)
{
	pid_t *p = grow_array(l->pids, l->n, sizeof(*p));

	if (!p)
		return -ENOMEM;
	l->pids = p;
	l->pids[l->n++] = pid;
	return 0;
}

bool pid_list_has(const struct pid_list *l, pid_t pid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->pids[i] == pid)
			return true;
	return false;
}

void pid_list_free(struct pid_list *l)
{
	free(l->pids);
	l->pids = NULL;
	l->n = 0;
}

int proc_parse_stat_ppid(const char *stat, pid_t *ppid)
{
	const char *p = strrchr(stat, ')');
	char state;
	int pp;

	if (!p || sscanf(p + 1, " %c %d", &state, &pp) != 2)
		return -EINVAL;
	*ppid = pp;
	return 0;
}

static int read_line(const char *path, char *buf, size_t len);

int proc_ppid(const char *root, pid_t pid, pid_t *ppid)
{
	char path[PATH_MAX], line[1024];
	int err;

	snprintf(path, sizeof(path), "%s/%d/stat", root, pid);
	err = read_line(path, line, sizeof(line));
	return err ? err : proc_parse_stat_ppid(line, ppid);
}

bool proc_exists(const char *root, pid_t pid)
{
	char path[PATH_MAX];

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "%s/%d/stat", root, pid);
	return access(path, F_OK) == 0;
}

bool proc_alive(const char *root, pid_t pid)
{
	char path[PATH_MAX], line[1024], state = 0;
	const char *p;

	snprintf(path, sizeof(path), "%s/%d/stat", root, pid);
	if (pid <= 0 || read_line(path, line, sizeof(line)))
		return false;
	p = strrchr(line, ')');
	if (!p || sscanf(p + 1, " %c", &state) != 1)
		return false;
	return state != 'Z' && state != 'X' && state != 'x';
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		err = -EIO;
	fclose(f);
	return err;
}

int proc_comm(const char *root, pid_t pid, char *buf, size_t len)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
	err = read_line(path, buf, len);
	if (!err)
		buf[strcspn(buf, "\n")] = '\0';
	return err;
}

int proc_exe(const char *root, pid_t pid, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/exe", root, pid);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int proc_tasks(const char *root, pid_t pid, struct pid_list *out)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%d/task", root, pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && !err)
		if (all_digits(de->d_name))
			err = pid_list_add(out, atoi(de->d_name));
	closedir(d);
	return err;
}

int proc_descendants(const char *root, pid_t pid, struct pid_list *out)
{
	struct pid_list all = {0}, parents = {0};
	char path[PATH_MAX], line[1024];
	struct dirent *de;
	bool grew = true;
	DIR *d = opendir(root);
	int err = 0;

	if (!d)
		return -errno;
	/* One pass over /proc, then close the tree over the parent links. */
	while ((de = readdir(d)) && !err) {
		pid_t ppid;

		if (!all_digits(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/stat", root, de->d_name);
		if (read_line(path, line, sizeof(line)) || proc_parse_stat_ppid(line, &ppid))
			continue; /* exited meanwhile */
		err = pid_list_add(&all, atoi(de->d_name));
		if (!err)
			err = pid_list_add(&parents, ppid);
	}
	closedir(d);
	while (grew && !err) {
		grew = false;
		for (size_t i = 0; i < all.n && !err; i++) {
			pid_t p = parents.pids[i];

			if ((p == pid || pid_list_has(out, p)) && !pid_list_has(out, all.pids[i]) &&
			    all.pids[i] != pid) {
				err = pid_list_add(out, all.pids[i]);
				grew = true;
			}
		}
	}
	pid_list_free(&all);
	pid_list_free(&parents);
	return err;
}

void free_strv(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The process's /proc/PID/maps, for the two readers below. */
static FILE *open_maps(const char *root, pid_t pid, char *path, size_t len)
{
	snprintf(path, len, "%s/%d/maps", root, pid);
	return fopen(path, "r");
}

int proc_exec_mappings(const char *root, pid_t pid, char ***paths)
{
	char path[PATH_MAX], line[PATH_MAX + 256];
	char **v = NULL;
	int n = 0, err = 0;
	FILE *f;

	f = open_maps(root, pid, path, sizeof(path));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char perms[8] = "", file[PATH_MAX] = "";
		bool dup = false;
		char **tmp;

		/* start-end perms offset dev inode path */
		if (sscanf(line, "%*s %7s %*s %*s %*s %4095[^\n]", perms, file) != 2)
			continue;
		if (perms[2] != 'x' || file[0] != '/')
			continue;
		for (int i = 0; i < n; i++)
			dup = dup || !strcmp(v[i], file);
		if (dup)
			continue;
		tmp = grow_array(v, (size_t)n, sizeof(*v));
		if (!tmp || !(tmp[n] = strdup(file))) {
			v = tmp ? tmp : v;
			err = -ENOMEM;
			break;
		}
		v = tmp;
		n++;
	}
	fclose(f);
	if (err) {
		free_strv(v, n);
		return err;
	}
	*paths = v;
	return n;
}

int proc_exec_span(const char *root, pid_t pid, const char *file, uint64_t *start, uint64_t *end)
{
	char path[PATH_MAX], line[PATH_MAX + 256];
	bool found = false;
	FILE *f;

	f = open_maps(root, pid, path, sizeof(path));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char perms[8] = "", name[PATH_MAX] = "";
		unsigned long long lo, hi;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %4095[^\n]", &lo, &hi, perms, name) !=
		    4)
			continue;
		if (perms[2] != 'x' || strcmp(name, file))
			continue;
		if (!found || lo < *start)
			*start = lo;
		if (!found || hi > *end)
			*end = hi;
		found = true;
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

/* One file-backed line of root/PID/maps. */
struct map_line {
	unsigned long long lo, hi, pgoff;
	char name[PATH_MAX];
};

/* The first file-backed mapping `match` accepts, into *out: 0, -ENOENT
 * when none does, -errno when the maps cannot be read. */
static int maps_find(const char *root, pid_t pid, bool (*match)(const struct map_line *, void *),
		     void *ctx, struct map_line *out)
{
	char path[PATH_MAX], line[PATH_MAX + 256];
	int err = -ENOENT;
	FILE *f;

	f = open_maps(root, pid, path, sizeof(path));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		out->name[0] = '\0';
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %4095[^\n]", &out->lo, &out->hi,
			   &out->pgoff, out->name) == 4 &&
		    match(out, ctx)) {
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

struct file_offset {
	const char *file;
	uint64_t offset;
};

static bool maps_file_offset(const struct map_line *m, void *ctx)
{
	const struct file_offset *want = ctx;

	return !strcmp(m->name, want->file) && want->offset >= m->pgoff &&
	       want->offset - m->pgoff < m->hi - m->lo;
}

int proc_file_addr(const char *root, pid_t pid, const char *file, uint64_t offset, uint64_t *addr)
{
	struct file_offset want = {.file = file, .offset = offset};
	struct map_line m;
	int err = maps_find(root, pid, maps_file_offset, &want, &m);

	if (!err)
		*addr = m.lo + (offset - m.pgoff);
	return err;
}

static bool maps_holds_addr(const struct map_line *m, void *ctx)
{
	uint64_t addr = *(const uint64_t *)ctx;

	return addr >= m->lo && addr < m->hi;
}

int proc_addr_offset(const char *root, pid_t pid, uint64_t addr, uint64_t *offset)
{
	struct map_line m;
	int err = maps_find(root, pid, maps_holds_addr, &addr, &m);

	if (!err)
		*offset = addr - m.lo + m.pgoff;
	return err;
}

/* include/linux/proc_ns.h: the initial namespaces have fixed inode numbers */
#define PROC_PID_INIT_INO 0xEFFFFFFCU

/*
 * Whether we run in a PID namespace below the initial one. NSpid lists one
 * PID per level only down from the namespace /proc was mounted for, so a
 * container that mounted its own /proc shows one level; the namespace's
 * inode number tells in every case (NS_GET_PARENT does not: it answers
 * EPERM for a parent outside our own namespace).
 */
int proc_pidns_nested(const char *root)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/self/ns/pid", root);
	if (stat(path, &st))
		return -errno;
	return st.st_ino != PROC_PID_INIT_INO;
}
