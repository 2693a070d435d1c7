/* SPDX-License-Identifier: MIT */
/* While tracing: a top-like view (attach --live) or a progress line. */
#ifndef IPCPROF_LIVE_H
#define IPCPROF_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tracer.h"

struct live {
	bool view;	   /* full screen view on stdout, every second */
	bool progress;	   /* one line on stderr, every second */
	uint64_t start_ns; /* tracing began */
	uint64_t next_ns;  /* next refresh due */
	const char *target;
};

/* Refresh if a second has passed since the last one. */
void live_tick(struct live *lv, struct tracer *t);
/* Erase the progress line before the report is printed. */
void live_done(struct live *lv);

#endif
