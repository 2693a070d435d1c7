/* SPDX-License-Identifier: MIT */
/* This machine's physical limits, to put each channel's bandwidth in scale. */
#ifndef IPCPROF_BANDWIDTH_H
#define IPCPROF_BANDWIDTH_H

/* Bytes per second of memcpy between two 64 MiB buffers (best of 3). */
double measure_memcpy_bps(void);

/* Bytes per second through one pipe, 64 KiB writes, to a forked reader
 * (best of 2). 0 when it cannot be measured. */
double measure_pipe_bps(void);

/*
 * Both limits, measured once per boot: the first call measures (~0.1 s of
 * both CPUs) and caches the result in `cache_dir` (root's, created 0700;
 * NULL: no cache); later calls read it. Never called while a target is
 * traced: the measurement would compete with it for the CPUs.
 */
void machine_limits(const char *cache_dir, double *memcpy_bps, double *pipe_bps);

#define IPCPROF_CACHE_DIR "/run/ipcprof"

#endif
