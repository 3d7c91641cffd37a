/* runner's jobs: making them from the input (each record on each host, as
 * they are needed), starting one in its own process group (directly, by
 * /bin/sh -c or over ssh), deciding what starts next (retries first, then
 * new jobs, N at a time, -d apart), timing it out, reaping it, and freeing
 * it once it is printed and logged. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const outcome_text[OUTCOMES] = { "ok", "failed", "timed out", "unreachable" };

/* "start 3/10", or "start 3" while the number of jobs is not known. */
void job_msg(struct runner *r, struct job *j, const char *what)
{
	int64_t t = box_now_ns() - r->t0;
	long long total = input_total(&r->in);
	char of[32] = "";

	if (total >= 0)
		snprintf(of, sizeof(of), "/%lld", total * (long long)(r->nhosts ? r->nhosts : 1));
	box_warn("+%lld.%03llds %s %lld%s%s%s: %s", (long long)(t / BOX_NSEC),
		(long long)(t % BOX_NSEC / 1000000), what, j->seq, of,
		j->host ? " on " : "", j->host ? j->host : "", j->cmd);
}

/* ---- the job source ------------------------------------------------------ */

/* The next job of the input, or NULL when the input has none yet
 * (r->want_input) or none left. A record runs on every host in turn; its
 * jobs are numbered (record - 1) * hosts + host + 1, records counted as
 * read, the skipped comments of a command file too, so that a job's
 * number is its line number when there are no hosts. */
static struct job *new_job(struct runner *r)
{
	size_t nh = r->nhosts ? r->nhosts : 1;
	char *rec;

	long long seq;

	for (;;) {
		if (!r->record) {
			int got = input_next(&r->in, &rec);
			if (r->in.failed)
				r->own_error = 1;
			if (got != IN_RECORD) {
				r->want_input = got == IN_WAIT;
				return NULL;
			}
			r->record = box_xstrdup(rec);
			r->record_host = 0;
			r->record_no = r->in.records;
		}
		seq = (r->record_no - 1) * (long long)nh + (long long)r->record_host + 1;
		if (!already_done(r, seq))
			break;
		r->skipped++;    /* --resume: the joblog has it */
		if (++r->record_host == nh) {
			free(r->record);
			r->record = NULL;
		}
	}
	struct job *j = box_xcalloc(1, sizeof(*j));
	j->r = r;
	j->seq = seq;
	j->host = r->nhosts ? r->hosts[r->record_host] : NULL;
	j->out[0].fd = j->out[1].fd = -1;
	char *text = ++r->record_host < nh ? box_xstrdup(r->record) : r->record;
	if (text == r->record)
		r->record = NULL;
	if (r->tpl)
		j->arg = text;
	else
		j->cmd = text;
	if (r->keep_order) {
		if (r->last_made && r->unprinted)
			r->last_made->later = j;
		else
			r->unprinted = j;
		r->last_made = j;
	}
	return j;
}

static void free_job(struct job *j)
{
	free(j->cmd);
	free(j->argv);
	free(j->arg);
	free(j);
}

/* A job printed and logged: gone, unless the summary names it. */
static void release_job(struct runner *r, struct job *j)
{
	if (j->outcome == OK) {
		free_job(j);
		return;
	}
	free(j->argv);
	free(j->arg);
	j->argv = NULL;
	j->arg = NULL;
	*BOX_PUSH(r->failed, r->nfailed, r->failed_cap) = j;
}

/* -k prints every finished job that has no unfinished job before it
 * (one that never started, when runner stopped, has nothing to print). */
static void print_in_order(struct runner *r)
{
	struct job *j;

	while ((j = r->unprinted) && j->state == FINISHED) {
		r->unprinted = j->later;
		if (!j->tries) {
			free_job(j);
			continue;
		}
		print_job(r, j);
		release_job(r, j);
	}
}

/* Finished for good: counted, logged, printed now or (-k) when its turn
 * comes, then freed. */
