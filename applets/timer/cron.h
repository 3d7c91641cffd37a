/* timer's cron engine (cron.c): what timer, the unit tests and the fuzz
 * target use of it. Times are seconds since the epoch; local time is the
 * zone of TZ. */
#ifndef TIMER_CRON_H
#define TIMER_CRON_H

#include "../../libbox/box.h"

struct timer_cron {
	uint64_t minute;      /* bit n set: minute n matches */
	uint32_t hour, dom, month;
	uint32_t dow;         /* bits 0-6, Sunday is 0 (7 is folded onto it) */
	/* A field starting with '*' is "unrestricted" for the day-of-month /
	 * day-of-week rule (as in Vixie cron and cronie); a minute or hour
	 * field starting with '*' makes a "wildcard" job, which follows the
	 * clock through DST changes instead of being caught up once. */
	int dom_star, dow_star, wild;
};

/* A 5-field expression or an @macro: 0, or -1 with the reason in err
 * ("hour: 24 out of range 0-23", "minute: unexpected 'x' at character 2"). */
int timer_cron_parse(const char *expr, struct timer_cron *c, char *err, size_t errlen);
/* The next fire time strictly after the instant `after` (searched over
 * the 400 years after which the calendar repeats), or TIMER_CRON_NONE;
 * `since` is when the schedule started to be followed (see cron.c). */
int64_t timer_cron_next(const struct timer_cron *c, int64_t after, int64_t since);
/* What timer_cron_next returns when the expression never fires: every
 * other value, before 1970 too, is a time. */
#define TIMER_CRON_NONE INT64_MIN

/* YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM|-HH:MM|+HHMM] (local time without an
 * offset), or @SECONDS since the epoch: 0, or -1 when invalid. */
int timer_parse_time(const char *s, int64_t *out);
/* Appends t as local ISO 8601 with the offset and a newline:
 * "2026-03-29T03:00:00+02:00\n". */
void timer_format_time(struct box_buf *b, int64_t t);

#endif
