/* timer: run a command later (-d), again at a fixed rate (-i), on a cron
 * schedule (-c), and with a deadline per run (-t, GNU timeout's semantics),
 * all from one event loop: a signal fd, an inotify fd and the nearest
 * deadline. Delays and intervals are on CLOCK_MONOTONIC; cron fire times are
 * wall-clock times: a CLOCK_REALTIME timerfd armed with TFD_TIMER_CANCEL_ON_SET
 * wakes at the fire time and at once when the clock is set or the machine
 * resumes from suspend; without it the clock is re-read once a minute. */
#include "../libbox/box.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"timer [-d DUR] [-i DUR [-n COUNT]] [-c CRON [--next N [--from TIME]]] "
	"[-t DUR [-k DUR] [-s SIG] [--preserve-status]] [--foreground] "
	"[--overlap skip|wait|kill] [--cancel-if-missing PATH] -- CMD [ARG...]";

static const char help[] =
	"Run CMD (no shell) later, again, on a schedule, or with a deadline.\n"
	"\n"
	"  -d, --delay DUR        run once after DUR (with -i: the first run)\n"
	"  -i, --interval DUR     run now and every DUR at a fixed rate\n"
	"  -n, --count COUNT      with -i or -c: stop after COUNT runs\n"
	"  -c, --cron 'CRON'      run at the times of a 5-field cron expression\n"
	"                         or @hourly @daily @midnight @weekly @monthly\n"
	"                         @yearly @annually, in local time (TZ)\n"
	"      --next N           with -c: print the next N fire times and exit\n"
	"      --from TIME        with --next: count from TIME (ISO 8601, or @EPOCH)\n"
	"      --overlap MODE     a run due while the previous one is still going:\n"
	"                         skip (default), wait for it, or kill it\n"
	"      --cancel-if-missing PATH  cancel the pending runs when PATH disappears\n"
	"  -t, --timeout DUR      signal each run's process group after DUR\n"
	"  -k, --kill-after DUR   then SIGKILL it if still running DUR later\n"
	"  -s, --signal SIG       the signal sent at the deadline (default TERM)\n"
	"      --preserve-status  exit with the command's status even if timed out\n"
	"      --foreground       leave CMD in timer's process group (only CMD is\n"
	"                         signalled, it may use the terminal)\n"
	"\n"
	"Durations: 1.5, 200ms, 2s, 5m, 1h, 1d.\n"
	"Exit status: the (last) run's status; 122 cancelled because PATH\n"
	"disappeared; 128+N cancelled by signal N before a run; 124 timed out;\n"
	"137 killed after the deadline; 125 usage or own failure; 126 cannot\n"
	"execute; 127 not found.\n";

enum {
	EXIT_CANCELLED = 122,
	EXIT_TIMEDOUT = 124,
	EXIT_FAIL = 125,
};

/* ---- cron expressions --------------------------------------------------- */

struct timer_cron {
	uint64_t minute;      /* bit n set: minute n matches */
	uint32_t hour, dom, month;
	uint32_t dow;         /* bits 0-6, Sunday is 0 (7 is folded onto it) */
	/* A field starting with '*' is "unrestricted" for the day-of-month /
	 * day-of-week rule (as in Vixie cron and cronie); an hour field
	 * starting with '*' makes the job run again in a repeated DST hour. */
	int dom_star, dow_star, hour_star;
};

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
	c->hour_star = star[1];
	c->dom_star = star[2];
	c->dow_star = star[4];
	return 0;
}

static int timer_cron_parse(const char *expr, struct timer_cron *c, char *err, size_t errlen)
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

#define CRON_HORIZON_DAYS (366 * 10)

/* The first naive minute at or after naive (minute-aligned) whose local
 * date and time match, or -1 when none within ten years. */
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
	return -1;
}

/* How far a DST change can move local time; as in Vixie cron, larger steps
 * are treated as clock changes, not as repeated or skipped local times. */
