/* SPDX-License-Identifier: MIT */
/* This machine's physical limits, to put each channel's bandwidth in scale. */
#ifndef IPCPROF_BANDWIDTH_H
#define IPCPROF_BANDWIDTH_H

/* Bytes per second of memcpy between two 64 MiB buffers (best of 3). */
double measure_memcpy_bps(void);

/* Bytes per second through one pipe, 64 KiB writes, to a forked reader
 * (best of 2). 0 when it cannot be measured. */
double measure_pipe_bps(void);

#endif
