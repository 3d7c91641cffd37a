/* timer's cron engine as tables: an expression, a zone and a starting
 * instant give the next fire times; a bad expression gives its reason,
 * naming the field and the character. The cases are those of
 * tests/timer.bats (--next), without a process per case. */
#include "../../applets/timer/cron.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cron_case {
	const char *tz, *expr, *from;
	const char *next;        /* the next fire times, one a line */
};

static const struct cron_case cron_cases[] = {
	{ "UTC", "0 0 29 2 *", "2026-01-01T00:00:00Z",
	  "2028-02-29T00:00:00+00:00\n2032-02-29T00:00:00+00:00\n2036-02-29T00:00:00+00:00\n" },
	{ "UTC", "5,10-12,50-59/4 */8 * * *", "2026-06-01T00:00Z",
	  "2026-06-01T00:05:00+00:00\n2026-06-01T00:10:00+00:00\n2026-06-01T00:11:00+00:00\n"
	  "2026-06-01T00:12:00+00:00\n2026-06-01T00:50:00+00:00\n2026-06-01T00:54:00+00:00\n"
	  "2026-06-01T00:58:00+00:00\n2026-06-01T08:05:00+00:00\n" },
	{ "UTC", "0 20/2 * * *", "2026-06-01T00:00Z",
	  "2026-06-01T20:00:00+00:00\n2026-06-01T22:00:00+00:00\n2026-06-02T20:00:00+00:00\n" },
	/* names in any case; Dec 30 2026 is a Wednesday */
	{ "UTC", "30 9 * JAN,dec Mon-Fri", "2026-12-30T12:00Z",
	  "2026-12-31T09:30:00+00:00\n2027-01-01T09:30:00+00:00\n2027-01-04T09:30:00+00:00\n" },
	/* day of week 7 is Sunday like 0 */
	{ "UTC", "0 12 * * 7", "2026-06-01T00:00Z", "2026-06-07T12:00:00+00:00\n" },
	{ "UTC", "0 12 * * 5-7", "2026-06-01T00:00Z",
	  "2026-06-05T12:00:00+00:00\n2026-06-06T12:00:00+00:00\n2026-06-07T12:00:00+00:00\n" },
	/* day of month OR day of week when both are restricted */
	{ "UTC", "30 4 1,15 * fri", "2026-04-30T00:00Z",
	  "2026-05-01T04:30:00+00:00\n2026-05-08T04:30:00+00:00\n2026-05-15T04:30:00+00:00\n"
	  "2026-05-22T04:30:00+00:00\n2026-05-29T04:30:00+00:00\n2026-06-01T04:30:00+00:00\n" },
	/* a day field starting with '*' makes it AND */
	{ "UTC", "0 0 */2 * mon", "2026-06-01T00:00Z",
	  "2026-06-15T00:00:00+00:00\n2026-06-29T00:00:00+00:00\n2026-07-13T00:00:00+00:00\n" },
	{ "UTC", "0 0 13 * *", "2026-06-01T00:00Z", "2026-06-13T00:00:00+00:00\n" },
	/* the @ macros */
	{ "UTC", "@yearly", "2026-06-01T10:30Z", "2027-01-01T00:00:00+00:00\n" },
	{ "UTC", "@annually", "2026-06-01T10:30Z", "2027-01-01T00:00:00+00:00\n" },
	{ "UTC", "@monthly", "2026-06-01T10:30Z", "2026-07-01T00:00:00+00:00\n" },
	{ "UTC", "@weekly", "2026-06-01T10:30Z", "2026-06-07T00:00:00+00:00\n" },
	{ "UTC", "@daily", "2026-06-01T10:30Z", "2026-06-02T00:00:00+00:00\n" },
	{ "UTC", "@midnight", "2026-06-01T10:30Z", "2026-06-02T00:00:00+00:00\n" },
	{ "UTC", "@hourly", "2026-06-01T10:30Z", "2026-06-01T11:00:00+00:00\n" },
	{ "UTC", "  @Daily  ", "2026-06-01T10:30Z", "2026-06-02T00:00:00+00:00\n" },
	/* local time follows TZ */
	{ "America/New_York", "0 6 * * *", "2026-06-01T00:00Z",
	  "2026-06-01T06:00:00-04:00\n2026-06-02T06:00:00-04:00\n" },
	{ "Asia/Kolkata", "0 6 * * *", "2026-06-01T00:00Z", "2026-06-01T06:00:00+05:30\n" },
	/* DST, Berlin: the skipped hour runs once right after the jump */
	{ "Europe/Berlin", "30 2 * * *", "2026-03-28T12:00",
	  "2026-03-29T03:00:00+02:00\n2026-03-30T02:30:00+02:00\n2026-03-31T02:30:00+02:00\n" },
	{ "Europe/Berlin", "*/15 * * * *", "2026-03-29T01:40",
	  "2026-03-29T01:45:00+01:00\n2026-03-29T03:00:00+02:00\n2026-03-29T03:15:00+02:00\n"
	  "2026-03-29T03:30:00+02:00\n" },
	/* the repeated hour runs once, an hourly job in both passes */
	{ "Europe/Berlin", "30 2 * * *", "2026-10-24T12:00",
	  "2026-10-25T02:30:00+02:00\n2026-10-26T02:30:00+01:00\n2026-10-27T02:30:00+01:00\n" },
	{ "Europe/Berlin", "30 2 * * *", "2026-10-25T02:45+01:00", "2026-10-26T02:30:00+01:00\n" },
	{ "Europe/Berlin", "0 * * * *", "2026-10-25T01:30",
	  "2026-10-25T02:00:00+02:00\n2026-10-25T02:00:00+01:00\n2026-10-25T03:00:00+01:00\n"
	  "2026-10-25T04:00:00+01:00\n" },
	/* DST, New York */
	{ "America/New_York", "15 2 * * *", "2026-03-07T12:00",
	  "2026-03-08T03:00:00-04:00\n2026-03-09T02:15:00-04:00\n" },
	{ "America/New_York", "15 1 * * *", "2026-10-31T12:00",
	  "2026-11-01T01:15:00-04:00\n2026-11-02T01:15:00-05:00\n" },
	/* --from: offsets, Z, local times and @SECONDS */
	{ "UTC", "0 * * * *", "2026-06-01T10:30:00+02:00", "2026-06-01T09:00:00+00:00\n" },
	{ "UTC", "0 * * * *", "2026-06-01T10:30-0130", "2026-06-01T13:00:00+00:00\n" },
	{ "UTC", "0 * * * *", "@0", "1970-01-01T01:00:00+00:00\n" },
	{ "UTC", "0 0 * * *", "2026-06-01", "2026-06-02T00:00:00+00:00\n" },
	/* never: the list ends */
	{ "UTC", "0 0 30 2 *", "2026-01-01T00:00Z", "" },
	{ "UTC", "0 0 31 4,6,9,11 *", "2026-01-01T00:00Z", "" },
};

