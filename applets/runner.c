/* runner: run many commands, in order or N at a time, locally or on many
 * hosts over OpenSSH, with each job's output kept together, per-job
 * timeouts that kill the whole process group, retries, a GNU parallel
 * joblog, JSON records and a summary of what failed.
 *
 * One event loop: a poll over every running job's stdout and stderr pipes
 * and a signal fd (SIGCHLD, SIGINT, SIGTERM, SIGHUP), woken at the nearest
 * deadline (a timeout, a kill grace, the next -d start). */
#include "../libbox/box.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
	"runner [-j N] [-k] [-d DUR] [-v] [--tag] [--timeout DUR] [--retries N] [--halt] "
	"[--joblog FILE] [--json] [-H HOST,...] [-h FILE] [--ssh CMD] [-f FILE]... [CMD...]";

static const char help[] =
	"Run each CMD (a shell command string); output is kept together per job.\n"
	"A CMD without shell syntax is executed directly, anything else by /bin/sh -c.\n"
	"\n"
	"  -f, --file FILE    read commands from FILE, one per line ('-': stdin);\n"
	"                     blank lines and lines starting with # are skipped\n"
	"  -j, --jobs N       run N jobs at once (default 1)\n"
	"  -k, --keep-order   print output in input order, not completion order\n"
	"  -d, --delay DUR    wait DUR between job starts\n"
	"  -v, --verbose      say on stderr what starts when\n"
	"      --tag          prefix each output line with the host or command and a tab\n"
	"      --timeout DUR  kill a job's process group after DUR (TERM, then KILL)\n"
	"      --retries N    run a failed job up to N more times\n"
	"      --halt         start nothing new after the first failed job\n"
	"      --joblog FILE  log every job in GNU parallel's joblog format\n"
	"      --json         one JSON object per job on stdout, output included\n"
	"  -H, --hosts H,...  run every command on every host over ssh\n"
	"  -h, --host-file FILE  read hosts from FILE, one per line\n"
	"      --ssh CMD      the ssh command (default: ssh); BatchMode is always on\n"
	"\n"
	"Exit status: 0 all jobs succeeded; 1-100 the number of failed jobs;\n"
	"101 more than 100 failed; 255 usage or runner's own failure.\n";

/* Output above this much per stream moves from memory to a temp file. */
#define SPILL_AT (1 << 20)
/* How long a job may take to die after SIGTERM before it gets SIGKILL. */
#define KILL_GRACE_NS BOX_NSEC
/* Where the remote shell's start marker must show up, at the latest. */
#define SENTINEL_WINDOW (1 << 16)
#define MAX_JOBS_AT_ONCE 10000

enum { WAITING, RUNNING, FINISHED };
enum { OK, FAILED, TIMED_OUT, UNREACHABLE };

struct sink {                /* one captured output stream of a job */
	int fd;              /* the pipe's read end, -1 once closed */
	int spill;           /* temp file holding the output, or -1 */
	int spill_full;      /* no (more) temp file: what follows is in mem */
	struct box_buf mem;
	size_t bytes;
};

struct job {
	int seq;             /* 1-based, in input order */
	const char *cmd;
	const char *host;    /* NULL: run here */
	int state, tries, outcome;
	pid_t pid;           /* also the job's process group */
	int status;          /* wait status, or exit code << 8 for exec failures */
	int timed_out, killed, sentinel_pending;
	int64_t start_ns, end_ns, start_wall_ns, deadline_ns, kill_at_ns;
	struct sink out[2];  /* stdout, stderr */
};

struct runner {
	struct job *jobs;
	int njobs, maxjobs, nrunning, next_new, next_print;
	struct job **running;
	int *retry_q, retry_head, retry_len;
	int keep_order, verbose, tag, json, halt, retries;
	int64_t delay_ns, timeout_ns, next_start_ns, t0;
	char **ssh_argv;
	int ssh_argc;
	char sentinel[40];
	int devnull, sigfd, joblog;
	int halting, interrupted, own_error, stdout_broken;
	struct rlimit nofile;  /* restored in jobs when raised for runner */
	int nofile_raised;
};

