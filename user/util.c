// SPDX-License-Identifier: MIT
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t u64_sat(double v)
{
	if (!(v > 0)) /* NaN too */
		return 0;
	return v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
}

bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

const char *fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 1000000000ull)
		snprintf(buf, len, "%.3f s", ns / 1e9);
	else if (ns >= 1000000ull)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else if (ns >= 1000ull)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	return buf;
}

const char *fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= 1000000000ull)
		snprintf(buf, len, "%.2f GB", bytes / 1e9);
	else if (bytes >= 1000000ull)
		snprintf(buf, len, "%.2f MB", bytes / 1e6);
	else if (bytes >= 1000ull)
		snprintf(buf, len, "%.1f kB", bytes / 1e3);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	return buf;
}

const char *fmt_rate(double bps, char *buf, size_t len)
{
	char b[32];

	fmt_bytes(u64_sat(bps), b, sizeof(b));
	snprintf(buf, len, "%s/s", b);
	return buf;
}

const char *path_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

char *find_in_path(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	const char *p;

	if (!cmd || !*cmd)
		return NULL;
	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0 ? strdup(cmd) : NULL;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *colon = strchrnul(p, ':');
		int n = (int)(colon - p);

		snprintf(buf, sizeof(buf), "%.*s/%s", n ? n : 1, n ? p : ".", cmd);
		if (access(buf, X_OK) == 0)
			return strdup(buf);
		if (!*colon)
			break;
		p = colon;
	}
	return NULL;
}

size_t array_cap(size_t n)
{
	size_t cap = 8;

	if (!n)
		return 0;
	while (cap < n)
		cap *= 2;
	return cap;
}

void *grow_array(void *v, size_t n, size_t elem)
{
	size_t cap = array_cap(n);

	if (n < cap)
		return v;
	cap = n ? cap * 2 : 8;
	if (elem && cap > SIZE_MAX / elem)
		return NULL;
	return realloc(v, cap * elem);
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

const char *printable(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (!len)
		return buf;
	for (; s && *s; s++) {
		size_t need = is_control((unsigned char)*s) ? 4 : 1;

		if (o + need >= len)
			break;
		if (need == 4)
			snprintf(buf + o, 5, "\\x%02x", (unsigned char)*s);
		else
			buf[o] = *s;
		o += need;
	}
	buf[o] = '\0';
	return buf;
}

void fput_printable(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (is_control((unsigned char)*s))
			fprintf(out, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, out);
	}
}
