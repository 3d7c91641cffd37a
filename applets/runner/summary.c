/* The end of a run: jobs left waiting for a retry, the summary line, one
 * line per job that failed (in input order), and the exit status. */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>

static void job_problem(struct job *j, const char *what, const char *why)
{
	if (j->host)
		box_warn("%s: %s: %s%s", what, j->host, j->cmd, why);
	else
		box_warn("%s: %s%s", what, j->cmd, why);
}

static void report_failure(struct job *j)
{
	char how[160];

	box_fmt_status(how, sizeof(how), j->status);
	if (j->host)
		box_warn("failed: %s: %s (%s)", j->host, j->cmd, how);
	else
		box_warn("failed: %s (%s)", j->cmd, how);
}

static void summary_line(struct runner *r, const long long count[OUTCOMES],
	long long started, long long not_started)
{
	struct box_buf b = { 0 };

	box_buf_printf(&b, "%lld job%s: %lld ok, %lld failed", started, started == 1 ? "" : "s",
		count[OK], count[FAILED]);
	if (count[TIMED_OUT])
		box_buf_printf(&b, ", %lld timed out", count[TIMED_OUT]);
	if (count[UNREACHABLE])
		box_buf_printf(&b, ", %lld unreachable", count[UNREACHABLE]);
	if (not_started)
		box_buf_printf(&b, ", %lld not started", not_started);
	if (r->skipped)
		box_buf_printf(&b, ", %lld done before (--resume)", r->skipped);
	if (r->input_left)
		box_buf_adds(&b, ", the rest of the input not read");
	if (r->interrupted && !r->own_error)
		box_buf_printf(&b, " (stopped by SIG%s)", box_signame(r->interrupted));
	box_warn("%s", b.p);
	box_buf_free(&b);
}

static int by_seq(const void *a, const void *b)
{
	long long x = (*(struct job *const *)a)->seq, y = (*(struct job *const *)b)->seq;
	return (x > y) - (x < y);
}

int summarize(struct runner *r)
{
	long long started = 0, not_started;

	end_jobs(r);
	not_started = r->not_started;
	for (int i = 0; i < OUTCOMES; i++)
		started += r->count[i];
	int full = started > 1 || not_started || r->input_left || r->skipped;
	if (full)
		summary_line(r, r->count, started, not_started);
	if (r->nfailed)
		qsort(r->failed, r->nfailed, sizeof(*r->failed), by_seq);
	for (size_t i = 0; i < r->nfailed; i++) {
		struct job *j = r->failed[i];
		if (j->outcome == FAILED && full)
			report_failure(j);
		else if (j->outcome == TIMED_OUT)
			job_problem(j, "timed out", "");
		else if (j->outcome == UNREACHABLE)
			job_problem(j, "unreachable", " (ssh exited 255 before the remote command started)");
	}
	if (r->own_error)
		return 255;
	/* an interrupt before the end of the input fails the run */
	long long bad = started - r->count[OK] +
		(r->interrupted ? not_started + (!not_started && r->input_left) : 0);
	return bad > 100 ? 101 : (int)bad;
}