static void job_msg(struct runner *r, struct job *j, const char *what)
{
	int64_t t = box_now_ns() - r->t0;
	box_warn("+%lld.%03llds %s %d/%d%s%s: %s", (long long)(t / BOX_NSEC),
		(long long)(t % BOX_NSEC / 1000000), what, j->seq, r->njobs,
		j->host ? " on " : "", j->host ? j->host : "", j->cmd);
}

/* ---- output capture -------------------------------------------------- */

static int temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd;
#ifdef O_TMPFILE
	fd = box_open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
	if (fd >= 0)
		return fd;
#endif
	char *path = box_xasprintf("%s/runner.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd >= 0) {
		unlink(path);
		box_set_cloexec(fd, 1);
	}
	free(path);
	return fd;
}

static void sink_reset(struct sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->spill >= 0)
		close(s->spill);
	s->fd = s->spill = -1;
	s->spill_full = 0;
	s->mem.len = 0;
	if (s->mem.p)
		s->mem.p[0] = 0;
	s->bytes = 0;
}

static void sink_free(struct sink *s)
{
	sink_reset(s);
	box_buf_free(&s->mem);
}

/* The remote shell prints the marker line before it runs the command, so
 * ssh exiting 255 without it means the command never started. Whatever a
 * login script printed before the marker is kept; the marker is removed. */
static void find_sentinel(struct runner *r, struct job *j)
{
	struct sink *s = &j->out[0];
	size_t n = strlen(r->sentinel);
	char *p = s->mem.p, *end = p + s->mem.len, *hit;

	while ((hit = memmem(p, (size_t)(end - p), r->sentinel, n))) {
		if (hit + n >= end)
			return;    /* the rest of the line is still to come */
		if ((hit == s->mem.p || hit[-1] == '\n') && hit[n] == '\n') {
			memmove(hit, hit + n + 1, (size_t)(end - hit) - n - 1);
			s->mem.len -= n + 1;
			s->mem.p[s->mem.len] = 0;
			s->bytes -= n + 1;
			j->sentinel_pending = 0;
			return;
		}
		p = hit + 1;
	}
	if (s->mem.len > SENTINEL_WINDOW)
		j->sentinel_pending = 0;
}

static void sink_add(struct runner *r, struct job *j, int which, const char *data, size_t n)
{
	struct sink *s = &j->out[which];
	int marker = which == 0 && j->sentinel_pending;

	s->bytes += n;
	if (s->spill >= 0 && !s->spill_full) {
		off_t at = lseek(s->spill, 0, SEEK_CUR);
		if (box_write_all(s->spill, data, n) >= 0)
			return;
		/* the file keeps what it has; the rest stays in memory */
		box_warn_errno("unable to write a temp file");
		if (at < 0 || ftruncate(s->spill, at) < 0)
			box_warn_errno("unable to truncate a temp file");
		s->spill_full = 1;
	}
	box_buf_add(&s->mem, data, n);
	if (marker)
		find_sentinel(r, j);
	if (r->json || j->sentinel_pending || s->spill >= 0 || s->spill_full ||
	    s->mem.len < SPILL_AT)
		return;
	s->spill = temp_file();
	if (s->spill >= 0 && box_write_all(s->spill, s->mem.p, s->mem.len) >= 0) {
		s->mem.len = 0;
		return;
	}
	/* no temp file: this job's output stays in memory */
	box_close(s->spill);
	s->spill = -1;
	s->spill_full = 1;
}

