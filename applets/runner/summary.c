/* The end of a run: jobs left waiting for a retry, the summary line, one
 * line per job that failed, and the exit status. */
#include "runner.h"

#include <stdio.h>

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

/* A job waiting for a retry when runner stopped ends as it last did. */
static void finish_leftovers(struct runner *r)
{
	for (int i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];
		if (j->state == WAITING && j->tries) {
			j->state = FINISHED;
			log_job(r, j);
			if (!r->keep_order)
				print_job(r, j);
		}
	}
	if (r->keep_order)
		for (; r->next_print < r->njobs; r->next_print++)
			if (r->jobs[r->next_print].state == FINISHED)
				print_job(r, &r->jobs[r->next_print]);
}

static void summary_line(struct runner *r, const int count[OUTCOMES], int started,
	int not_started)
{
	struct box_buf b = { 0 };

	box_buf_printf(&b, "%d job%s: %d ok, %d failed", started, started == 1 ? "" : "s",
		count[OK], count[FAILED]);
	if (count[TIMED_OUT])
		box_buf_printf(&b, ", %d timed out", count[TIMED_OUT]);
	if (count[UNREACHABLE])
		box_buf_printf(&b, ", %d unreachable", count[UNREACHABLE]);
	if (not_started)
		box_buf_printf(&b, ", %d not started", not_started);
	if (r->interrupted && !r->own_error)
		box_buf_printf(&b, " (stopped by SIG%s)", box_signame(r->interrupted));
	box_warn("%s", b.p);
	box_buf_free(&b);
}

int summarize(struct runner *r)
{
	int count[OUTCOMES] = { 0 }, started = 0, not_started = 0;

	finish_leftovers(r);
	for (int i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];
		if (j->state == FINISHED) {
			count[j->outcome]++;
			started++;
		} else {
			not_started++;
		}
	}
	int full = started > 1 || not_started;
	if (full)
		summary_line(r, count, started, not_started);
	for (int i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];
		if (j->state != FINISHED)
			continue;
		if (j->outcome == FAILED && full)
			report_failure(j);
		else if (j->outcome == TIMED_OUT)
			job_problem(j, "timed out", "");
		else if (j->outcome == UNREACHABLE)
			job_problem(j, "unreachable", " (ssh exited 255 before the remote command started)");
	}
	if (r->own_error)
		return 255;
	int bad = started - count[OK] + (r->interrupted ? not_started : 0);
	return bad > 100 ? 101 : bad;
}
