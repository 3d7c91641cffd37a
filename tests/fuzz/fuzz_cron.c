/* Fuzz target: the cron expression parser of timer and its next-fire-time
 * search. An accepted expression yields a fire time strictly after the
 * starting instant (or "never"), a second search from that time moves
 * forward again, and a rejected one always comes with a reason. The zone
 * has DST so the repeated and skipped hours are exercised. */
#include "../../applets/timer/cron.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "Europe/Berlin", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	/* 2026-03-29 00:30 UTC and 2026-10-25 00:10 UTC: just before the jumps */
	static const int64_t starts[] = { 1774744200, 1792887000 };
	char *s = malloc(size + 1), err[160];
	struct timer_cron c;

	memcpy(s, data, size);
	s[size] = 0;
	err[0] = 0;
	if (timer_cron_parse(s, &c, err, sizeof(err)) < 0) {
		assert(err[0]);
		free(s);
		return 0;
	}
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		int64_t next = timer_cron_next(&c, starts[i], starts[i]);
		assert(next == TIMER_CRON_NONE || next > starts[i]);
		if (next != TIMER_CRON_NONE) {
			int64_t again = timer_cron_next(&c, next, starts[i]);
			assert(again == TIMER_CRON_NONE || again > next);
		}
	}
	free(s);
	return 0;
}
