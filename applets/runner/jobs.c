/* runner's jobs: starting one in its own process group (directly, by
 * /bin/sh -c or over ssh), deciding what starts next (retries first, then
 * new jobs, N at a time, -d apart), timing it out, and reaping it. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const outcome_text[OUTCOMES] = { "ok", "failed", "timed out", "unreachable" };

void job_msg(struct runner *r, struct job *j, const char *what)
{
	int64_t t = box_now_ns() - r->t0;
	box_warn("+%lld.%03llds %s %d/%d%s%s: %s", (long long)(t / BOX_NSEC),
		(long long)(t % BOX_NSEC / 1000000), what, j->seq, r->njobs,
		j->host ? " on " : "", j->host ? j->host : "", j->cmd);
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

/* Starts the job's first process in a new process group. Returns the
 * pid, or -1 after an exec failure (reported in the job's stderr). A
 * simple command that is not found as a program goes to the shell, which
 * knows builtins like exit and cd and reports "not found" its usual way. */
static pid_t spawn_job(struct runner *r, struct job *j, int fdout, int fderr)
{
	struct box_spawn sp = { .fd_in = j->host ? r->ssh_stdin : r->devnull,
		.fd_out = fdout, .fd_err = fderr, .pgroup = j->host ? -1 : 0,
		.setsid = j->host != NULL, .inherit_fds = 1 };
	struct box_spawn_error e;
	char **words = NULL, *remote = NULL;
	const char *err;
	int direct = !j->host && box_is_simple_command(j->cmd) &&
		box_split(j->cmd, &words, &err) > 0;
	pid_t pid;

	if (r->nofile_raised) {
		sp.setup = restore_nofile;
		sp.ctx = &r->nofile;
	}
	for (;;) {
		char **argv = job_argv(r, j, direct, words, &remote);
		sp.argv = argv;
		pid = box_spawn(&sp, &e);
		if (argv != words)
			free(argv);
		if (pid >= 0 || !e.err || !direct || e.err != ENOENT || strcmp(e.what, "execute"))
			break;
		direct = 0;
	}
	free(words);
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
		r->retry_q[(r->retry_head + r->retry_len++) % r->njobs] = (int)(j - r->jobs);
		return;
	}
	j->state = FINISHED;
	log_job(r, j);
	if (j->outcome != OK && r->halt)
		r->halting = 1;
	print_ready(r, j);
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

static void start_job(struct runner *r, struct job *j)
{
	int po[2], pe[2];

	if (job_pipes(r, po, pe) < 0)
		return;
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
		if (r->own_error) {
			j->tries--;
			return;
		}
		finish_job(r, j);
		return;
	}
	box_set_nonblock(po[0], 1);
	box_set_nonblock(pe[0], 1);
	j->state = RUNNING;
	r->running[r->nrunning++] = j;
}

static struct job *next_job(struct runner *r)
{
	if (stopping(r))
		return NULL;
	if (r->retry_len) {
		struct job *j = &r->jobs[r->retry_q[r->retry_head]];
		r->retry_head = (r->retry_head + 1) % r->njobs;
		r->retry_len--;
		return j;
	}
	return r->next_new < r->njobs ? &r->jobs[r->next_new++] : NULL;
}

int more_to_start(struct runner *r)
{
	return !stopping(r) && (r->retry_len || r->next_new < r->njobs);
}

void start_ready(struct runner *r)
{
	while (r->nrunning < r->maxjobs && more_to_start(r)) {
		int64_t now = box_now_ns();
		if (r->delay_ns && now < r->next_start_ns)
			return;
		struct job *j = next_job(r);
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