/* Reads what the pipe has now; returns 0 at EOF or error (fd closed). */
static int sink_read(struct runner *r, struct job *j, int which)
{
	char chunk[65536];
	struct sink *s = &j->out[which];

	for (;;) {
		ssize_t n = box_read(s->fd, chunk, sizeof(chunk));
		if (n > 0) {
			sink_add(r, j, which, chunk, (size_t)n);
			if ((size_t)n < sizeof(chunk))
				return 1;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return 1;
		close(s->fd);
		s->fd = -1;
		return 0;
	}
}

/* ---- printing a finished job ----------------------------------------- */

static void emit(struct runner *r, int fd, const char *p, size_t n)
{
	if (fd == 1 && r->stdout_broken)
		return;
	if (box_write_all(fd, p, n) >= 0 || fd != 1)
		return;
	box_warn_errno("unable to write to standard output");
	r->stdout_broken = 1;
	r->own_error = 1;
}

/* Copies text to fd with "TAG\t" in front of every line. *bol says whether
 * the next byte starts a line, across chunks. */
static void emit_tagged(struct runner *r, int fd, const char *tag, const char *p,
	size_t n, int *bol)
{
	struct box_buf b = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (*bol) {
			box_buf_adds(&b, tag);
			box_buf_addc(&b, '\t');
		}
		box_buf_addc(&b, p[i]);
		*bol = p[i] == '\n';
	}
	emit(r, fd, b.p, b.len);
	box_buf_free(&b);
}

static void emit_chunk(struct runner *r, struct job *j, int fd, const char *p, size_t n, int *bol)
{
	if (r->tag)
		emit_tagged(r, fd, j->host ? j->host : j->cmd, p, n, bol);
	else
		emit(r, fd, p, n);
}

static void print_output(struct runner *r, struct job *j)
{
	for (int i = 0; i < 2; i++) {
		struct sink *s = &j->out[i];
		int bol = 1;
		if (s->spill >= 0 && lseek(s->spill, 0, SEEK_SET) == 0) {
			char chunk[65536];
			ssize_t n;
			while ((n = box_read(s->spill, chunk, sizeof(chunk))) > 0)
				emit_chunk(r, j, i + 1, chunk, (size_t)n, &bol);
		}
		if (s->mem.len)
			emit_chunk(r, j, i + 1, s->mem.p, s->mem.len, &bol);
	}
}

static const char *const outcome_name[] = { "ok", "failed", "timed_out", "unreachable" };
static const char *const outcome_text[] = { "ok", "failed", "timed out", "unreachable" };

static void print_json(struct runner *r, struct job *j)
{
	struct box_buf b = { 0 };
	int st = j->status;

	box_buf_printf(&b, "{\"seq\":%d,\"host\":", j->seq);
	if (j->host)
		box_json_str(&b, j->host);
	else
		box_buf_adds(&b, "null");
	box_buf_adds(&b, ",\"command\":");
	box_json_str(&b, j->cmd);
	box_buf_printf(&b, ",\"result\":\"%s\",\"exit\":", outcome_name[j->outcome]);
	if (WIFEXITED(st))
		box_buf_printf(&b, "%d", WEXITSTATUS(st));
	else
		box_buf_adds(&b, "null");
	box_buf_adds(&b, ",\"signal\":");
	if (WIFSIGNALED(st) && box_signame(WTERMSIG(st)))
		box_buf_printf(&b, "\"SIG%s\"", box_signame(WTERMSIG(st)));
	else
		box_buf_adds(&b, "null");
	int64_t d = j->end_ns - j->start_ns;
	box_buf_printf(&b, ",\"tries\":%d,\"start\":%lld.%03lld,\"duration\":%lld.%06lld",
		j->tries, (long long)(j->start_wall_ns / BOX_NSEC),
		(long long)(j->start_wall_ns % BOX_NSEC / 1000000),
		(long long)(d / BOX_NSEC), (long long)(d % BOX_NSEC / 1000));
	box_buf_printf(&b, ",\"stdout_bytes\":%zu,\"stderr_bytes\":%zu,\"stdout\":",
		j->out[0].bytes, j->out[1].bytes);
	box_json_strn(&b, j->out[0].mem.p ? j->out[0].mem.p : "", j->out[0].mem.len);
	box_buf_adds(&b, ",\"stderr\":");
	box_json_strn(&b, j->out[1].mem.p ? j->out[1].mem.p : "", j->out[1].mem.len);
	box_buf_adds(&b, "}\n");
	emit(r, 1, b.p, b.len);
	box_buf_free(&b);
}