struct cron_error_case {
	const char *expr, *err;
};

static const struct cron_error_case cron_errors[] = {
	{ "61 * * * *", "minute: 61 out of range 0-59" },
	{ "* 24 * * *", "hour: 24 out of range 0-23" },
	{ "* * 0 * *", "day of month: 0 out of range 1-31" },
	{ "* * 32 * *", "day of month: 32 out of range 1-31" },
	{ "* * * 13 *", "month: 13 out of range 1-12" },
	{ "* * * * 8", "day of week: 8 out of range 0-7" },
	{ "1x * * * *", "minute: unexpected 'x' at character 2" },
	{ "* 1-  * * *", "hour: unexpected end of field at character 5" },
	{ "* * 1,,2 * *", "day of month: unexpected ',' at character 7" },
	{ "* * * foo *", "month: unknown name 'foo' at character 7" },
	{ "* * * * monday", "day of week: unknown name 'monday' at character 9" },
	{ "* * * * */0", "day of week: step 0 out of range 1-7" },
	{ "*/60 * * * *", "minute: step 60 out of range 1-59" },
	{ "* 5-1 * * *", "hour: range 5-1 goes backwards" },
	{ "jan * * * *", "minute: unexpected 'j' at character 1" },
	{ "* * * * 1/", "day of week: unexpected end of field at character 11" },
	{ "* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4" },
	{ "* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6" },
	{ "", "expected 5 fields (minute hour day-of-month month day-of-week), got 0" },
	{ "@reboot", "unknown macro '@reboot' (expected @yearly, @annually, @monthly, "
	  "@weekly, @daily, @midnight or @hourly)" },
	{ "@daily 5", "@daily takes no fields after it" },
};

/* What --from refuses. */
static const char *const bad_times[] = {
	"2026-13-01", "2026-02-30", "2026-06-01T25:00", "2026-06-01T10:00+2", "yesterday", "@x",
};

static void set_tz(const char *tz)
{
	if (tz)
		setenv("TZ", tz, 1);
	else
		unsetenv("TZ");
	tzset();
}

/* The next n fire times, as --next prints them. */
static void next_times(const struct timer_cron *c, int64_t from, int n, struct box_buf *out)
{
	int64_t since = from;
	for (int i = 0; i < n; i++) {
		from = timer_cron_next(c, from, since);
		if (from == TIMER_CRON_NONE)
			break;
		timer_format_time(out, from);
	}
}

UNIT_GROUP(cron, "cron")
{
	char *saved = getenv("TZ") ? box_xstrdup(getenv("TZ")) : NULL;
	char err[160];

	for (size_t i = 0; i < BOX_ARRAY_LEN(cron_cases); i++) {
		const struct cron_case *k = &cron_cases[i];
		struct timer_cron c;
		struct box_buf out = { 0 };
		int64_t from;

		set_tz(k->tz);
		CHECK(timer_cron_parse(k->expr, &c, err, sizeof(err)) == 0);
		CHECK(timer_parse_time(k->from, &from) == 0);
		int lines = 0;
		for (const char *p = k->next; *p; p++)
			lines += *p == '\n';
		/* an empty list: not even the first is found */
		next_times(&c, from, lines ? lines : 1, &out);
		int ok = !strcmp(out.p ? out.p : "", k->next);
		if (!ok)
			fprintf(stderr, "cron '%s' from %s in %s:\n%s", k->expr, k->from, k->tz,
				out.p ? out.p : "(never)\n");
		CHECK(ok);
		box_buf_free(&out);
	}
	set_tz("UTC");
	for (size_t i = 0; i < BOX_ARRAY_LEN(cron_errors); i++) {
		struct timer_cron c;
		err[0] = 0;
		CHECK(timer_cron_parse(cron_errors[i].expr, &c, err, sizeof(err)) == -1);
		if (strcmp(err, cron_errors[i].err))
			fprintf(stderr, "cron '%s': %s\n", cron_errors[i].expr, err);
		CHECK(!strcmp(err, cron_errors[i].err));
	}
	for (size_t i = 0; i < BOX_ARRAY_LEN(bad_times); i++) {
		int64_t t;
		CHECK(timer_parse_time(bad_times[i], &t) == -1);
	}
	set_tz(saved);
	free(saved);
}
