/* SPDX-License-Identifier: MIT */
/*
 * Where to put serializer uprobes: CPython's pickle accelerator, found in
 * whichever of the _pickle extension, libpython or the interpreter binary
 * holds it (by symbol, or by the module's method table when stripped), plus
 * user-given BINARY:SYMBOL=serialize|deserialize probes.
 */
#ifndef IPCPROF_SERIALIZERS_H
#define IPCPROF_SERIALIZERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "elfsym.h"

enum ser_dir {
	SER_DIR_SERIALIZE = 0,
	SER_DIR_DESERIALIZE = 1,
	/* Not a serializer: multiprocessing's SemLock.acquire, entered by
	 * every Queue.put(); lets call sites follow the object to the
	 * queue's feeder thread, which pickles and writes it. */
	SER_DIR_HANDOFF = 2,
};

struct ser_probe {
	char *path;
	char *symbol;
	uint64_t offset;
	struct file_id file; /* the file offset was read from */
	enum ser_dir dir;
	bool user;	 /* given with --uprobe */
	const char *how; /* how it was found: "symbol", "method table", "--uprobe" */
};

struct ser_plan {
	struct ser_probe *probes;
	int n;
	/* The probes the last ser_plan_for_process() found for its process
	 * (indices into probes; --uprobe ones included): uprobes are attached
	 * per process, so that nothing untraced pays for them. */
	int *sel;
	int n_sel;
	/* Python files looked at, and those where no pickle entry point was
	 * found (neither symbols nor a method table). */
	char **seen;
	int n_seen;
	char **missing;
	int n_missing;
};

/* Parse and resolve "BINARY:SYMBOL=serialize|deserialize". On error,
 * writes a one-line reason to `err` and returns -1. */
int ser_plan_add_user(struct ser_plan *plan, const char *spec, char *err, size_t errlen);

/* Add the pickle probes for what process `pid` runs or maps, and select
 * (sel) every probe that applies to it. Returns the number of probes newly
 * added to the plan (0 if nothing new), or -errno. */
int ser_plan_for_process(struct ser_plan *plan, const char *procroot, pid_t pid);

/* Same, for one file (exposed for tests). */
int ser_plan_for_file(struct ser_plan *plan, const char *path);

void ser_plan_free(struct ser_plan *plan);

#endif
