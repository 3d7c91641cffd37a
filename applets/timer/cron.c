/* timer's cron engine: 5-field expressions and @macros parsed into bit
 * sets, the next fire time searched in local time (TZ) across DST jumps,
 * and the ISO 8601 times --next prints and --from reads. */
#include "cron.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL,
};
static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL,
};

static const struct cron_field {
	const char *name;
	int min, max, name_base;
	const char *const *names;
} cron_fields[5] = {
	{ "minute", 0, 59, 0, NULL },
	{ "hour", 0, 23, 0, NULL },
	{ "day of month", 1, 31, 0, NULL },
	{ "month", 1, 12, 1, month_names },
	{ "day of week", 0, 7, 0, dow_names },
};

static const struct {
	const char *name, *expr;
} cron_macros[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

struct cron_parser {
	const char *text;     /* the expression being parsed, for positions */
	const char *p;
	const struct cron_field *f;
	char *err;
	size_t errlen;
};

static int cron_fail(struct cron_parser *cp, const char *fmt, ...) BOX_PRINTF(2, 3);
static int cron_fail(struct cron_parser *cp, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(cp->err, cp->errlen, "%s: ", cp->f->name);
	if (n < 0 || (size_t)n >= cp->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(cp->err + n, cp->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int cron_unexpected(struct cron_parser *cp)
{
	int col = (int)(cp->p - cp->text) + 1;
	if (!*cp->p || *cp->p == ' ' || *cp->p == '\t')
		return cron_fail(cp, "unexpected end of field at character %d", col);
	return cron_fail(cp, "unexpected '%c' at character %d", *cp->p, col);
}

static int cron_value(struct cron_parser *cp, int *v)
{
	const struct cron_field *f = cp->f;
	const char *start = cp->p;

	if (*cp->p >= '0' && *cp->p <= '9') {
		long n = 0;
		for (; *cp->p >= '0' && *cp->p <= '9'; cp->p++)
			if (n < 1000)
				n = n * 10 + (*cp->p - '0');
		if (n < f->min || n > f->max)
			return cron_fail(cp, "%.*s out of range %d-%d", (int)(cp->p - start),
				start, f->min, f->max);
		*v = (int)n;
		return 0;
	}
	if (!f->names || !((*cp->p | 0x20) >= 'a' && (*cp->p | 0x20) <= 'z'))
		return cron_unexpected(cp);
	while (((*cp->p | 0x20) >= 'a' && (*cp->p | 0x20) <= 'z'))
		cp->p++;
	for (int i = 0; f->names[i]; i++)
		if (cp->p - start == 3 && !strncasecmp(start, f->names[i], 3)) {
			*v = i + f->name_base;
			return 0;
		}
	return cron_fail(cp, "unknown name '%.*s' at character %d", (int)(cp->p - start),
		start, (int)(start - cp->text) + 1);
}

/* One field: ITEM[,ITEM]... where ITEM is * or N or N-M, then /STEP. */
static int cron_parse_field(struct cron_parser *cp, uint64_t *bits)
{
	const struct cron_field *f = cp->f;

	*bits = 0;
	for (;;) {
		int lo, hi, step = 1;
		if (*cp->p == '*') {
			cp->p++;
			lo = f->min, hi = f->max;
		} else {
			if (cron_value(cp, &lo))
				return -1;
			hi = lo;
			if (*cp->p == '-') {
				cp->p++;
				if (cron_value(cp, &hi))
					return -1;
				if (hi < lo)
					return cron_fail(cp, "range %d-%d goes backwards", lo, hi);
			} else if (*cp->p == '/') {
				hi = f->max;   /* N/STEP: from N to the end */
			}
		}
		if (*cp->p == '/') {
			const char *start = ++cp->p;
			long n = 0;
			if (*cp->p < '0' || *cp->p > '9')
				return cron_unexpected(cp);
			for (; *cp->p >= '0' && *cp->p <= '9'; cp->p++)
				if (n < 1000)
					n = n * 10 + (*cp->p - '0');
			if (n < 1 || n > f->max)
				return cron_fail(cp, "step %.*s out of range 1-%d",
					(int)(cp->p - start), start, f->max);
			step = (int)n;
		}
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ULL << v;
		if (*cp->p != ',')
			break;
		cp->p++;
	}
	if (*cp->p && *cp->p != ' ' && *cp->p != '\t')
		return cron_unexpected(cp);
	return 0;
}

static int cron_parse_fields(const char *text, struct timer_cron *c, char *err, size_t errlen)
{
	struct cron_parser cp = { text, text, NULL, err, errlen };
	uint64_t bits[5];
	int star[5];
	int n = 0;

	for (const char *p = text; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		n++;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (n != 5) {
		snprintf(err, errlen, "expected 5 fields (minute hour day-of-month month day-of-week), got %d", n);
		return -1;
	}
	for (int i = 0; i < 5; i++) {
		while (*cp.p == ' ' || *cp.p == '\t')
			cp.p++;
		cp.f = &cron_fields[i];
		star[i] = *cp.p == '*';
		if (cron_parse_field(&cp, &bits[i]))
			return -1;
	}
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint32_t)bits[3];
	c->dow = (uint32_t)((bits[4] | bits[4] >> 7) & 0x7f);
	c->wild = star[0] || star[1];
	c->dom_star = star[2];
	c->dow_star = star[4];
	return 0;
}

int timer_cron_parse(const char *expr, struct timer_cron *c, char *err, size_t errlen)
{
	const char *p = expr;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '@')
		return cron_parse_fields(expr, c, err, errlen);
	size_t len = strcspn(p, " \t");
	if (p[len + strspn(p + len, " \t")]) {
		snprintf(err, errlen, "%.*s takes no fields after it", (int)len, p);
		return -1;
	}
	for (size_t i = 0; i < BOX_ARRAY_LEN(cron_macros); i++)
		if (strlen(cron_macros[i].name) == len && !strncasecmp(p, cron_macros[i].name, len))
			return cron_parse_fields(cron_macros[i].expr, c, err, errlen);
	snprintf(err, errlen, "unknown macro '%.*s' (expected @yearly, @annually, "
		"@monthly, @weekly, @daily, @midnight or @hourly)", (int)len, p);
	return -1;
}

/* ---- civil time ------------------------------------------------------------
 * A "naive" time is a local date and time counted in seconds as if the zone
 * were UTC; the instants whose local time is a given naive time are found
 * through the zone's offsets (one instant normally, two in a repeated hour,
 * none in a skipped one). */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
	static const unsigned char len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return len[m - 1] + (m == 2 && leap);
}

static int64_t local_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		return 0;
	return tm.tm_gmtoff;
}

static int64_t naive_of(int64_t t)
{
	return t + local_offset(t);
}

/* The instants whose local time is the naive time u, earliest first: 1, or
 * 2 in a repeated hour. 0 when the clock skips u; then t[0] is the first
 * instant after the jump. */
static int resolve_local(int64_t u, int64_t t[2])
{
	int64_t off[4], cand[4], lo = INT64_MAX, hi = INT64_MIN;
	int n = 0;

	off[0] = local_offset(u - 86400);
	off[1] = local_offset(u + 86400);
	off[2] = local_offset(u - off[0]);
	off[3] = local_offset(u - off[1]);
	for (int i = 0; i < 4; i++) {
		int64_t c = u - off[i];
		int dup = 0;
		lo = c < lo ? c : lo;
		hi = c > hi ? c : hi;
		for (int j = 0; j < n; j++)
			dup |= cand[j] == c;
		if (!dup && naive_of(c) == u)
			cand[n++] = c;
	}
	if (n) {
		t[0] = cand[0];
		t[1] = n > 1 ? cand[1] : cand[0];
		if (t[1] < t[0]) {
			t[0] = cand[1];
			t[1] = cand[0];
		}
		return n > 1 && t[0] != t[1] ? 2 : 1;
	}
	/* skipped: the first instant whose local time is at or after u */
	while (lo + 1 < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (naive_of(mid) >= u)
			hi = mid;
		else
			lo = mid;
	}
	t[0] = t[1] = hi;
	return 0;
}

static int cron_day_matches(const struct timer_cron *c, int64_t days, int d)
{
	int dow = (int)(days + 4 - floor_div(days + 4, 7) * 7);   /* 1970-01-01: Thursday */
	int dom_ok = c->dom >> d & 1, dow_ok = c->dow >> dow & 1;
	if (c->dom_star || c->dow_star)
		return dom_ok && dow_ok;
	return dom_ok || dow_ok;
}

/* The Gregorian calendar repeats every 400 years (146,097 days, a whole
 * number of weeks): an expression that matches no day in 400 years and a
 * day never will. */
#define CRON_HORIZON_DAYS (146097 + 1)

/* The first naive minute at or after naive (minute-aligned) whose local
 * date and time match, or TIMER_CRON_NONE when none ever does. */
static int64_t cron_match_from(const struct timer_cron *c, int64_t naive)
{
	int64_t days = floor_div(naive, 86400), limit = days + CRON_HORIZON_DAYS;
	int64_t rem = naive - days * 86400;
	int h = (int)(rem / 3600), mi = (int)(rem % 3600 / 60);

	while (days <= limit) {
		int64_t y;
		int m, d;
		civil_from_days(days, &y, &m, &d);
		if (!(c->month >> m & 1)) {
			days = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
			h = mi = 0;
			continue;
		}
		if (!cron_day_matches(c, days, d)) {
			days++;
			h = mi = 0;
			continue;
		}
		while (h < 24 && !(c->hour >> h & 1))
			h++, mi = 0;
		while (h < 24 && mi < 60 && !(c->minute >> mi & 1))
			mi++;
		if (h < 24 && mi < 60)
			return days * 86400 + h * 3600 + mi * 60;
		if (h < 24 && mi == 60) {
			h++;
			mi = 0;
			continue;
		}
		days++;
		h = mi = 0;
	}
	return TIMER_CRON_NONE;
}

/* How far a DST change can move local time; as in Vixie cron, larger steps
 * are treated as clock changes, not as repeated or skipped local times. */
#define DST_SPAN (3 * 3600)
/* A forward step this small is a late wakeup to Vixie cron: every job of
 * every skipped minute runs at once. */
#define LATE_SPAN (5 * 60)

/* Vixie cron's (and cronie's) rules for the local times a clock change
 * skips or repeats, which treat "wildcard" jobs (minute or hour field
 * starting with '*') and fixed-time jobs apart:
 *   skipped, step <= 5 min    every job runs once right after the jump;
 *   skipped, step <= 3 h      fixed-time jobs run once right after the jump,
 *                             wildcard jobs follow the clock (no catch-up);
 *   skipped, larger step      nothing is caught up;
 *   repeated, step <= 3 h     fixed-time jobs run at the first pass only,
 *                             wildcard jobs in both passes;
 *   repeated, larger step     every job runs in both passes.
 * A fixed-time job also runs in the second pass when the first one came
 * before `since`, the time the schedule started to be followed (cron
 * started in the repeated hour runs it then). */
int64_t timer_cron_next(const struct timer_cron *c, int64_t after, int64_t since)
{
	int64_t start = floor_div(naive_of(after), 60) * 60 + 60;
	int64_t best = TIMER_CRON_NONE, stop = INT64_MAX;

	/* a backward jump soon after `after` repeats local times before it */
	if (local_offset(after + DST_SPAN) < local_offset(after))
		start -= DST_SPAN;
	for (int64_t w = start;; w += 60) {
		int64_t t[2], cand = TIMER_CRON_NONE;
		w = cron_match_from(c, w);
		if (w == TIMER_CRON_NONE || w > stop)
			break;
		int n = resolve_local(w, t);
		if (n == 0) {
			int64_t step = local_offset(t[0]) - local_offset(t[0] - 1);
			if (t[0] > after && (step <= LATE_SPAN || (step <= DST_SPAN && !c->wild)))
				cand = t[0];
		} else if (t[0] > after)
			cand = t[0];
		else if (n == 2 && t[1] > after && (c->wild || t[0] < since ||
				local_offset(t[0]) - local_offset(t[1]) > DST_SPAN))
			cand = t[1];
		if (cand != TIMER_CRON_NONE && (best == TIMER_CRON_NONE || cand < best)) {
			best = cand;
			/* a later local time maps to an earlier instant only across
			 * a backward jump shortly before best */
			int64_t back = best - DST_SPAN > after ? best - DST_SPAN : after;
			stop = local_offset(back) > local_offset(best) ? naive_of(best) + DST_SPAN : w;
		}
	}
	return best;
}

void timer_format_time(struct box_buf *b, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	long off = tm.tm_gmtoff;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	box_buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld\n", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
		off / 3600, off % 3600 / 60);
}