#define DST_SPAN (3 * 3600)

/* The next fire time strictly after the instant `after`, or -1 for never.
 * In a repeated hour a job fires once, at the first pass, unless its hour
 * field starts with '*' (it runs every hour, so the second pass is a new
 * hour for it too). Local times the clock skips fire at the first instant
 * after the jump, once however many of them match. */
static int64_t cron_next(const struct timer_cron *c, int64_t after)
{
	int64_t start = floor_div(naive_of(after), 60) * 60 + 60;
	int64_t best = -1, stop = INT64_MAX;

	/* a backward jump soon after `after` repeats local times before it */
	if (local_offset(after + DST_SPAN) < local_offset(after))
		start -= DST_SPAN;
	for (int64_t w = start;; w += 60) {
		int64_t t[2], cand = -1;
		w = cron_match_from(c, w);
		if (w < 0 || w > stop)
			break;
		int n = resolve_local(w, t);
		if (t[0] > after)
			cand = t[0];
		else if (n == 2 && c->hour_star && t[1] > after)
			cand = t[1];
		if (cand >= 0 && (best < 0 || cand < best)) {
			best = cand;
			/* a later local time maps to an earlier instant only across
			 * a backward jump shortly before best */
			int64_t back = best - DST_SPAN > after ? best - DST_SPAN : after;
			stop = local_offset(back) > local_offset(best) ? naive_of(best) + DST_SPAN : w;
		}
	}
	return best;
}

/* Parses expr and computes its next fire time after `from` (the fuzz
 * target's entry point): 0, or -1 with the reason in err. */
int timer_cron_check(const char *expr, int64_t from, int64_t *next, char *err, size_t errlen)
{
	struct timer_cron c;
	if (timer_cron_parse(expr, &c, err, errlen))
		return -1;
	*next = cron_next(&c, from);
	return 0;
}

static void format_iso(struct box_buf *b, int64_t t)
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

/* YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM|-HH:MM|+HHMM] (local time without an
 * offset), or @SECONDS since the epoch. */
static int parse_time(const char *s, int64_t *out)
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

/* ---- running -------------------------------------------------------------- */

enum overlap { OVERLAP_SKIP, OVERLAP_WAIT, OVERLAP_KILL };

struct run {
	pid_t pid;            /* 0: nothing running */
	int64_t deadline;     /* -t: when it is signalled; -1 none */
	int64_t kill_at;      /* -k: when SIGKILL follows; -1 none */
	int timed_out;        /* the timeout signal was sent */
	int killed;           /* SIGKILL was sent */
};

struct timer {
	char **argv;
	int64_t delay, interval, timeout, kill_after;   /* ns; -1 unset */
	long long count;      /* runs to start; -1 endless */
	long long runs;       /* runs started */
	int signal, preserve, foreground;
	enum overlap overlap;
	int have_cron;
	struct timer_cron cron;
	const char *watch_path;

	struct run run;
	int pending;          /* a run waits for the current one to end */
	int stopping;         /* no more runs */
	int cancelled;        /* stopped because watch_path disappeared */
	int status;           /* exit code of the last run */
	int64_t start;        /* -d/-i: monotonic time of run 0 */
	long long tick;       /* -i: index of the next tick */
	int64_t next_wall;    /* -c: next fire time, seconds since the epoch */
	int sigfd, inofd;
	int wallfd;           /* -c: CLOCK_REALTIME timerfd, -1 without one */
	int64_t wall_armed;   /* the time wallfd is armed for; -1 to re-arm */
};

/* Without inotify, how often PATH is checked. */
#define WATCH_POLL_NS (100 * 1000000LL)
/* Without a wall-clock timerfd, cron waits wake up this often to re-read
 * the clock. */
#define WALL_RECHECK_NS (60 * BOX_NSEC)

