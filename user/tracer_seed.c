// SPDX-License-Identifier: MIT
/*
 * attach: run the seed_threads task iterator (bpf/seed.bpf.h) once the
 * targets are registered, so that threads already asleep count from the
 * start of tracing as wait or blocked time instead of "other".
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tracer_priv.h"

int tracer_seed_threads(struct tracer *t)
{
	struct bpf_program *prog = t->skel->progs.seed_threads;
	struct bpf_link *link;
	char buf[64];
	ssize_t n;
	int fd, rc = 0;

	if (!bpf_program__autoload(prog))
		return -EOPNOTSUPP;
	link = bpf_program__attach_iter(prog, NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		rc = -errno;
		goto cleanup;
	}
	/* the program runs for each task while the iterator is read; it
	 * prints nothing */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		rc = -errno;
	close(fd);
cleanup:
	bpf_link__destroy(link);
	if (rc)
		tracer_warn(t,
			    "threads asleep when tracing started could not be seeded (%s): "
			    "their time until they next run is counted as other",
			    strerror(-rc));
	return rc;
}