static void print_job(struct runner *r, struct job *j)
{
	if (r->json)
		print_json(r, j);
	else
		print_output(r, j);
	sink_free(&j->out[0]);
	sink_free(&j->out[1]);
}

/* Completion order prints at once; -k prints every finished job that has
 * no unfinished job before it. */
static void print_ready(struct runner *r, struct job *j)
{
	if (!r->keep_order) {
		print_job(r, j);
		return;
	}
	while (r->next_print < r->njobs && r->jobs[r->next_print].state == FINISHED)
		print_job(r, &r->jobs[r->next_print++]);
}

/* GNU parallel's joblog: Seq Host Starttime JobRuntime Send Receive
 * Exitval Signal Command; a timed-out job has Exitval -1. */
static void log_job(struct runner *r, struct job *j)
{
	struct box_buf b = { 0 };
	int64_t d = j->end_ns - j->start_ns;
	int st = j->status;
	int exitval = j->timed_out ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 0;
	/* a program that catches the timeout's SIGTERM (ssh does) and exits
	 * is still logged with the signal that stopped it */
	int sig = WIFSIGNALED(st) ? WTERMSIG(st) : j->timed_out ? SIGTERM : 0;

	if (r->joblog < 0)
		return;
	box_buf_printf(&b, "%d\t%s\t%lld.%03lld\t%6lld.%03lld\t0\t%zu\t%d\t%d\t%s\n",
		j->seq, j->host ? j->host : ":",
		(long long)(j->start_wall_ns / BOX_NSEC),
		(long long)(j->start_wall_ns % BOX_NSEC / 1000000),
		(long long)(d / BOX_NSEC), (long long)(d % BOX_NSEC / 1000000),
		j->out[0].bytes + j->out[1].bytes, exitval, sig, j->cmd);
	if (box_write_all(r->joblog, b.p, b.len) < 0) {
		box_warn_errno("unable to write the joblog");
		close(r->joblog);
		r->joblog = -1;
	}
	box_buf_free(&b);
}

/* ---- starting and finishing jobs -------------------------------------- */

static const char *restore_nofile(void *ctx)
{
	prlimit(0, RLIMIT_NOFILE, ctx, NULL);   /* a bare system call: see box_spawn */
	return NULL;
}

static char **job_argv(struct runner *r, struct job *j, int direct, char **words, char **remote)
{
	if (j->host) {
		char **argv = box_xcalloc((size_t)r->ssh_argc + 6, sizeof(char *));
		memcpy(argv, r->ssh_argv, (size_t)r->ssh_argc * sizeof(char *));
		*remote = box_xasprintf("echo %s;%s", r->sentinel, j->cmd);
		argv[r->ssh_argc] = "-o";
		argv[r->ssh_argc + 1] = "BatchMode=yes";
		argv[r->ssh_argc + 2] = (char *)j->host;
		argv[r->ssh_argc + 3] = "--";
		argv[r->ssh_argc + 4] = *remote;
		return argv;
	}
	if (direct && words)
		return words;
	char **argv = box_xcalloc(4, sizeof(char *));
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = (char *)j->cmd;
	return argv;
}

/* Forks the job's first process into a new process group. Returns the
 * pid, or -1 after an exec failure (reported in the job's stderr). A
 * simple command that is not found as a program goes to the shell, which
 * knows builtins like exit and cd and reports "not found" its usual way. */
