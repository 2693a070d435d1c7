/* SPDX-License-Identifier: MIT */
/* Python call sites from the BPF maps into the report (see callsites.c). */
#ifndef IPCPROF_CALLSITES_H
#define IPCPROF_CALLSITES_H

#include "report.h"

/* Read the py_stacks, sites and py_codes maps into rep->sites, merged per
 * (process, file, line, function), most IPC time first. 0 or -errno. */
int callsites_collect(int stacks_fd, int sites_fd, int codes_fd, struct report *rep);

/*
 * While tracing: the Python line behind a kernel site index, read from the
 * maps as indices first appear (cached; NULL when it cannot be named).
 */
struct site_names;
struct site_names *site_names_new(int stacks_fd, int codes_fd);
const struct call_site *site_names_get(struct site_names *n, uint32_t idx);
void site_names_free(struct site_names *n);

#endif
