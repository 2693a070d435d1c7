/* SPDX-License-Identifier: MIT */
/*
 * attach --metrics ADDR:PORT: GET /metrics served by libmicrohttpd from its
 * own thread. The counters belong to the tracing thread, so a scrape does
 * not read them: it wakes the tracing loop (an eventfd its poll watches),
 * which takes a snapshot and hands the text over. Every scrape thus sees
 * the counters as of that moment, and nothing is computed between scrapes.
 */
#ifndef IPCPROF_METRICS_HTTP_H
#define IPCPROF_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct metrics_server;

/* The text for a scrape: malloc'ed, *len bytes; NULL on failure. */
typedef char *(*metrics_render_fn)(void *ctx, bool openmetrics, size_t *len);

/*
 * Listen on addr: "PORT" (127.0.0.1), "HOST:PORT" or "[V6ADDR]:PORT" with a
 * numeric address or "localhost". 0, or -errno with a one-line reason.
 */
int metrics_server_start(struct metrics_server **out, const char *addr, char *err, size_t errlen);

/* http://ADDR:PORT/metrics, as bound (--metrics 0 picks a port). */
void metrics_server_url(const struct metrics_server *s, char *buf, size_t len);

/* Listening on a loopback address only (else: reachable from other hosts). */
bool metrics_server_is_loopback(const struct metrics_server *s);

/* Readable while a scrape waits for metrics_server_answer(). */
int metrics_server_wake_fd(const struct metrics_server *s);

/* On the tracing thread: if a scrape waits, render for it. */
void metrics_server_answer(struct metrics_server *s, metrics_render_fn render, void *ctx);

/* Stop listening; scrapes in flight get 503. NULL-safe. */
void metrics_server_stop(struct metrics_server *s);

/* Parse addr as metrics_server_start() does (for the command line). */
int metrics_parse_addr(const char *addr, struct sockaddr_storage *ss, char *err, size_t errlen);

#endif