static pid_t spawn_job(struct runner *r, struct job *j, int fdout, int fderr)
{
	struct box_spawn sp = { .fd_in = r->devnull, .fd_out = fdout, .fd_err = fderr,
		.pgroup = 0 };
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
		if (pid >= 0 || !e.err || !direct || e.err != ENOENT)
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
		char *msg = box_xasprintf("%s: unable to %s %s: %s\n", box_applet->name,
			e.what, j->cmd, strerror(e.err));
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

static int stopping(struct runner *r)
{
	return r->halting || r->interrupted || r->own_error;
}

static void finish_job(struct runner *r, struct job *j)
{
	j->end_ns = box_now_ns();
	j->outcome = job_outcome(j);
	if (r->verbose)
		job_msg(r, j, outcome_text[j->outcome]);
	if (j->outcome != OK && j->tries <= r->retries && !stopping(r)) {
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

static void start_job(struct runner *r, struct job *j)
{
	int po[2], pe[2];

	if (pipe2(po, O_CLOEXEC) < 0) {
		box_warn_errno("unable to create a pipe");
		r->own_error = 1;
		return;
	}
	if (pipe2(pe, O_CLOEXEC) < 0) {
		box_warn_errno("unable to create a pipe");
		close(po[0]);
		close(po[1]);
		r->own_error = 1;
		return;
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

static int more_to_start(struct runner *r)
{
	return !stopping(r) && (r->retry_len || r->next_new < r->njobs);
}

static void start_ready(struct runner *r)
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

static void reap(struct runner *r)
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

static void stop_all(struct runner *r, int sig)
{
	for (int i = 0; i < r->nrunning; i++)
		kill_job(r->running[i], sig);
}

static void handle_signals(struct runner *r)
{
	int sig;

	while ((sig = box_sigfd_read(r->sigfd)) > 0) {
		if (sig == SIGCHLD) {
			reap(r);
			continue;
		}
		/* a second interrupt does not wait for the grace period */
		stop_all(r, r->interrupted ? SIGKILL : sig);
		r->interrupted = sig;
	}
}

static void check_deadlines(struct runner *r)
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

static int64_t earliest(int64_t a, int64_t b)
{
	return a < 0 ? b : b < 0 || a < b ? a : b;
}

static int64_t next_deadline(struct runner *r)
{
	int64_t d = -1;

	if (r->delay_ns && r->nrunning < r->maxjobs && more_to_start(r))
		d = r->next_start_ns;
	for (int i = 0; i < r->nrunning; i++)
		d = earliest(earliest(d, r->running[i]->deadline_ns), r->running[i]->kill_at_ns);
	return d;
}

static void run_jobs(struct runner *r)
{
	struct pollfd *pfd = box_xcalloc(2 * (size_t)r->maxjobs + 1, sizeof(*pfd));
	struct job **owner = box_xcalloc(2 * (size_t)r->maxjobs + 1, sizeof(*owner));
	int *which = box_xcalloc(2 * (size_t)r->maxjobs + 1, sizeof(*which));

	for (;;) {
		if (r->own_error && !r->interrupted) {
			r->interrupted = SIGTERM;
			stop_all(r, SIGTERM);
		}
		start_ready(r);
		if (!r->nrunning && !more_to_start(r))
			break;
		nfds_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = r->sigfd, .events = POLLIN };
		for (int i = 0; i < r->nrunning; i++)
			for (int k = 0; k < 2; k++)
				if (r->running[i]->out[k].fd >= 0) {
					owner[n] = r->running[i];
					which[n] = k;
					pfd[n].fd = r->running[i]->out[k].fd;
					pfd[n++].events = POLLIN;
				}
		if (box_poll_until(pfd, n, next_deadline(r)) < 0)
			box_fatal_errno("unable to poll");
		for (nfds_t i = 1; i < n; i++)
			if (pfd[i].revents && owner[i]->out[which[i]].fd >= 0)
				sink_read(r, owner[i], which[i]);
		if (pfd[0].revents)
			handle_signals(r);
		check_deadlines(r);
	}
	free(pfd);
	free(owner);
	free(which);
}

/* ---- the end: leftovers, summary, exit status ------------------------- */

static void job_problem(struct job *j, const char *what, const char *why)
{
	if (j->host)
		box_warn("%s: %s: %s%s", what, j->host, j->cmd, why);
	else
		box_warn("%s: %s%s", what, j->cmd, why);
}

static void report_failure(struct job *j)
{
	char how[64];
	int st = j->status;

	if (WIFSIGNALED(st))
		snprintf(how, sizeof(how), "killed by SIG%s",
			box_signame(WTERMSIG(st)) ? box_signame(WTERMSIG(st)) : "?");
	else
		snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(st));
	if (j->host)
		box_warn("failed: %s: %s (%s)", j->host, j->cmd, how);
	else
		box_warn("failed: %s (%s)", j->cmd, how);
}

static int summarize(struct runner *r)
{
	int count[4] = { 0 }, started = 0, not_started = 0;

	/* a job waiting for a retry when runner stopped ends as it last did */
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
	if (full) {
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

/* ---- arguments ------------------------------------------------------- */

struct list {
	char **v;
	int n, cap;
};

static void list_add(struct list *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = box_xrealloc(l->v, (size_t)l->cap * sizeof(char *));
	}
	l->v[l->n++] = s;
}

/* One entry per line; blank lines and # comments skipped, blanks trimmed
 * at both ends. The text stays allocated for the run. */
static void read_lines(const char *path, struct list *l)
{
	struct box_buf b = { 0 };
	int r = strcmp(path, "-") ? box_read_file(path, &b) : box_read_fd_all(0, &b);
	if (r < 0)
		box_fatal_errno("unable to read %s", strcmp(path, "-") ? path : "standard input");
	for (char *line = b.p, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		char *end = line + strlen(line);
		while (end > line && strchr(" \t\r", end[-1]))
			*--end = 0;
		if (*line && *line != '#')
			list_add(l, line);
	}
}

static void add_hosts(char *spec, struct list *hosts)
{
	int before = hosts->n;
	for (char *h = strtok(spec, ", \t"); h; h = strtok(NULL, ", \t"))
		list_add(hosts, h);
	if (hosts->n == before)
		box_usage("no host in -H '%s'", spec);
}

static void make_sentinel(struct runner *r)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)box_wall_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)box_now_ns();
	snprintf(r->sentinel, sizeof(r->sentinel), "procbox-runner-%016llx",
		(unsigned long long)v);
}

/* Every running job holds two pipe ends; more than the soft limit allows
 * is asked of the hard limit, and jobs get the old limit back. */
static void ensure_fds(struct runner *r)
{
	rlim_t need = 2 * (rlim_t)r->maxjobs + 32;
	struct rlimit want;

	if (getrlimit(RLIMIT_NOFILE, &r->nofile) < 0 || r->nofile.rlim_cur >= need)
		return;
	want = r->nofile;
	want.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &want) < 0)
		box_fatal("unable to run %d jobs at once: the open file limit is %llu",
			r->maxjobs, (unsigned long long)r->nofile.rlim_max);
	r->nofile_raised = 1;
}

