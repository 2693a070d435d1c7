// SPDX-License-Identifier: MIT
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define SCRAPE_WAIT_S 5 /* then 503: the tracing loop is busy or gone */

enum { FMT_PROM, FMT_OM };
static const char *const content_types[] = {
    [FMT_PROM] = "text/plain; version=0.0.4; charset=utf-8",
    [FMT_OM] = "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

struct metrics_server {
	struct MHD_Daemon *daemon;
	int listen_fd, wake_fd;
	pthread_mutex_t mu;
	pthread_cond_t answered_cv;
	uint64_t asked, answered; /* scrapes, in order */
	bool want[2];		  /* formats asked since the last answer */
	char *text[2];		  /* the last answer, per format */
	size_t len[2];
	bool stopping;
	char hostname[256]; /* this machine's, for host_ok */
};

int metrics_parse_addr(const char *addr, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	char host[64] = "127.0.0.1";
	const char *colon = strrchr(addr, ':'), *port_s = colon ? colon + 1 : addr;
	uint64_t port;

	memset(ss, 0, sizeof(*ss));
	if (colon) {
		size_t n = (size_t)(colon - addr);

		if (addr[0] == '[' && n >= 2 && addr[n - 1] == ']') { /* [v6]:port */
			addr++;
			n -= 2;
		}
		if (n == 0 || n >= sizeof(host))
			goto bad;
		memcpy(host, addr, n);
		host[n] = '\0';
	}
	if (!parse_u64(port_s, 0, 65535, &port))
		goto bad;
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		return 0;
	}
bad:
	snprintf(err, errlen,
		 "--metrics: '%s' is not PORT, ADDR:PORT or [ADDR]:PORT (numeric address or "
		 "localhost)",
		 addr);
	return -EINVAL;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     const char *body, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ok;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

static bool addr_is_loopback(const struct sockaddr *sa)
{
	const struct in6_addr *a6;

	if (!sa)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return false;
	a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}

/*
 * A request from this machine must name the host by a loopback name, this
 * machine's name or an address: a web page whose name was rebound to
 * 127.0.0.1 (DNS rebinding) would otherwise read the metrics in a local
 * browser as if they were its own. A request without Host (HTTP/1.0) comes
 * from no such page. Remote scrapers may use any name (a DNS alias in a
 * Prometheus config); beyond loopback there is no authentication anyway.
 */
static bool host_ok(const struct metrics_server *s, struct MHD_Connection *conn)
{
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const union MHD_ConnectionInfo *peer =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char name[256];
	struct in6_addr a6;
	struct in_addr a4;
	const char *end;
	size_t n;

	if (!host || (peer && !addr_is_loopback(peer->client_addr)))
		return true;
	if (host[0] == '[') { /* [v6] or [v6]:port */
		end = strchr(host, ']');
		if (!end || (end[1] && end[1] != ':'))
			return false;
		host++;
	} else {
		end = strchr(host, ':');
		if (!end)
			end = host + strlen(host);
	}
	n = (size_t)(end - host);
	if (n && host[n - 1] == '.') /* "localhost." is localhost */
		n--;
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	return !strcasecmp(name, "localhost") ||
	       (s->hostname[0] && !strcasecmp(name, s->hostname)) ||
	       inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **state)
{
	static const char text_plain[] = "text/plain; charset=utf-8";
	static const char wrong_host[] = "ipcprof: Host must be localhost or an address\n";
	struct metrics_server *s = cls;
	const char *accept;
	struct timespec deadline;
	enum MHD_Result ok;
	uint64_t mine;
	int fmt;

	(void)version;
	(void)upload;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text_plain, "GET only\n", 9);
	if (*upload_len)
		return MHD_NO;
	if (!host_ok(s, conn))
		return reply(conn, MHD_HTTP_MISDIRECTED_REQUEST, text_plain, wrong_host,
			     sizeof(wrong_host) - 1);
	if (!*state) { /* headers only so far: answer on the next call */
		*state = s;
		return MHD_YES;
	}
	if (!strcmp(url, "/"))
		return reply(conn, MHD_HTTP_OK, text_plain, "ipcprof: see /metrics\n", 22);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, text_plain, "not found\n", 10);
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	fmt = accept && strstr(accept, "application/openmetrics-text") ? FMT_OM : FMT_PROM;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += SCRAPE_WAIT_S;
	pthread_mutex_lock(&s->mu);
	mine = ++s->asked;
	s->want[fmt] = true;
	if (eventfd_write(s->wake_fd, 1)) {
		/* cannot fail short of a bug: the counter would overflow */
	}
	while (s->answered < mine && !s->stopping &&
	       pthread_cond_timedwait(&s->answered_cv, &s->mu, &deadline) == 0)
		;
	if (s->answered >= mine && s->text[fmt])
		ok = reply(conn, MHD_HTTP_OK, content_types[fmt], s->text[fmt], s->len[fmt]);
	else
		ok = reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text_plain, "tracing has ended\n",
			   18);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

