// SPDX-License-Identifier: MIT
/*
 * Python call sites: tell the BPF side (py_procs) where each traced CPython
 * keeps its runtime. A process held at exec has not mapped its libpython
 * yet (the dynamic loader runs after the hold), so one whose executable is
 * named python* is looked at again on each poll for a few seconds.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "procfs.h"
#include "pyruntime.h"
#include "tracer_priv.h"
#include "util.h"

#define PY_PENDING_NS 5000000000ull

/* 0: found and registered; -ENOENT: not (yet) a mapped interpreter. */
static int register_python(struct tracer *t, pid_t pid)
{
	struct py_proc pp = {0};
	uint32_t hex = 0;
	__u32 key = (__u32)pid;
	int rc = py_proc_find("/proc", pid, &pp, &hex);

	if (rc == -ENOTSUP && !t->py_unsupported_warned) {
		t->py_unsupported_warned = true;
		tracer_warn(t,
			    "pid %d runs Python %u.%u: call sites are read for 3.11's layout only "
			    "(not for this version)",
			    pid, hex >> 24, (hex >> 16) & 0xff);
	}
	if (rc)
		return rc;
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.py_procs), &key, &pp, BPF_ANY))
		return -errno;
	return 0;
}

void tracer_find_python(struct tracer *t, pid_t pid)
{
	char exe[4096];
	struct py_pending *tmp;

	if (!t->opts.call_sites || register_python(t, pid) != -ENOENT ||
	    proc_exe("/proc", pid, exe, sizeof(exe)))
		return;
	if (strncmp(path_base(exe), "python", 6))
		return;
	for (int i = 0; i < t->n_py_pending; i++)
		if (t->py_pending[i].pid == pid)
			return;
	tmp = grow_array(t->py_pending, (size_t)t->n_py_pending, sizeof(*tmp));
	if (!tmp)
		return;
	t->py_pending = tmp;
	tmp[t->n_py_pending++] = (struct py_pending){pid, now_ns() + PY_PENDING_NS};
}

void tracer_retry_python(struct tracer *t, uint64_t now)
{
	int kept = 0;

	for (int i = 0; i < t->n_py_pending; i++) {
		struct py_pending *p = &t->py_pending[i];

		if (register_python(t, p->pid) == -ENOENT && now < p->deadline)
			t->py_pending[kept++] = *p;
	}
	t->n_py_pending = kept;
}
