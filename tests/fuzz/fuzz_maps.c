// SPDX-License-Identifier: MIT
/* libFuzzer: the /proc/PID/maps parser, on a maps file under a fake root. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procfs.h"

static char root[] = "/tmp/ipcprof-fuzz-maps-XXXXXX", dir[PATH_MAX], maps[PATH_MAX];

static void remove_root(void)
{
	unlink(maps);
	rmdir(dir);
	rmdir(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char **paths = NULL;
	uint64_t start, end;
	FILE *f;
	int n;

	if (!ready) {
		if (!mkdtemp(root))
			abort();
		snprintf(dir, sizeof(dir), "%s/1", root);
		snprintf(maps, sizeof(maps), "%s/maps", dir);
		if (mkdir(dir, 0700))
			abort();
		atexit(remove_root);
		ready = true;
	}
	f = fopen(maps, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	n = proc_exec_mappings(root, 1, &paths);
	if (n > 0)
		proc_exec_span(root, 1, paths[0], &start, &end);
	if (n >= 0)
		free_strv(paths, n);
	return 0;
}
