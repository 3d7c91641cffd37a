/* Strict number and duration parsing. */
#include "box.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

int box_fields(const char *line, char *buf, size_t size, char **field, int max)
{
	size_t n = 0;
	int count = 0;

	while (line[n] && line[n] != '\n' && n + 1 < size)
		n++;
	memcpy(buf, line, n);
	buf[n] = 0;
	for (char *p = buf; *p && count < max; ) {
		while (*p == ' ' || *p == '\t')
			*p++ = 0;
		if (!*p)
			break;
		field[count++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = 0;
	}
	return count;
}

int box_parse_hex(const char *s, unsigned long *out)
{
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (s[strspn(s, "0123456789abcdefABCDEF")] || !*s)
		return BOX_PARSE_INVALID;
	errno = 0;
	*out = strtoul(s, &end, 16);
	return errno ? BOX_PARSE_RANGE : BOX_PARSE_OK;
}

int box_parse_ll(const char *s, long long min, long long max, long long *out)
{
	const char *p = s;
	long long v = 0;
	int neg = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p < '0' || *p > '9')
		return BOX_PARSE_INVALID;
	for (; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';
		if (v > (LLONG_MAX - d) / 10) {
			while (*p >= '0' && *p <= '9')
				p++;
			return *p ? BOX_PARSE_INVALID : BOX_PARSE_RANGE;
		}
		v = v * 10 + d;
	}
	if (*p)
		return BOX_PARSE_INVALID;
	if (neg)
		v = -v;
	if (v < min || v > max)
		return BOX_PARSE_RANGE;
	*out = v;
	return BOX_PARSE_OK;
}

double box_strtod(const char *s, char **end)
{
	static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
		1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	const char *p = s;
	double m = 0;
	int neg = 0, digits = 0, sig = 0, scale = 0, base = 10;

	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!strncasecmp(p, "inf", 3)) {
		*end = (char *)p + (strncasecmp(p + 3, "inity", 5) ? 3 : 8);
		return neg ? -INFINITY : INFINITY;
	}
	if (p[0] == '0' && (p[1] | 32) == 'x' && isxdigit((unsigned char)p[2 + (p[2] == '.')]))
		p += 2, base = 16;
	for (int dot = 0;; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' :
			base == 16 && isxdigit((unsigned char)*p) ? (*p | 32) - 'a' + 10 : -1;
		if (d < 0 && *p == '.' && !dot) {
			dot = 1;
			continue;
		}
		if (d < 0)
			break;
		digits++;
		/* 19 significant digits are more than a double holds: later
		 * ones only move the point (they would overflow m) */
		if (sig < 19 || !m) {
			m = m * base + d;
			sig += m != 0;
			scale -= dot;
		} else
			scale += !dot;
	}
	if (!digits) {
		*end = (char *)s;
		return 0;
	}
	if ((*p | 32) == (base == 16 ? 'p' : 'e')) {
		const char *q = p + 1;
		int eneg = 0, e = 0;
		if (*q == '+' || *q == '-')
			eneg = *q++ == '-';
		if (*q >= '0' && *q <= '9') {
			for (; *q >= '0' && *q <= '9'; q++)
				e = e < 100000 ? e * 10 + (*q - '0') : e;
			e = eneg ? -e : e;
			p = q;
		}
		scale = base == 16 ? scale * 4 + e : scale + e;
	} else if (base == 16)
		scale *= 4;
	double v = m;
	if (base == 16)
		v = scalbn(m, scale);
	else {
		/* one exact power of ten and one rounding where the table reaches;
		 * beyond it, steps of 1e22 until the value overflows or vanishes */
		for (; scale > 22 && v <= DBL_MAX; scale -= 22)
			v *= 1e22;
		for (; scale < -22 && v > 0; scale += 22)
			v /= 1e22;
		if (scale >= -22 && scale <= 22)
			v = scale < 0 ? v / pow10[-scale] : v * pow10[scale];
	}
	if (m && (v == 0 || v > DBL_MAX))
		errno = ERANGE;
	*end = (char *)p;
	return neg ? -v : v;
}

long long box_xparse_ll(const char *what, const char *s, long long min, long long max)
{
	long long v;
	switch (box_parse_ll(s, min, max, &v)) {
	case BOX_PARSE_OK:
		return v;
	case BOX_PARSE_RANGE:
		box_usage("invalid %s '%s': out of range %lld-%lld", what, s, min, max);
	default:
		box_usage("invalid %s '%s': not a number", what, s);
	}
}

static const struct {
	const char *name;
	int64_t ns;
} box_units[] = {
	{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", BOX_NSEC },
	{ "", BOX_NSEC }, { "m", 60 * BOX_NSEC }, { "h", 3600 * BOX_NSEC },
	{ "d", 86400 * BOX_NSEC },
};

int box_parse_duration(const char *s, int64_t *ns)
{
	const char *p = s;
	int64_t whole = 0, frac = 0, frac_scale = 1, unit = -1;
	int digits = 0, dropped = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (whole > (INT64_MAX - 9) / 10)
			return BOX_PARSE_RANGE;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++, digits++) {
			if (frac_scale < BOX_NSEC) {
				frac = frac * 10 + (*p - '0');
				frac_scale *= 10;
			} else {
				dropped |= *p != '0';
			}
		}
	}
	if (!digits)
		return BOX_PARSE_INVALID;
	for (size_t i = 0; i < BOX_ARRAY_LEN(box_units); i++)
		if (!strcmp(p, box_units[i].name))
			unit = box_units[i].ns;
	if (unit < 0)
		return BOX_PARSE_INVALID;
	if (whole > BOX_DURATION_MAX / unit)
		return BOX_PARSE_RANGE;
	int64_t v = whole * unit, part = frac * (unit % frac_scale);
	/* frac < frac_scale <= 1e9 and unit <= 86400e9: split to avoid overflow;
	 * a part of a nanosecond counts as one, as GNU timeout rounds up, so
	 * no positive duration becomes 0 */
	v += frac * (unit / frac_scale) + part / frac_scale + (part % frac_scale || dropped);
	if (v > BOX_DURATION_MAX)
		return BOX_PARSE_RANGE;
	*ns = v;
	return BOX_PARSE_OK;
}

int64_t box_xparse_duration(const char *what, const char *s)
{
	int64_t v;
	switch (box_parse_duration(s, &v)) {
	case BOX_PARSE_OK:
		return v;
	case BOX_PARSE_RANGE:
		box_usage("invalid %s '%s': too long", what, s);
	default:
		box_usage("invalid %s '%s': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d", what, s);
	}
}