static int scheduling(const struct timer *tm)
{
	return !tm->stopping && (tm->count < 0 || tm->runs + tm->pending < tm->count);
}

static void signal_run(struct timer *tm, int sig)
{
	pid_t target = tm->foreground ? tm->run.pid : -tm->run.pid;

	kill(target, sig);
	/* a stopped process would never act on the signal */
	if (sig != SIGKILL && sig != SIGCONT)
		kill(target, SIGCONT);
	if (sig == SIGKILL)
		tm->run.killed = 1;
	else if (tm->kill_after > 0 && tm->run.kill_at < 0)
		tm->run.kill_at = box_now_ns() + tm->kill_after;
}

static void start_run(struct timer *tm)
{
	struct box_spawn sp = { .argv = tm->argv, .fd_in = -1, .fd_out = -1, .fd_err = -1,
		.pgroup = tm->foreground ? -1 : 0 };
	struct box_spawn_error e;

	tm->runs++;
	pid_t pid = box_spawn(&sp, &e);
	if (pid < 0) {
		if (!e.err)
			box_fatal_errno("unable to start %s", tm->argv[0]);
		box_warn("unable to %s %s: %s", e.what, tm->argv[0], strerror(e.err));
		tm->status = box_exec_fail_code(e.err);
		return;
	}
	memset(&tm->run, 0, sizeof(tm->run));
	tm->run.pid = pid;
	tm->run.deadline = tm->timeout > 0 ? box_now_ns() + tm->timeout : -1;
	tm->run.kill_at = -1;
}

static void finish_run(struct timer *tm, int wstatus)
{
	int code = box_status_code(wstatus);

	/* GNU timeout dies of the SIGKILL it sends to its own group: 128+9 */
	if (tm->run.killed)
		code = 128 + SIGKILL;
	else if (tm->run.timed_out && !tm->preserve)
		code = EXIT_TIMEDOUT;
	tm->status = code;
	tm->run.pid = 0;
	if (tm->pending) {
		tm->pending = 0;
		if (!tm->stopping)
			start_run(tm);
	}
}

static void reap(struct timer *tm)
{
	int wstatus;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
		if (pid == tm->run.pid)
			finish_run(tm, wstatus);
}

static void cancel(struct timer *tm, int code, const char *why)
{
	tm->stopping = 1;
	tm->pending = 0;
	if (!tm->run.pid) {
		box_warn("run cancelled%s", why);
		exit(code);
	}
}

static int watch_path_missing(const struct timer *tm)
{
	struct stat st;
	return tm->watch_path && lstat(tm->watch_path, &st) < 0 && errno == ENOENT;
}

static void check_watch(struct timer *tm)
{
	if (!tm->cancelled && watch_path_missing(tm)) {
		tm->cancelled = 1;
		char *why = box_xasprintf(": %s disappeared", tm->watch_path);
		cancel(tm, EXIT_CANCELLED, why);
		box_warn("no more runs: %s disappeared", tm->watch_path);
		free(why);
	}
}

/* Watches PATH's directory: PATH leaves it by deletion or rename, or the
 * directory itself goes. Without inotify, PATH is polled. */
static void watch_open(struct timer *tm)
{
	char *dir = box_xstrdup(tm->watch_path), *slash = strrchr(dir, '/');

	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	tm->inofd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (tm->inofd >= 0 && inotify_add_watch(tm->inofd, dir, IN_DELETE | IN_MOVED_FROM |
			IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_ONLYDIR) < 0) {
		box_close(tm->inofd);
		tm->inofd = -1;
	}
	free(dir);
}

static void watch_drain(struct timer *tm)
{
	char buf[4096];
	while (box_read(tm->inofd, buf, sizeof(buf)) > 0)
		;
	check_watch(tm);
}

