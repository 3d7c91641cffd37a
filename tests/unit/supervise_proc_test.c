/* supervise's list of what the programs left behind (applets/supervise/
 * proc.c): the pids of /proc/self/task/TID/children, however long the
 * file, and never a number cut at the end of what was read. */
#include "../../applets/supervise/supervise.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static void pids_text(const struct pid_list *l, struct box_buf *b)
{
	box_buf_adds(b, "");
	for (size_t i = 0; i < l->n; i++)
		box_buf_printf(b, "%s%d", i ? " " : "", (int)l->v[i]);
}

UNIT_GROUP(supervise_pids, "supervise-pids")
{
	static const struct { const char *in, *want; } cases[] = {
		{ "", "" },
		{ "\n", "" },
		{ "12 345 ", "12 345" },
		{ "12 345\n", "12 345" },
		{ "4194303 ", "4194303" },
		/* the last number has no end: it may be cut, never taken */
		{ "12 345", "12" },
		{ "12 34", "12" },
		{ "7", "" },
		/* not pids: skipped; junk ends the list */
		{ "0 -5 99999999999 13 ", "13" },
		{ "12 x 13 ", "12" },
	};

	for (size_t i = 0; i < BOX_ARRAY_LEN(cases); i++) {
		struct pid_list l = { 0 };
		struct box_buf got = { 0 };
		pids_parse(cases[i].in, &l);
		pids_text(&l, &got);
		if (strcmp(got.p, cases[i].want))
			fprintf(stderr, "pids case %zu: got '%s', want '%s'\n", i, got.p,
				cases[i].want);
		CHECK(!strcmp(got.p, cases[i].want));
		free(l.v);
		box_buf_free(&got);
	}

	/* 5000 seven-digit pids (far past 8 KiB and 1024 entries), the last
	 * cut to its first three digits: 4999 taken, all whole */
	struct box_buf in = { 0 };
	struct pid_list l = { 0 };
	for (int i = 0; i < 5000; i++)
		box_buf_printf(&in, "%d ", 1000000 + i);
	in.len -= 5;
	in.p[in.len] = 0;
	pids_parse(in.p, &l);
	CHECK(l.n == 4999);
	int whole = 1;
	for (size_t i = 0; i < l.n; i++)
		whole &= l.v[i] == (pid_t)(1000000 + i);
	CHECK(whole);
	free(l.v);
	box_buf_free(&in);
}