static void job_done(struct runner *r, struct job *j)
{
	j->state = FINISHED;
	r->count[j->outcome]++;
	log_job(r, j);
	if (r->keep_order) {
		print_in_order(r);
		return;
	}
	print_job(r, j);
	release_job(r, j);
}

static void retry_push(struct runner *r, struct job *j)
{
	j->next = NULL;
	if (r->retry_tail)
		r->retry_tail->next = j;
	else
		r->retry_head = j;
	r->retry_tail = j;
}

static struct job *retry_pop(struct runner *r)
{
	struct job *j = r->retry_head;

	if (j && !(r->retry_head = j->next))
		r->retry_tail = NULL;
	return j;
}

static const char *restore_nofile(void *ctx)
{
	prlimit(0, RLIMIT_NOFILE, ctx, NULL);   /* a bare system call: see box_spawn */
	return NULL;
}

static char **job_argv(struct runner *r, struct job *j, int direct, char **words, char **remote)
{
	if (j->host)
		return remote_argv(r, j, remote);
	if (direct && words)
		return words;
	char **argv = box_xcalloc(4, sizeof(char *));
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = (char *)j->cmd;
	return argv;
}

static void forget_program(struct runner *r)
{
	free(r->which_name);
	r->which_name = NULL;
}

/* Where PATH has the program name, found once for a run of jobs of the
 * same program (as a shell hashes it); NULL to let the exec search. */
static const char *find_program(struct runner *r, const char *name)
{
	if (r->which_name && !strcmp(r->which_name, name))
		return r->which_path;
	forget_program(r);
	if (box_which(name, r->which_path, sizeof(r->which_path)) < 0)
		return NULL;
	r->which_name = box_xstrdup(name);
	return r->which_path;
}

/* Starts the job's first process in a new process group. Returns the
 * pid, or -1 after an exec failure (reported in the job's stderr). A
 * simple command, or a template's words, that is not found as a program
 * goes to the shell, which knows builtins like exit and cd and reports
 * "not found" its usual way. */
static pid_t spawn_job(struct runner *r, struct job *j, int fdout, int fderr)
{
	struct box_spawn sp = { .fd_in = j->host ? r->ssh_stdin : r->devnull,
		.fd_out = fdout, .fd_err = fderr, .pgroup = j->host ? -1 : 0,
		.setsid = j->host != NULL, .inherit_fds = 1 };
	struct box_spawn_error e;
	char **split = NULL, **words = j->argv, *remote = NULL;
	const char *err;
	int direct = !j->host && (words || (box_is_simple_command(j->cmd) &&
		box_split(j->cmd, &split, &err) > 0));
	pid_t pid;

	if (!words)
		words = split;
	if (r->nofile_raised) {
		sp.setup = restore_nofile;
		sp.ctx = &r->nofile;
	}
	for (int found = 1;;) {
		char **argv = job_argv(r, j, direct, words, &remote);
		sp.argv = argv;
		sp.file = found && direct && argv == words ? find_program(r, argv[0]) : NULL;
		pid = box_spawn(&sp, &e);
		if (argv != words)
			free(argv);
		if (pid < 0 && e.err && sp.file) {
			/* gone since it was found, or it cannot run: once more
			 * with the search, which reports why */
			forget_program(r);
			found = 0;
			continue;
		}
		if (pid >= 0 || !e.err || !direct || e.err != ENOENT || strcmp(e.what, "execute"))
			break;
		direct = 0;
	}
	free(split);
	free(remote);
	if (pid < 0 && !e.err) {
		box_warn_errno("unable to start a job");
		r->own_error = 1;
		return -1;
	}
	if (pid < 0) {
		size_t n = strlen(box_applet->name) + strlen(j->cmd) + 256;
		char *msg = box_xmalloc(n);
		size_t at = (size_t)snprintf(msg, n, "%s: ", box_applet->name);
		box_fmt_spawn_error(msg + at, n - at, j->cmd, &e);
		strcat(msg, "\n");
		sink_add(r, j, 1, msg, strlen(msg));
		free(msg);
		j->status = box_exec_fail_code(e.err) << 8;
	}
	return pid;
}

