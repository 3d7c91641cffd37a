/* timer --crontab: every job of a crontab in one process, as cron keeps
 * them. The file is cron's: five time fields or an @keyword, then the
 * command (with --system, the user first); NAME=VALUE lines set the
 * environment of the jobs after them; '%' ends the command, and the rest,
 * each '%' a newline, is its stdin ("\%" is a '%'). A command runs as
 * $SHELL -c COMMAND in $HOME, with cron's environment (SHELL=/bin/sh,
 * PATH=/usr/bin:/bin, HOME, LOGNAME, USER, then the file's lines).
 *
 * Cron has no per-job options; timer's go in a comment right before the
 * job: "#timer: -t 30s -k 5s --overlap skip". Without --overlap a job due
 * while it still runs is started again, as cron does.
 *
 * One wall-clock timerfd is armed for the earliest fire time (cancelled
 * when the clock is set), so between fire times nothing wakes. The file
 * is watched and read again when it changes (and on SIGHUP); a new file
 * with an error keeps the old jobs. A job's output (stdout and stderr,
 * into a memory file) is mailed to MAILTO when that is set, dropped when
 * it is empty, else written to timer's stderr line by line. */
#include "../../libbox/box.h"
#include "cron.h"
#include "crontab.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

enum { OV_RUN = -1 };	/* cron's: another run alongside (see timer.c) */
#define OUT_MAX (256 * 1024)	/* of a run's output, kept for mail or log */

struct job {
	int line;
	int reboot;
	struct timer_cron cron;
	char *cmd, *input;	/* input: after the first %, or NULL */
	char **env;		/* NAME=VALUE, NULL-terminated */
	char *user;		/* --system: its user field */
	int64_t timeout, kill_after;
	int overlap;		/* OV_RUN, or skip 0, wait 1, kill 2 */
	int64_t next;		/* its next fire time, TIMER_CRON_NONE: none */
	int running, pending;
};

struct crun {
	pid_t pid;
	int job, out;		/* out: memfd of its output */
	int64_t deadline, kill_at;
};

struct tab {
	const char *path;
	int system;
	const char *smtp;
	struct job *jobs;
	size_t njobs;
	struct crun *runs;
	size_t nruns, cruns;
	int wallfd, stop;
	int64_t since;
	struct box_loop loop;
	struct box_watch watch;
};

static void free_jobs(struct job *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].cmd);
		free(v[i].input);
		free(v[i].user);
		/* env arrays are shared by the jobs that follow the same lines */
		if (!i || v[i].env != v[i - 1].env) {
			for (char **e = v[i].env; *e; e++)
				free(*e);
			free(v[i].env);
		}
	}
	free(v);
}

static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	const char *v = NULL;
	for (; *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			v = *env + n + 1;
	return v;
}

/* NAME=VALUE with blanks around '=' and an optional quoted value, as
 * cron reads them: 1 and the pair in *out, 0 when the line is not one. */
static int env_line(const char *s, char **out)
{
	const char *n = s, *e, *v;
	size_t nl, vl;

	while (*n == ' ' || *n == '\t')
		n++;
	e = n + strcspn(n, "= \t");
	nl = (size_t)(e - n);
	while (*e == ' ' || *e == '\t')
		e++;
	if (!nl || *e != '=')
		return 0;
	v = e + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (vl >= 2 && (*v == '"' || *v == '\'') && v[vl - 1] == *v)
		v++, vl -= 2;
	*out = box_xasprintf("%.*s=%.*s", (int)nl, n, (int)vl, v);
	return 1;
}