static void handle_signals(struct timer *tm)
{
	int sig;

	while ((sig = box_sigfd_read(tm->sigfd)) > 0) {
		if (sig == SIGCHLD) {
			reap(tm);
			continue;
		}
		char why[48];
		snprintf(why, sizeof(why), " by SIG%s", box_signame(sig));
		cancel(tm, 128 + sig, why);
		signal_run(tm, sig);
	}
}

/* A run is due: start it, or apply the overlap policy. */
static void fire(struct timer *tm)
{
	check_watch(tm);
	if (tm->stopping)
		return;
	if (!tm->run.pid) {
		start_run(tm);
		return;
	}
	switch (tm->overlap) {
	case OVERLAP_SKIP:
		box_warn("previous run still going, this one skipped");
		break;
	case OVERLAP_WAIT:
		tm->pending = 1;
		break;
	case OVERLAP_KILL:
		tm->pending = 1;
		if (!tm->run.timed_out) {
			tm->run.timed_out = 1;
			signal_run(tm, tm->signal);
		}
		break;
	}
}

/* The monotonic time of the next scheduled start, -1 for none. */
static int64_t next_start(const struct timer *tm, int64_t now)
{
	if (!scheduling(tm))
		return -1;
	if (tm->have_cron) {
		if (tm->wallfd >= 0)
			return -1;
		int64_t left = tm->next_wall * BOX_NSEC - box_wall_ns();
		return now + (left < WALL_RECHECK_NS ? (left > 0 ? left : 0) : WALL_RECHECK_NS);
	}
	return tm->start + tm->tick * (tm->interval > 0 ? tm->interval : 0);
}

static void check_schedule(struct timer *tm, int64_t now)
{
	if (!scheduling(tm))
		return;
	if (tm->have_cron) {
		int64_t wall = box_wall_ns();
		if (wall < tm->next_wall * BOX_NSEC)
			return;
		/* from the later of the two, so a clock set back never repeats a run */
		int64_t from = wall / BOX_NSEC > tm->next_wall ? wall / BOX_NSEC : tm->next_wall;
		tm->next_wall = cron_next(&tm->cron, from);
		fire(tm);
		if (tm->next_wall < 0)
			tm->stopping = 1;
		return;
	}
	if (now < next_start(tm, now))
		return;
	if (tm->interval > 0)   /* the next tick on the grid: missed ones are not caught up */
		tm->tick = (now - tm->start) / tm->interval + 1;
	else
		tm->tick = 1;
	fire(tm);
}

static void check_run(struct timer *tm, int64_t now)
{
	if (!tm->run.pid)
		return;
	if (tm->run.deadline >= 0 && now >= tm->run.deadline && !tm->run.timed_out) {
		tm->run.timed_out = 1;
		signal_run(tm, tm->signal);
	}
	if (tm->run.kill_at >= 0 && now >= tm->run.kill_at && !tm->run.killed)
		signal_run(tm, SIGKILL);
}

static int64_t earliest(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	return b < 0 || a < b ? a : b;
}

/* Arms the wall-clock timer for the next cron time. A clock step or a
 * resume from suspend cancels it (the read fails with ECANCELED), which
 * wakes the loop to look at the clock again. */
