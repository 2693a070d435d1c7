/* SPDX-License-Identifier: MIT */
/*
 * /proc readers. Every function takes the proc root ("/proc" in real use)
 * so the unit tests can point them at a fake tree.
 */
#ifndef IPCPROF_PROCFS_H
#define IPCPROF_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pid_list {
	pid_t *pids;
	size_t n;
};

int pid_list_add(struct pid_list *l, pid_t pid);
bool pid_list_has(const struct pid_list *l, pid_t pid);
void pid_list_free(struct pid_list *l);

/* Parent PID out of a /proc/PID/stat line (comm may hold spaces and ')'). */
int proc_parse_stat_ppid(const char *stat, pid_t *ppid);
/* 1 when this process runs in a child PID namespace, 0 if not, -errno */
int proc_pidns_nested(const char *root);
/* The parent of pid, from root/pid/stat: 0 or -errno. */
int proc_ppid(const char *root, pid_t pid, pid_t *ppid);

bool proc_exists(const char *root, pid_t pid);
/* Running or sleeping: exists and is neither a zombie nor dead. */
bool proc_alive(const char *root, pid_t pid);
int proc_comm(const char *root, pid_t pid, char *buf, size_t len);
int proc_exe(const char *root, pid_t pid, char *buf, size_t len);

/* Thread IDs of a process (from root/PID/task). */
int proc_tasks(const char *root, pid_t pid, struct pid_list *out);

/* All live descendants of `pid` (children, grandchildren, ...). */
int proc_descendants(const char *root, pid_t pid, struct pid_list *out);

/*
 * Distinct files mapped executable by a process (from root/PID/maps), as a
 * malloc'ed array of malloc'ed paths. Returns the count or -errno.
 */
int proc_exec_mappings(const char *root, pid_t pid, char ***paths);

/* The lowest start and highest end of `file`'s executable mappings in the
 * process. 0 when found, -ENOENT when it maps none, -errno otherwise. */
int proc_exec_span(const char *root, pid_t pid, const char *file, uint64_t *start, uint64_t *end);
/* The address at which the process maps byte `offset` of `file`.
 * 0 when mapped, -ENOENT when not (yet), -errno otherwise. */
int proc_file_addr(const char *root, pid_t pid, const char *file, uint64_t offset, uint64_t *addr);
/* The reverse: the file offset that the process maps at `addr` (file-backed
 * mappings only). 0 when mapped, -ENOENT when not, -errno otherwise. */
int proc_addr_offset(const char *root, pid_t pid, uint64_t addr, uint64_t *offset);
void free_strv(char **v, int n);

#endif