static int listen_on(const struct sockaddr_storage *ss, char *err, size_t errlen, const char *addr)
{
	socklen_t len =
	    ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int one = 1, rc;
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 16)) {
		rc = -errno;
		snprintf(err, errlen, "--metrics %s: %s", addr, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

int metrics_server_start(struct metrics_server **out, const char *addr, char *err, size_t errlen)
{
	struct metrics_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	int rc;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->listen_fd = s->wake_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->answered_cv, NULL);
	rc = metrics_parse_addr(addr, &ss, err, errlen);
	if (rc)
		goto fail;
	s->listen_fd = rc = listen_on(&ss, err, errlen, addr);
	if (rc < 0)
		goto fail;
	if (gethostname(s->hostname, sizeof(s->hostname) - 1))
		s->hostname[0] = '\0';
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "--metrics: eventfd: %s", strerror(-rc));
		goto fail;
	}
	/* a few scrapers at a time, none holding a connection for long, no
	 * one address holding them all: a root process listening should not
	 * be easy to tie up */
	s->daemon =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
				 (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
			     MHD_OPTION_CONNECTION_LIMIT, 8u, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			     4u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!s->daemon) {
		rc = -EIO;
		snprintf(err, errlen, "--metrics %s: the HTTP server did not start", addr);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	metrics_server_stop(s);
	return rc;
}

void metrics_server_url(const struct metrics_server *s, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	bool v6;

	if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &sl)) {
		snprintf(buf, len, "?");
		return;
	}
	v6 = ss.ss_family == AF_INET6;
	inet_ntop(ss.ss_family,
		  v6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
		     : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
		  host, sizeof(host));
	snprintf(buf, len, "http://%s%s%s:%u/metrics", v6 ? "[" : "", host, v6 ? "]" : "",
		 ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			  : ((struct sockaddr_in *)&ss)->sin_port));
}

bool metrics_server_is_loopback(const struct metrics_server *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &sl))
		return false;
	return addr_is_loopback((const struct sockaddr *)&ss);
}

int metrics_server_wake_fd(const struct metrics_server *s)
{
	return s ? s->wake_fd : -1;
}

void metrics_server_answer(struct metrics_server *s, metrics_render_fn render, void *ctx)
{
	eventfd_t n;
	uint64_t asked;
	bool want[2];
	char *text[2] = {NULL, NULL};
	size_t len[2] = {0, 0};

	if (!s)
		return;
	eventfd_read(s->wake_fd, &n); /* nonblocking: clears it, if set */
	pthread_mutex_lock(&s->mu);
	asked = s->asked;
	want[0] = s->want[0];
	want[1] = s->want[1];
	s->want[0] = s->want[1] = false;
	pthread_mutex_unlock(&s->mu);
	if (asked == s->answered) /* only this thread writes answered */
		return;
	/* outside the lock: a snapshot takes a while */
	for (int f = 0; f < 2; f++)
		if (want[f])
			text[f] = render(ctx, f == FMT_OM, &len[f]);
	pthread_mutex_lock(&s->mu);
	for (int f = 0; f < 2; f++) {
		if (!want[f])
			continue;
		free(s->text[f]);
		s->text[f] = text[f];
		s->len[f] = len[f];
	}
	s->answered = asked;
	pthread_cond_broadcast(&s->answered_cv);
	pthread_mutex_unlock(&s->mu);
}

void metrics_server_stop(struct metrics_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->answered_cv);
	pthread_mutex_unlock(&s->mu);
	if (s->daemon)
		MHD_stop_daemon(s->daemon); /* joins its thread, closes listen_fd */
	else if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s->text[0]);
	free(s->text[1]);
	pthread_cond_destroy(&s->answered_cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