/* "#timer: -t DUR -k DUR --overlap MODE" for the next job. */
static const char *extension(struct job *j, char *s)
{
	static const char *const modes[] = { "skip", "wait", "kill" };
	char *save = NULL;
	for (char *w = strtok_r(s, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		char *a = strtok_r(NULL, " \t", &save);
		int64_t *d = !strcmp(w, "-t") ? &j->timeout : !strcmp(w, "-k") ? &j->kill_after : NULL;
		if (!a)
			return "an option without its value";
		if (d) {
			if (box_parse_duration(a, d) || *d <= 0)
				return "invalid duration";
			continue;
		}
		if (strcmp(w, "--overlap"))
			return "unknown option (expected -t, -k or --overlap)";
		for (j->overlap = 0; j->overlap < 3 && strcmp(a, modes[j->overlap]); j->overlap++)
			;
		if (j->overlap == 3)
			return "invalid overlap mode (expected skip, wait or kill)";
	}
	return NULL;
}

/* The job part of a line: schedule, [user,] command. */
static const char *job_line(struct tab *t, struct job *j, char *s, char *err, size_t errlen)
{
	char *p = s, *cmd, *w, *q;
	int fields = 5;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '@')
		fields = 1;
	for (w = p; fields--;) {
		w += strcspn(w, " \t");
		w += strspn(w, " \t");
	}
	q = w;		/* the schedule ends before it */
	if (t->system && *w) {
		size_t n = strcspn(w, " \t");
		j->user = box_xmalloc(n + 1);
		memcpy(j->user, w, n);
		j->user[n] = 0;
		w += n;
		w += strspn(w, " \t");
	}
	if (!*w)
		return t->system && !j->user ? "no user" : "no command";
	cmd = w;
	q[-1] = 0;
	if (!strcasecmp(p, "@reboot")) {
		j->reboot = 1;
		j->next = TIMER_CRON_NONE;
	} else if (timer_cron_parse(p, &j->cron, err, errlen)) {
		return err;
	}
	/* the first unescaped % ends the command; \% is a % */
	j->cmd = box_xmalloc(strlen(cmd) + 1);
	for (p = cmd, q = j->cmd; *p; p++) {
		if (*p == '\\' && p[1] == '%')
			p++;
		else if (*p == '%')
			break;
		*q++ = *p;
	}
	*q = 0;
	/* the rest: each % a newline, \% a % (cron adds no newline at the end) */
	if (*p == '%') {
		j->input = q = box_xmalloc(strlen(p));
		for (p++; *p; p++)
			*q++ = *p == '\\' && p[1] == '%' ? *++p : *p == '%' ? '\n' : *p;
		*q = 0;
	}
	return NULL;
}

/* Reads the crontab: 0, or -1 with the reason said ("FILE:LINE: ..."). */
static int load(struct tab *t, struct job **out, size_t *nout)
{
	FILE *f = strcmp(t->path, "-") ? fopen(t->path, "re") : stdin;
	struct job *v = NULL, ext = { .overlap = OV_RUN };
	size_t n = 0, cap = 0, nenv = 0;
	char **env = box_xcalloc(1, sizeof(char *)), *line = NULL, err[160];
	size_t lcap = 0;
	ssize_t len;
	int lineno = 0, shared = 0;
	const char *why = NULL;

	if (!f) {
		box_warn_errno("unable to read %s", t->path);
		free(env);
		return -1;
	}
	while (!why && (len = getline(&line, &lcap, f)) >= 0) {
		char *s = line, *pair;
		lineno++;
		if (len && s[len - 1] == '\n')
			s[--len] = 0;
		s += strspn(s, " \t");
		if (!strncmp(s, "#timer:", 7)) {
			why = extension(&ext, s + 7);
			continue;
		}
		if (!*s || *s == '#')
			continue;
		if (env_line(s, &pair)) {
			/* the jobs so far keep their copy */
			if (shared) {
				char **copy = box_xcalloc(nenv + 2, sizeof(char *));
				for (size_t i = 0; i < nenv; i++)
					copy[i] = box_xstrdup(env[i]);
				env = copy;
				shared = 0;
			}
			env = box_xrealloc(env, (nenv + 2) * sizeof(char *));
			env[nenv++] = pair;
			env[nenv] = NULL;
			continue;
		}
		struct job *j = BOX_PUSH(v, n, cap);
		*j = ext;
		j->line = lineno;
		j->env = env;
		shared = 1;
		ext = (struct job){ .overlap = OV_RUN };
		why = job_line(t, j, s, err, sizeof(err));
		if (!why && j->kill_after && !j->timeout && j->overlap != 2)
			why = "-k needs -t or --overlap kill";
	}
	if (f != stdin)
		fclose(f);
	free(line);
	if (!shared) {
		for (char **e = env; *e; e++)
			free(*e);
		free(env);
	}
	if (why) {
		box_warn("%s:%d: %s", t->path, lineno, why);
		free_jobs(v, n);
		return -1;
	}
	*out = v;
	*nout = n;
	return 0;
}

