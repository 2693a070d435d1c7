// SPDX-License-Identifier: MIT
#include "fail_if.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "util.h"

static const struct {
	const char *suffix;
	enum cmp_unit unit;
	double scale;
} units[] = {
    {"ns", CMP_NS, 1},
    {"us", CMP_NS, 1e3},
    {"ms", CMP_NS, 1e6},
    {"s", CMP_NS, 1e9},
    {"B", CMP_BYTES, 1},
    {"kB", CMP_BYTES, 1e3},
    {"MB", CMP_BYTES, 1e6},
    {"GB", CMP_BYTES, 1e9},
    {"KiB", CMP_BYTES, 1024.0},
    {"MiB", CMP_BYTES, 1048576.0},
    {"GiB", CMP_BYTES, 1073741824.0},
};

static int bad(const char *expr, char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "--fail-if '%s': %s", expr, why);
	return -EINVAL;
}

int fail_if_parse(const char *expr, struct fail_if *out, char *err, size_t errlen)
{
	const struct report empty = {0};
	size_t n = strspn(expr, "abcdefghijklmnopqrstuvwxyz_");
	const char *p = expr + n;
	enum cmp_unit unit;
	char fields[512], *end;
	uint64_t v;

	memset(out, 0, sizeof(*out));
	out->text = expr;
	if (n == 0 || n >= sizeof(out->field))
		return bad(expr, err, errlen,
			   "expected FIELD>CHANGE or FIELD<CHANGE, e.g. "
			   "serialize_ns>+10%");
	memcpy(out->field, expr, n);
	if (!compare_value(&empty, out->field, &v, &unit)) {
		char why[600];

		compare_fields(fields, sizeof(fields));
		snprintf(why, sizeof(why), "unknown field '%s' (%s)", out->field, fields);
		return bad(expr, err, errlen, why);
	}
	if (*p != '>' && *p != '<')
		return bad(expr, err, errlen, "expected > or < after the field");
	out->op = *p++;
	if (*p != '+' && *p != '-' && (*p < '0' || *p > '9'))
		return bad(expr, err, errlen, "expected a change such as +10% or +5ms");
	errno = 0;
	out->amount = strtod(p, &end);
	if (errno || end == p || !isfinite(out->amount))
		return bad(expr, err, errlen, "the change is not a number");
	if (!strcmp(end, "%")) {
		out->relative = true;
		return 0;
	}
	if (!*end)
		return 0; /* the field's own unit */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (units[i].unit != unit)
			return bad(expr, err, errlen, "the unit does not fit the field");
		out->amount *= units[i].scale;
		return 0;
	}
	return bad(expr, err, errlen,
		   "unknown unit (% or ns, us, ms, s or B, kB, MB, GB, KiB, MiB, GiB)");
}

static const char *value_str(uint64_t v, enum cmp_unit unit, char *buf, size_t len)
{
	if (unit == CMP_NS)
		return fmt_ns(v, buf, len);
	if (unit == CMP_BYTES)
		return fmt_bytes(v, buf, len);
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

bool fail_if_check(const struct fail_if *f, const struct report *a, const struct report *b,
		   char *msg, size_t len)
{
	uint64_t x = 0, y = 0;
	enum cmp_unit unit = CMP_COUNT;
	double change, delta;
	char sa[32], sb[32], sc[48];
	bool fired;

	compare_value(a, f->field, &x, &unit);
	compare_value(b, f->field, &y, &unit);
	delta = (double)y - (double)x;
	if (f->relative)
		change = x	     ? delta / (double)x * 100.0
			 : delta > 0 ? INFINITY
			 : delta < 0 ? -INFINITY
				     : 0;
	else
		change = delta;
	fired = f->op == '>' ? change > f->amount : change < f->amount;
	if (x)
		snprintf(sc, sizeof(sc), "%+.1f%%", delta / (double)x * 100.0);
	else
		snprintf(sc, sizeof(sc), "%s", delta ? "new" : "+0%");
	snprintf(msg, len, "%s: A %s, B %s (%s)", f->text, value_str(x, unit, sa, sizeof(sa)),
		 value_str(y, unit, sb, sizeof(sb)), sc);
	return fired;
}