static int job_outcome(struct job *j)
{
	if (j->timed_out)
		return TIMED_OUT;
	if (j->host && WIFEXITED(j->status) && WEXITSTATUS(j->status) == 255 &&
	    j->sentinel_pending)
		return UNREACHABLE;
	return WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0 ? OK : FAILED;
}

int stopping(struct runner *r)
{
	return r->halting || r->interrupted || r->own_error;
}

static void finish_job(struct runner *r, struct job *j)
{
	j->end_ns = box_now_ns();
	j->outcome = job_outcome(j);
	if (r->verbose)
		job_msg(r, j, outcome_text[j->outcome]);
	int retries = r->retry_unreachable && !r->retries ? 1 : r->retries;
	if (j->outcome != OK && j->tries <= retries && !stopping(r) &&
	    (!r->retry_unreachable || j->outcome == UNREACHABLE)) {
		j->state = WAITING;
		retry_push(r, j);
		return;
	}
	if (j->outcome != OK && r->halt)
		r->halting = 1;
	job_done(r, j);
}

/* Pipes for the job's stdout and stderr; a failure stops runner after
 * the running jobs, it does not abandon them. */
static int job_pipes(struct runner *r, int po[2], int pe[2])
{
	if (pipe2(po, O_CLOEXEC) == 0) {
		if (pipe2(pe, O_CLOEXEC) == 0)
			return 0;
		box_close(po[0]);
		box_close(po[1]);
	}
	box_warn_errno("unable to create a pipe");
	r->own_error = 1;
	return -1;
}