static int take_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

int timer_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	long long epoch;

	if (*s == '@') {
		if (box_parse_ll(s + 1, -(1LL << 40), 1LL << 40, &epoch))
			return -1;
		*out = epoch;
		return 0;
	}
	if (take_digits(&s, 4, &y) || *s++ != '-' || take_digits(&s, 2, &mo) ||
	    *s++ != '-' || take_digits(&s, 2, &d))
		return -1;
	if (*s == 'T' || *s == ' ') {
		s++;
		if (take_digits(&s, 2, &h) || *s++ != ':' || take_digits(&s, 2, &mi))
			return -1;
		if (*s == ':' && (s++, take_digits(&s, 2, &sec)))
			return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	int64_t u = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	if (!*s) {
		int64_t t[2];
		resolve_local(u, t);
		*out = t[0];
		return 0;
	}
	if (*s == 'Z' && !s[1]) {
		*out = u;
		return 0;
	}
	int sign = *s == '-' ? -1 : 1, oh, om = 0;
	if ((*s != '+' && *s != '-') || (s++, take_digits(&s, 2, &oh)))
		return -1;
	if (*s == ':')
		s++;
	if (*s && take_digits(&s, 2, &om))
		return -1;
	if (*s || oh > 23 || om > 59)
		return -1;
	*out = u - sign * (oh * 3600 + om * 60);
	return 0;
}
