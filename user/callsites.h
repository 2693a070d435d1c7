/* SPDX-License-Identifier: MIT */
/* Python call sites from the BPF maps into the report (see callsites.c). */
#ifndef IPCPROF_CALLSITES_H
#define IPCPROF_CALLSITES_H

#include "report.h"

/* Read the py_stacks, sites and py_codes maps into rep->sites, merged per
 * (process, file, line, function), most IPC time first. 0 or -errno. */
int callsites_collect(int stacks_fd, int sites_fd, int codes_fd, struct report *rep);

#endif