static const struct box_opt opts[] = {
	{ 'j', 'j', "jobs", 1 },
	{ 'k', 'k', "keep-order", 0 },
	{ 'd', 'd', "delay", 1 },
	{ 'v', 'v', "verbose", 0 },
	{ 'f', 'f', "file", 1 },
	{ 'H', 'H', "hosts", 1 },
	{ 'h', 'h', "host-file", 1 },
	{ 'T', 0, "tag", 0 },
	{ 't', 0, "timeout", 1 },
	{ 'r', 0, "retries", 1 },
	{ 'x', 0, "halt", 0 },
	{ 'l', 0, "joblog", 1 },
	{ 'J', 0, "json", 0 },
	{ 's', 0, "ssh", 1 },
	{ 0 },
};

static int runner_main(int argc, char **argv)
{
	struct runner run = { .maxjobs = 1, .joblog = -1 };
	struct runner *r = &run;
	struct list cmds = { 0 }, hosts = { 0 }, files = { 0 };
	const char *joblog = NULL, *ssh = NULL, *err;
	struct box_getopt g;
	int c;

	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, opts)) != -1) {
		switch (c) {
		case 'j': r->maxjobs = (int)box_xparse_ll("job count", g.arg, 1, MAX_JOBS_AT_ONCE); break;
		case 'k': r->keep_order = 1; break;
		case 'd': r->delay_ns = box_xparse_duration("delay", g.arg); break;
		case 'v': r->verbose = 1; break;
		case 'f': list_add(&files, g.arg); break;
		case 'H': add_hosts(g.arg, &hosts); break;
		case 'h': read_lines(g.arg, &hosts); break;
		case 'T': r->tag = 1; break;
		case 't': r->timeout_ns = box_xparse_duration("timeout", g.arg); break;
		case 'r': r->retries = (int)box_xparse_ll("retry count", g.arg, 0, 1000); break;
		case 'x': r->halt = 1; break;
		case 'l': joblog = g.arg; break;
		case 'J': r->json = 1; break;
		case 's': ssh = g.arg; break;
		}
	}
	for (int i = g.ind; i < argc; i++) {
		if (!argv[i][strspn(argv[i], " \t\n")])
			box_usage("empty command");
		list_add(&cmds, argv[i]);
	}
	if (!cmds.n && !files.n)
		box_usage("no command given");
	if (ssh && !hosts.n)
		box_usage("--ssh needs hosts (-H or -h)");
	if (ssh) {
		r->ssh_argc = box_split(ssh, &r->ssh_argv, &err);
		if (r->ssh_argc < 0)
			box_usage("invalid --ssh '%s': %s", ssh, err);
		if (!r->ssh_argc)
			box_usage("empty --ssh command");
	} else if (hosts.n) {
		r->ssh_argc = box_split("ssh", &r->ssh_argv, &err);
	}
	for (int i = 0; i < files.n; i++)
		read_lines(files.v[i], &cmds);
	if (joblog) {
		r->joblog = box_open(joblog, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (r->joblog < 0)
			box_fatal_errno("unable to open %s", joblog);
		box_write_str(r->joblog,
			"Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n");
	}

	int per_cmd = hosts.n ? hosts.n : 1;
	r->njobs = cmds.n * per_cmd;
	r->jobs = box_xcalloc((size_t)r->njobs, sizeof(*r->jobs));
	for (int i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];
		j->seq = i + 1;
		j->cmd = cmds.v[i / per_cmd];
		j->host = hosts.n ? hosts.v[i % per_cmd] : NULL;
		j->out[0].fd = j->out[0].spill = j->out[1].fd = j->out[1].spill = -1;
	}
	if (r->maxjobs > r->njobs && r->njobs)
		r->maxjobs = r->njobs;
	r->running = box_xcalloc((size_t)r->maxjobs, sizeof(*r->running));
	r->retry_q = box_xcalloc((size_t)r->njobs, sizeof(int));
	make_sentinel(r);
	ensure_fds(r);
	r->devnull = box_open("/dev/null", O_RDONLY, 0);
	if (r->devnull < 0)
		box_fatal_errno("unable to open /dev/null");

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* an interrupt must stop the jobs even when runner was started with
	 * SIGINT ignored, as a shell does for background commands */
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	r->sigfd = box_sigfd_open(&set);
	if (r->sigfd < 0)
		box_fatal_errno("unable to set up signal handling");
	/* a closed stdout is reported, not a silent death that orphans jobs */
	signal(SIGPIPE, SIG_IGN);
	r->t0 = box_now_ns();
	run_jobs(r);
	return summarize(r);
}

const struct applet applet_runner = {
	"runner", runner_main, usage, help, 255, 255,
};