/* A job's next fire time after `after`, in its CRON_TZ zone if it has one. */
static int64_t job_next(struct job *j, int64_t after, int64_t since)
{
	const char *tz = env_get(j->env, "CRON_TZ"), *old = getenv("TZ");
	char *keep;
	int64_t t;

	if (j->reboot)
		return TIMER_CRON_NONE;
	keep = tz && old ? box_xstrdup(old) : NULL;
	if (tz) {
		setenv("TZ", tz, 1);
		tzset();
	}
	t = timer_cron_next(&j->cron, after, since);
	if (tz) {
		if (keep)
			setenv("TZ", keep, 1);
		else
			unsetenv("TZ");
		tzset();
	}
	free(keep);
	return t;
}

/* ---- runs ----------------------------------------------------------------- */

struct child {
	struct box_user *user;
	const char *home;
};

static const char *child_setup(void *ctx)
{
	struct child *c = ctx;
	const char *step;
	if (c->user && (step = box_become_user(c->user)))
		return step;
	/* cron runs a job in its HOME; where that is gone, in / */
	if (chdir(c->home) < 0 && chdir("/") < 0)
		return "chdir to HOME";
	return NULL;
}

static void start(struct tab *t, size_t ji)
{
	struct job *j = &t->jobs[ji];
	struct box_user u = { 0 }, *up = NULL;
	const char *err = "unknown user";
	struct box_env env = { 0 };
	char *argv[4], id[24];
	int in = -1, out, found;

	/* as root a job runs as its user; otherwise as timer's */
	snprintf(id, sizeof(id), "%u", (unsigned)getuid());
	found = box_lookup_user(j->user && !getuid() ? j->user : id, &u, &err) == 0;
	if (j->user && (!found || (getuid() && strcmp(j->user, u.name)))) {
		box_warn("line %d: cannot run as %s: %s", j->line, j->user,
			found ? "only root runs jobs as another user" : err);
		if (found)
			box_user_free(&u);
		return;
	}
	if (found && j->user && !getuid())
		up = &u;
	const char *name = found ? u.name : getenv("LOGNAME") ? getenv("LOGNAME") : id;
	const char *home = found ? u.home : getenv("HOME") ? getenv("HOME") : "/";
	/* cron's, not timer's: the defaults, then the file's lines */
	box_env_set(&env, "SHELL", "/bin/sh");
	box_env_set(&env, "PATH", "/usr/bin:/bin");
	box_env_set(&env, "HOME", home);
	box_env_set(&env, "LOGNAME", name);
	box_env_set(&env, "USER", name);
	for (char **e = j->env; *e; e++)
		box_env_put(&env, *e);
	const char *home_env = env_get(env.v, "HOME");
	argv[0] = (char *)env_get(env.v, "SHELL");
	argv[1] = "-c";
	argv[2] = j->cmd;
	argv[3] = NULL;

	/* stdin: the text after %, else nothing; output into memory */
	out = (int)syscall(SYS_memfd_create, "timer-job", 1 /* MFD_CLOEXEC */);
	if (j->input) {
		in = (int)syscall(SYS_memfd_create, "timer-input", 1);
		if (in >= 0 && (box_write_all(in, j->input, strlen(j->input)) < 0 ||
		    lseek(in, 0, SEEK_SET) < 0)) {
			box_close(in);
			in = -1;
		}
	} else {
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	struct child c = { up, home_env };
	struct box_spawn sp = { .argv = argv, .file = argv[0], .envp = env.v, .fd_in = in,
		.fd_out = out, .fd_err = out, .pgroup = 0, .setup = child_setup, .ctx = &c };
	struct box_spawn_error e;
	char msg[256];
	pid_t pid = box_spawn(&sp, &e);
	if (in >= 0)
		box_close(in);
	if (pid < 0) {
		box_warn("line %d: %s", j->line, e.err ? box_fmt_spawn_error(msg, sizeof(msg), argv[0], &e)
			: strerror(errno));
		if (out >= 0)
			box_close(out);
	} else {
		struct crun *r = BOX_PUSH(t->runs, t->nruns, t->cruns);
		int64_t now = box_now_ns();
		*r = (struct crun){ pid, (int)ji, out, j->timeout ? now + j->timeout : -1, -1 };
		j->running++;
		box_warn("line %d: started %s (pid %d)", j->line, j->cmd, (int)pid);
	}
	box_env_free(&env);
	if (found)
		box_user_free(&u);
}

/* The output of a finished run: mailed, logged or dropped. A run of a
 * job no longer in the file (j NULL) is logged by its pid. */
static void deliver(struct tab *t, const struct job *j, int fd, pid_t pid)
{
	char *buf = box_xmalloc(OUT_MAX + 1), host[256], *from = NULL, *subject, *to = NULL;
	ssize_t n = fd >= 0 ? pread(fd, buf, OUT_MAX, 0) : -1;
	const char *mailto = j ? env_get(j->env, "MAILTO") : NULL, *user;
	char prefix[32];
	struct utsname un;

	if (n <= 0 || (mailto && !*mailto))
		goto out;
	buf[n] = 0;
	if (!mailto) {
		snprintf(prefix, sizeof(prefix), j ? "line %d" : "pid %d", j ? j->line : (int)pid);
		for (char *s = buf, *nl; *s; s = nl) {
			nl = s + strcspn(s, "\n");
			box_warn("%s: %.*s", prefix, (int)(nl - s), s);
			nl += *nl == '\n';
		}
		goto out;
	}
	snprintf(host, sizeof(host), "%s", uname(&un) == 0 ? un.nodename : "localhost");
	user = j->user ? j->user : getenv("LOGNAME") ? getenv("LOGNAME") : "root";
	from = env_get(j->env, "MAILFROM") ? box_xstrdup(env_get(j->env, "MAILFROM")) :
		box_xasprintf("%s@%s", user, host);
	subject = box_xasprintf("Cron <%s@%s> %s", user, host, j->cmd);
	to = box_xstrdup(mailto);
	/* mailed from a child: a slow server holds up no job */
	if (fork() == 0) {
		const char *rcpt[16];
		size_t nto = 0;
		char err[256], *save = NULL;
		for (char *a = strtok_r(to, ", \t", &save); a && nto < 16; a = strtok_r(NULL, ", \t", &save))
			rcpt[nto++] = a;
		struct box_mail m = { .server = t->smtp ? t->smtp : "localhost", .timeout = 30 * BOX_NSEC,
			.helo = host, .from = from, .to = rcpt, .nto = nto, .subject = subject,
			.body = buf };
		if (box_smtp_send(&m, err, sizeof(err)) < 0)
			box_warn("line %d: unable to mail the output to %s: %s", j->line, mailto, err);
		_exit(0);
	}
	free(subject);
out:
	free(to);
	free(from);
	free(buf);
}

static void reap(struct tab *t)
{
	int ws;
	pid_t pid;

	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
		for (size_t i = 0; i < t->nruns; i++) {
			struct crun *r = &t->runs[i];
			if (r->pid != pid)
				continue;
			/* NULL: its job left the file meanwhile */
			struct job *j = r->job < (int)t->njobs ? &t->jobs[r->job] : NULL;
			if (WIFSIGNALED(ws) || WEXITSTATUS(ws))
				box_warn("%s %d: %s %d", j ? "line" : "pid", j ? j->line : (int)pid,
					WIFSIGNALED(ws) ? "killed by signal" : "exited with status",
					WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
			deliver(t, j, r->out, pid);
			if (j)
				j->running--;
			if (r->out >= 0)
				box_close(r->out);
			*r = t->runs[--t->nruns];
			if (j && j->pending && !j->running) {
				j->pending = 0;
				start(t, (size_t)(j - t->jobs));
			}
			break;
		}
	}
}

static void fire(struct tab *t, size_t ji)
{
	struct job *j = &t->jobs[ji];
	if (!j->running || j->overlap == OV_RUN) {
		start(t, ji);
		return;
	}
	if (j->overlap == 0) {
		box_warn("line %d: previous run still going, this one skipped", j->line);
		return;
	}
	j->pending = 1;
	if (j->overlap == 2)
		for (size_t i = 0; i < t->nruns; i++)
			if (t->runs[i].job == (int)ji)
				kill(-t->runs[i].pid, SIGTERM);
}

/* ---- the file, the clock and the loop ------------------------------------------ */

static void reload(struct tab *t, int first)
{
	struct job *v;
	size_t n;
	int64_t now = box_wall_ns() / BOX_NSEC;

	if (!first && !strcmp(t->path, "-"))
		return;		/* stdin is read once */
	if (load(t, &v, &n) < 0) {
		if (first)
			exit(125);
		box_warn("%s: keeping the previous jobs", t->path);
		return;
	}
	/* runs go on; a job still in the file (same line, same command)
	 * keeps counting them, for --overlap and its output */
	for (size_t i = 0; i < t->nruns; i++) {
		struct crun *r = &t->runs[i];
		const struct job *o = r->job < (int)t->njobs ? &t->jobs[r->job] : NULL;
		size_t k = 0;
		while (o && k < n && (v[k].line != o->line || strcmp(v[k].cmd, o->cmd)))
			k++;
		r->job = o && k < n ? (int)k : INT_MAX;
		if (r->job != INT_MAX)
			v[k].running++;
	}
	free_jobs(t->jobs, t->njobs);
	t->jobs = v;
	t->njobs = n;
	for (size_t i = 0; i < n; i++)
		v[i].next = job_next(&v[i], now, t->since);
	if (!first)
		box_warn("%s: read again, %zu jobs", t->path, n);
}

static void on_watch(void *ctx, int event, const char *name, const char *child)
{
	struct tab *t = ctx;
	const char *base = strrchr(t->path, '/');
	(void)event, (void)name;
	if (!child || !strcmp(child, base ? base + 1 : t->path))
		reload(t, 0);
}

static void on_signal(void *ctx, int sig)
{
	struct tab *t = ctx;
	if (sig == SIGCHLD)
		reap(t);
	else if (sig == SIGHUP)
		reload(t, 0);
	else
		t->stop = sig;
}

static void on_wall(void *ctx, int fd, short revents)
{
	uint64_t n;
	(void)ctx, (void)revents;
	(void)!read(fd, &n, sizeof(n));
}

int timer_crontab(const char *path, int system, const char *smtp, long long next, int64_t from)
{
	struct tab t = { .path = path, .system = system, .smtp = smtp, .watch = { .fd = -1 } };
	sigset_t set;

	t.since = next ? from : box_wall_ns() / BOX_NSEC;
	if (next) {
		struct box_buf b = { 0 };
		reload(&t, 1);
		for (size_t i = 0; i < t.njobs; i++)
			t.jobs[i].next = job_next(&t.jobs[i], from, from);
		while (next-- > 0) {
			struct job *m = NULL;
			for (size_t i = 0; i < t.njobs; i++)
				if (t.jobs[i].next != TIMER_CRON_NONE && (!m || t.jobs[i].next < m->next))
					m = &t.jobs[i];
			if (!m)
				break;
			timer_format_time(&b, m->next);
			b.len--;	/* the newline */
			box_buf_printf(&b, " %d %s\n", m->line, m->cmd);
			m->next = job_next(m, m->next, from);
		}
		if (box_write_all(1, b.p, b.len) < 0)
			box_fatal_errno("unable to write");
		box_buf_free(&b);
		free_jobs(t.jobs, t.njobs);
		return 0;
	}
	reload(&t, 1);
	box_sigset(&set, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGQUIT, 0);
	box_loop_open_signals(&t.loop, &set, on_signal, &t);
	if (strcmp(path, "-") && box_watch_open(&t.watch, 60 * BOX_NSEC, 0, on_watch, &t) == 0) {
		char *dir = box_xdirname(path);
		box_watch_add(&t.watch, -1, dir, "", BOX_WATCH_CONTENT | BOX_WATCH_DIR);
		free(dir);
	}
	t.wallfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	for (size_t i = 0; i < t.njobs; i++)
		if (t.jobs[i].reboot)
			start(&t, i);
	while (!t.stop) {
		int64_t now = box_wall_ns() / BOX_NSEC, mono = box_now_ns(), first = INT64_MAX;
		for (size_t i = 0; i < t.njobs; i++) {
			struct job *j = &t.jobs[i];
			if (j->next == TIMER_CRON_NONE)
				continue;
			if (j->next <= now) {
				/* from the later of the two: a clock set back repeats nothing */
				j->next = job_next(j, now > j->next ? now : j->next, t.since);
				fire(&t, i);
				if (j->next == TIMER_CRON_NONE)
					continue;
			}
			if (j->next < first)
				first = j->next;
		}
		box_loop_begin(&t.loop);
		box_loop_signals(&t.loop);
		box_watch_turn(&t.watch, &t.loop);
		for (size_t i = 0; i < t.nruns; i++) {
			struct crun *r = &t.runs[i];
			if (r->deadline >= 0 && mono >= r->deadline) {
				kill(-r->pid, SIGTERM);
				kill(-r->pid, SIGCONT);
				r->deadline = -1;
				struct job *j = r->job < (int)t.njobs ? &t.jobs[r->job] : NULL;
				if (j && j->kill_after)
					r->kill_at = mono + j->kill_after;
				if (j)
					box_warn("line %d: timed out, sent SIGTERM", j->line);
			}
			if (r->kill_at >= 0 && mono >= r->kill_at) {
				kill(-r->pid, SIGKILL);
				r->kill_at = -1;
			}
			box_loop_deadline(&t.loop, r->deadline);
			box_loop_deadline(&t.loop, r->kill_at);
		}
		if (t.wallfd >= 0) {
			struct itimerspec its = { .it_value = { .tv_sec = first == INT64_MAX ? 0 : first } };
			timerfd_settime(t.wallfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
			box_loop_fd(&t.loop, t.wallfd, POLLIN, on_wall, &t);
		} else if (first != INT64_MAX) {
			/* without a wall-clock timer, look at the clock once a minute */
			int64_t left = (first - now) * BOX_NSEC;
			box_loop_deadline(&t.loop, mono + (left < 60 * BOX_NSEC ? left : 60 * BOX_NSEC));
		}
		box_loop_wait(&t.loop);
		if (box_watch_due(&t.watch))
			reload(&t, 0);
	}
	for (size_t i = 0; i < t.nruns; i++)
		kill(-t.runs[i].pid, t.stop);
	return 128 + t.stop;
}