/* A template's command is made when the job starts: {%} is its slot. */
static void start_job(struct runner *r, struct job *j)
{
	int po[2], pe[2];

	if (job_pipes(r, po, pe) < 0) {
		retry_push(r, j);
		return;
	}
	j->slot = r->free_slots[--r->nfree];
	if (r->tpl) {
		free(j->cmd);
		free(j->argv);
		j->cmd = template_expand(r->tpl, r->tpl_direct, j, &j->argv);
	}
	sink_reset(&j->out[0]);
	sink_reset(&j->out[1]);
	j->tries++;
	j->timed_out = j->killed = 0;
	j->sentinel_pending = j->host != NULL;
	j->start_ns = box_now_ns();
	j->start_wall_ns = box_wall_ns();
	j->deadline_ns = r->timeout_ns ? j->start_ns + r->timeout_ns : -1;
	j->kill_at_ns = -1;
	if (r->verbose)
		job_msg(r, j, j->tries > 1 ? "retry" : "start");
	j->pid = spawn_job(r, j, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	j->out[0].fd = po[0];
	j->out[1].fd = pe[0];
	if (j->pid < 0) {
		close(po[0]);
		close(pe[0]);
		j->out[0].fd = j->out[1].fd = -1;
		r->free_slots[r->nfree++] = j->slot;
		if (r->own_error) {
			j->tries--;
			j->state = WAITING;
			retry_push(r, j);
			return;
		}
		finish_job(r, j);
		return;
	}
	/* a new pipe's read end has no other status flag to keep */
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	j->state = RUNNING;
	r->running[r->nrunning++] = j;
}

static struct job *next_job(struct runner *r)
{
	struct job *j = retry_pop(r);

	return j ? j : new_job(r);
}

/* Retries, the hosts left for the current record, or input not yet at
 * its end. */
int more_to_start(struct runner *r)
{
	return !stopping(r) && (r->retry_head || r->record || input_total(&r->in) < 0 ||
		r->in.item < r->in.nitems);
}

/* Starts jobs while slots are free; r->want_input says that the loop
 * must wait for the input before more can start. */
void start_ready(struct runner *r)
{
	r->want_input = 0;
	while (r->nrunning < r->maxjobs && more_to_start(r)) {
		int64_t now = box_now_ns();
		if (r->delay_ns && now < r->next_start_ns)
			return;
		struct job *j = next_job(r);
		if (!j)
			return;
		start_job(r, j);
		r->next_start_ns = now + r->delay_ns;
	}
}

/* Sends sig to the job's process group; a job that was stopped by runner
 * gets SIGKILL after the grace period or when its first process exits. */
static void kill_job(struct job *j, int sig)
{
	if (kill(-j->pid, sig) < 0 && errno == ESRCH)
		kill(j->pid, sig);
	j->killed = 1;
	if (sig != SIGKILL && j->kill_at_ns < 0)
		j->kill_at_ns = box_now_ns() + KILL_GRACE_NS;
}

static void job_exited(struct runner *r, struct job *j, int status)
{
	for (int i = 0; i < r->nrunning; i++)
		if (r->running[i] == j)
			r->running[i] = r->running[--r->nrunning];
	r->free_slots[r->nfree++] = j->slot;
	j->status = status;
	/* what is left of a stopped job must not outlive it */
	if (j->killed)
		kill(-j->pid, SIGKILL);
	/* the pipes are drained, not read to EOF: a background process the
	 * job left behind may hold them open for ever */
	for (int i = 0; i < 2; i++)
		if (j->out[i].fd >= 0 && sink_read(r, j, i)) {
			close(j->out[i].fd);
			j->out[i].fd = -1;
		}
	finish_job(r, j);
}

/* Both pipes at EOF: the job is exiting, and may be reaped now, without
 * another wait for its SIGCHLD. */
void reap_job(struct runner *r, struct job *j)
{
	int status;

	if (j->pid > 0 && box_waitpid(j->pid, &status, WNOHANG) == j->pid)
		job_exited(r, j, status);
}

void reap(struct runner *r)
{
	int status;
	pid_t pid;

	while ((pid = box_waitpid(-1, &status, WNOHANG)) > 0)
		for (int i = 0; i < r->nrunning; i++)
			if (r->running[i]->pid == pid) {
				job_exited(r, r->running[i], status);
				break;
			}
}

void stop_all(struct runner *r, int sig)
{
	for (int i = 0; i < r->nrunning; i++)
		kill_job(r->running[i], sig);
}

void check_deadlines(struct runner *r)
{
	int64_t now = box_now_ns();

	for (int i = 0; i < r->nrunning; i++) {
		struct job *j = r->running[i];
		if (j->kill_at_ns >= 0 && now >= j->kill_at_ns) {
			kill_job(j, SIGKILL);
			j->kill_at_ns = -1;
		}
		if (j->deadline_ns >= 0 && now >= j->deadline_ns) {
			j->deadline_ns = -1;
			j->timed_out = 1;
			if (r->verbose)
				job_msg(r, j, "timeout, stopping");
			kill_job(j, SIGTERM);
		}
	}
}

/* The next -d start, every job's timeout and kill grace: the nearest. */
int64_t next_deadline(struct runner *r)
{
	int64_t d = -1;

	if (r->delay_ns && r->nrunning < r->maxjobs && more_to_start(r))
		d = r->next_start_ns;
	for (int i = 0; i < r->nrunning; i++)
		d = box_earliest(box_earliest(d, r->running[i]->deadline_ns),
			r->running[i]->kill_at_ns);
	return d;
}

/* How many jobs of the input were not started when runner stopped: the
 * rest of the operands and ::: items, of regular files, and of what was
 * read ahead from a pipe or terminal (runner does not wait for more). */
static long long count_rest(struct runner *r)
{
	long long nh = r->nhosts ? (long long)r->nhosts : 1, n = 0;
	char *rec;

	if (r->record) {
		n = nh - (long long)r->record_host;
		free(r->record);
		r->record = NULL;
	}
	while (input_next(&r->in, &rec) == IN_RECORD)
		n += nh;
	return n;
}

/* The end of the run: a job waiting for a retry ends as it last did, one
 * never started is counted as such, -k's held output is printed. */
void end_jobs(struct runner *r)
{
	struct job *j;

	while ((j = retry_pop(r))) {
		if (j->tries) {
			job_done(r, j);
		} else {
			r->not_started++;
			j->state = FINISHED;
			if (!r->keep_order)
				free_job(j);
		}
	}
	print_in_order(r);
	r->not_started += count_rest(r);
	r->input_left = input_total(&r->in) < 0;
}