static void wall_arm(struct timer *tm)
{
	struct itimerspec its = { .it_value = { .tv_sec = tm->next_wall } };

	if (!scheduling(tm))
		its.it_value.tv_sec = 0;   /* disarm */
	if (tm->wallfd < 0 || its.it_value.tv_sec == tm->wall_armed)
		return;
	tm->wall_armed = its.it_value.tv_sec;
	if (timerfd_settime(tm->wallfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0) {
		box_close(tm->wallfd);
		tm->wallfd = -1;
	}
}

static void wall_open(struct timer *tm)
{
	tm->wallfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
}

static void wall_drain(struct timer *tm)
{
	uint64_t n;
	/* expiry or ECANCELED (disarmed either way): the clock is looked at
	 * again and the timer armed anew */
	(void)!read(tm->wallfd, &n, sizeof(n));
	tm->wall_armed = -1;
}

static int timer_loop(struct timer *tm)
{
	for (;;) {
		int64_t now = box_now_ns();
		check_run(tm, now);
		check_schedule(tm, now);
		if (!tm->run.pid && !tm->pending && !scheduling(tm))
			return tm->cancelled ? EXIT_CANCELLED : tm->status;

		int64_t deadline = next_start(tm, now);
		if (tm->run.pid && !tm->run.timed_out)
			deadline = earliest(deadline, tm->run.deadline);
		if (tm->run.pid && !tm->run.killed)
			deadline = earliest(deadline, tm->run.kill_at);
		if (tm->watch_path && tm->inofd < 0 && scheduling(tm))
			deadline = earliest(deadline, now + WATCH_POLL_NS);

		wall_arm(tm);
		struct pollfd pfd[3] = { { tm->sigfd, POLLIN, 0 }, { tm->inofd, POLLIN, 0 },
			{ tm->wallfd, POLLIN, 0 } };
		if (box_poll_until(pfd, 3, deadline) < 0)
			box_fatal_errno("unable to poll");
		if (pfd[0].revents)
			handle_signals(tm);
		if (tm->inofd >= 0 && pfd[1].revents)
			watch_drain(tm);
		else if (tm->watch_path && tm->inofd < 0)
			check_watch(tm);
		if (tm->wallfd >= 0 && pfd[2].revents)
			wall_drain(tm);
	}
}

static int print_next(const struct timer_cron *c, const char *expr, int64_t from, long long n)
{
	struct box_buf out = { 0 };

	for (long long i = 0; i < n; i++) {
		from = cron_next(c, from);
		if (from < 0) {
			if (!i)
				box_usage("invalid cron expression '%s': it never fires", expr);
			break;
		}
		format_iso(&out, from);
	}
	if (box_write_all(1, out.p, out.len) < 0)
		box_fatal_errno("unable to write");
	box_buf_free(&out);
	return 0;
}

enum {
	OPT_NEXT = 256, OPT_FROM, OPT_OVERLAP, OPT_CANCEL, OPT_PRESERVE, OPT_FOREGROUND,
};

static const struct box_opt opts[] = {
	{ 'd', 'd', "delay", 1 },
	{ 'i', 'i', "interval", 1 },
	{ 'n', 'n', "count", 1 },
	{ 'c', 'c', "cron", 1 },
	{ OPT_NEXT, 0, "next", 1 },
	{ OPT_FROM, 0, "from", 1 },
	{ OPT_OVERLAP, 0, "overlap", 1 },
	{ OPT_CANCEL, 0, "cancel-if-missing", 1 },
	{ 't', 't', "timeout", 1 },
	{ 'k', 'k', "kill-after", 1 },
	{ 's', 's', "signal", 1 },
	{ OPT_PRESERVE, 0, "preserve-status", 0 },
	{ OPT_FOREGROUND, 0, "foreground", 0 },
	{ 0 },
};

static enum overlap parse_overlap(const char *s)
{
	if (!strcmp(s, "skip"))
		return OVERLAP_SKIP;
	if (!strcmp(s, "wait"))
		return OVERLAP_WAIT;
	if (!strcmp(s, "kill"))
		return OVERLAP_KILL;
	box_usage("invalid overlap mode '%s': expected skip, wait or kill", s);
}

static int timer_main(int argc, char **argv)
{
	struct timer tm = { .delay = -1, .interval = -1, .timeout = -1, .kill_after = -1,
		.count = -1, .signal = SIGTERM, .sigfd = -1, .inofd = -1, .wallfd = -1,
		.wall_armed = -1 };
	const char *cron_expr = NULL, *from_arg = NULL;
	long long next = 0;
	int have_signal = 0, have_overlap = 0;
	struct box_getopt g;
	int c;

	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, opts)) != -1) {
		switch (c) {
		case 'd': tm.delay = box_xparse_duration("delay", g.arg); break;
		case 'i': tm.interval = box_xparse_duration("interval", g.arg); break;
		case 'n': tm.count = box_xparse_ll("count", g.arg, 1, LLONG_MAX); break;
		case 'c': cron_expr = g.arg; break;
		case OPT_NEXT: next = box_xparse_ll("--next count", g.arg, 1, 100000); break;
		case OPT_FROM: from_arg = g.arg; break;
		case OPT_OVERLAP: tm.overlap = parse_overlap(g.arg); have_overlap = 1; break;
		case OPT_CANCEL: tm.watch_path = g.arg; break;
		case 't': tm.timeout = box_xparse_duration("timeout", g.arg); break;
		case 'k': tm.kill_after = box_xparse_duration("kill-after", g.arg); break;
		case 's': tm.signal = box_xsignum("signal", g.arg); have_signal = 1; break;
		case OPT_PRESERVE: tm.preserve = 1; break;
		case OPT_FOREGROUND: tm.foreground = 1; break;
		}
	}
	tm.argv = argv + g.ind;

	if (cron_expr) {
		char err[160];
		if (tm.delay >= 0 || tm.interval >= 0)
			box_usage("-c cannot be combined with -d or -i");
		if (timer_cron_parse(cron_expr, &tm.cron, err, sizeof(err)))
			box_usage("invalid cron expression '%s': %s", cron_expr, err);
		tm.have_cron = 1;
	}
	if (from_arg && !next)
		box_usage("--from needs --next");
	if (next) {
		int64_t from = box_wall_ns() / BOX_NSEC;
		if (!cron_expr)
			box_usage("--next needs -c");
		if (from_arg && parse_time(from_arg, &from))
			box_usage("invalid time '%s': expected YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] or @SECONDS",
				from_arg);
		return print_next(&tm.cron, cron_expr, from, next);
	}
	if (tm.interval == 0)
		box_usage("invalid interval '0': must be more than 0");
	if (tm.count > 0 && tm.interval < 0 && !cron_expr)
		box_usage("-n needs -i or -c");
	if (tm.kill_after >= 0 && tm.timeout < 0 && tm.overlap != OVERLAP_KILL)
		box_usage("-k needs -t or --overlap kill");
	if (have_signal && tm.timeout < 0 && tm.overlap != OVERLAP_KILL)
		box_usage("-s needs -t or --overlap kill");
	if (tm.preserve && tm.timeout < 0)
		box_usage("--preserve-status needs -t");
	if (have_overlap && tm.interval < 0 && !cron_expr)
		box_usage("--overlap needs -i or -c");
	if (tm.delay < 0 && tm.interval < 0 && !cron_expr && tm.timeout < 0)
		box_usage("nothing to do: give -d, -i, -c or -t");
	if (tm.watch_path && tm.delay < 0 && tm.interval < 0 && !cron_expr)
		box_usage("--cancel-if-missing needs -d, -i or -c");
	if (!tm.argv[0])
		box_usage("no command given");

	if (tm.interval < 0 && !cron_expr)
		tm.count = 1;
	tm.start = box_now_ns() + (tm.delay > 0 ? tm.delay : 0);
	if (cron_expr) {
		tm.next_wall = cron_next(&tm.cron, box_wall_ns() / BOX_NSEC);
		if (tm.next_wall < 0)
			box_usage("invalid cron expression '%s': it never fires", cron_expr);
		wall_open(&tm);
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	tm.sigfd = box_sigfd_open(&set);
	if (tm.sigfd < 0)
		box_fatal_errno("unable to receive signals");
	if (tm.watch_path) {
		watch_open(&tm);
		check_watch(&tm);
	}
	return timer_loop(&tm);
}

const struct applet applet_timer = {
	"timer", timer_main, usage, help, EXIT_FAIL, EXIT_FAIL,
};
