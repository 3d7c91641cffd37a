/* supervise: the process state machine. Each process is in one state;
 * events (a start or stop request, a deadline, the process's exit, its
 * readiness) run the action of actions[state][event], as in s6-supervise.
 * The states are supervisord's, so `status` reads the same. */
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const proc_state_name[ST_NSTATES] = {
	"STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL",
};

enum { PROCS_TIMERS_PER_TURN = 8 };

static int next_id = 1;
static const struct box_user *spawn_user;
static int spawn_switch_user;   /* user= is someone other than the daemon */
static int spawn_cgroup = -1;   /* cgroup.procs of the program's cgroup */

const char *namespec(const struct proc *p, char *buf, size_t n)
{
	if (!strcmp(p->c->group, p->c->name))
		return p->c->name;
	snprintf(buf, n, "%s:%s", p->c->group, p->c->name);
	return buf;
}

struct proc *proc_by_id(int id)
{
	for (size_t i = 0; i < sv.nprocs; i++)
		if (sv.procs[i]->id == id)
			return sv.procs[i];
	return NULL;
}

int proc_settled(const struct proc *p)
{
	return p->pid == 0 && p->state != ST_STOPPING;
}

/* ---- spawning ------------------------------------------------------------ */

/* Runs in the child, in the daemon's memory (box_spawn): system calls
 * only. The environment and the user's groups were prepared in spawn(). */
static const char *child_setup(void *ctx)
{
	struct proc *p = ctx;
	struct pconf *c = p->c;

	/* "0" is the writer: while it may, before it becomes user= */
	if (spawn_cgroup >= 0 && write(spawn_cgroup, "0", 1) < 0)
		return "enter its cgroup";
	if (c->umask >= 0)
		umask((mode_t)c->umask);
	if (c->ready_fd >= 0) {
		if (p->ready_wr == c->ready_fd)
			box_set_cloexec(p->ready_wr, 0);
		else if (dup2(p->ready_wr, c->ready_fd) < 0)
			return "set up ready_fd";
	}
	if (spawn_switch_user) {
		const char *what = box_become_user(spawn_user);
		if (what)
			return what;
	}
	if (c->directory && chdir(c->directory) < 0)
		return "change directory";
	/* prlimit, not setrlimit: a bare system call */
	const struct { int resource; long long value, slack; const char *what; } limits[] = {
		{ RLIMIT_AS, spawn_cgroup < 0 ? c->memory_max : 0, 0, "set memory_max" },
		/* one second more for the hard limit: SIGXCPU before SIGKILL */
		{ RLIMIT_CPU, c->cpu_max > 0 ? c->cpu_max : 0, 1, "set cpu_max" },
		{ RLIMIT_NOFILE, c->nofile_max, 0, "set nofile_max" },
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(limits); i++) {
		struct rlimit rl = { (rlim_t)limits[i].value,
			(rlim_t)(limits[i].value + limits[i].slack) };
		if (limits[i].value && prlimit(0, limits[i].resource, &rl, NULL) < 0)
			return limits[i].what;
	}
	return NULL;
}

/* The program's environment: the daemon's, then HOME, USER and LOGNAME of
 * user=, then environment=, then supervisord's SUPERVISOR_* variables. */
static void spawn_env(struct box_env *env, const struct pconf *c)
{
	box_env_init(env);
	if (spawn_switch_user) {
		box_env_set(env, "HOME", spawn_user->home);
		box_env_set(env, "USER", spawn_user->name);
		box_env_set(env, "LOGNAME", spawn_user->name);
	}
	for (size_t i = 0; i < c->env.n; i++)
		box_env_put(env, c->env.v[i]);
	box_env_set(env, "SUPERVISOR_ENABLED", "1");
	box_env_set(env, "SUPERVISOR_PROCESS_NAME", c->name);
	box_env_set(env, "SUPERVISOR_GROUP_NAME", c->group);
}

static int become_running(struct proc *p)
{
	p->state = ST_RUNNING;
	p->backoff = 0;
	p->deadline = -1;
	if (p->ready_rd >= 0)
		mlog("INFO", "success: %s entered RUNNING state, process said it is ready",
			p->c->name);
	else
		mlog("INFO", "success: %s entered RUNNING state, process has stayed up for "
			"> than %g seconds (startsecs)", p->c->name,
			(double)p->c->startsecs / BOX_NSEC);
	box_close(p->ready_rd);
	p->ready_rd = -1;
	return 0;
}

/* A start that did not last: BACKOFF with a growing delay, or FATAL. */
static void fail_start(struct proc *p)
{
	p->backoff++;
	if (sv.shutting_down || (p->c->startretries >= 0 && p->backoff > p->c->startretries)) {
		p->state = sv.shutting_down ? ST_STOPPED : ST_FATAL;
		p->deadline = -1;
		if (!sv.shutting_down)
			mlog("INFO", "gave up: %s entered FATAL state, too many start retries "
				"too quickly", p->c->name);
		return;
	}
	int64_t delay = (int64_t)p->backoff * BOX_NSEC;
	if (delay > p->c->backoff_max)
		delay = p->c->backoff_max;
	p->state = ST_BACKOFF;
	p->deadline = box_now_ns() + delay;
}

static int stdio_fd(const struct proc *p, int i)
{
	if (p->c->out[i].kind == LOG_INHERIT)
		return -1;
	return p->wr[i] >= 0 ? p->wr[i] : sv.devnull;
}

/* stdin is a pipe that nobody writes to and the daemon holds open, as
 * under supervisord: a program reading it waits instead of ending. One
 * pipe serves every program; each gets a read end of its own, opened again
 * through /proc, so that one program's O_NONBLOCK is not another's (the
 * shared read end without /proc, /dev/null without a pipe). */
static int stdin_pipe[2] = { -1, -1 };

static int stdin_open(void)
{
	char path[32];
	if (stdin_pipe[1] < 0 && pipe2(stdin_pipe, O_CLOEXEC) < 0)
		return sv.devnull;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", stdin_pipe[1]);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : stdin_pipe[0];
}

/* Starts the program: STARTING, or BACKOFF/FATAL when it cannot be. */
static int spawn(struct proc *p)
{
	struct pconf *c = p->c;
	struct box_spawn sp = {
		.argv = c->argv, .pgroup = 0,
		.fd_out = stdio_fd(p, 0), .fd_err = stdio_fd(p, 1),
		.setup = child_setup, .ctx = p,
		/* daemon(7): clean defaults, whatever supervise was started with */
		.default_signals = 1,
	};
	struct box_spawn_error e;
	int rp[2];

	p->spawnerr[0] = 0;
	p->spawn_errno = 0;
	p->ready_rd = p->ready_wr = -1;
	spawn_user = c->uinfo;
	/* an unprivileged daemon runs its own user's programs as they are */
	spawn_switch_user = c->uinfo && !(geteuid() != 0 && c->uinfo->uid == geteuid());
	if (c->ready_fd >= 0 && pipe2(rp, O_CLOEXEC) == 0) {
		p->ready_rd = rp[0];
		p->ready_wr = rp[1];
		box_set_nonblock(rp[0], 1);
	}
	struct box_env env;
	spawn_env(&env, c);
	sp.envp = env.v;
	sp.fd_in = stdin_open();
	spawn_cgroup = cgroup_enter(p);
	pid_t pid = box_spawn(&sp, &e);
	box_close(spawn_cgroup);
	spawn_cgroup = -1;
	if (sp.fd_in != stdin_pipe[0] && sp.fd_in != sv.devnull)
		close(sp.fd_in);
	box_env_free(&env);
	box_close(p->ready_wr);
	p->ready_wr = -1;
	spawn_switch_user = 0;
	if (pid < 0) {
		p->spawn_errno = e.err ? e.err : errno;
		if (e.err)
			box_fmt_spawn_error(p->spawnerr, sizeof(p->spawnerr), c->argv[0], &e);
		else
			snprintf(p->spawnerr, sizeof(p->spawnerr), "unable to fork: %s",
				strerror(errno));
		box_close(p->ready_rd);
		p->ready_rd = -1;
		cgroup_leave(p);
		goto failed;
	}
	p->pid = pid;
	p->state = ST_STARTING;
	p->start_wall = time(NULL);
	p->start_ns = box_now_ns();
	p->deadline = p->start_ns + c->startsecs;
	mlog("INFO", "spawned: '%s' with pid %d", c->name, (int)pid);
	if (p->ready_rd >= 0)
		p->deadline = -1;
	else if (c->startsecs == 0)
		become_running(p);
	return 0;
failed:
	mlog("INFO", "spawnerr: %s", p->spawnerr);
	fail_start(p);
	return 0;
}

/* ---- the actions ------------------------------------------------------------ */

typedef int proc_action(struct proc *p);

static int refuse(struct proc *p)
{
	(void)p;
	return -1;
}

static int nothing(struct proc *p)
{
	(void)p;
	return 0;
}

static int start(struct proc *p)
{
	p->backoff = 0;
	return spawn(p);
}

static int stop(struct proc *p)
{
	kill(p->c->stopasgroup ? -p->pid : p->pid, p->c->stopsignal);
	p->state = ST_STOPPING;
	p->deadline = box_now_ns() + p->c->stopwaitsecs;
	mlog("INFO", "waiting for %s to stop", p->c->name);
	return 0;
}

static int cancel_backoff(struct proc *p)
{
	p->state = ST_STOPPED;
	p->deadline = -1;
	return 0;
}

/* EXITED: only a restart that is due can be cancelled. */
static int cancel_restart(struct proc *p)
{
	return p->deadline < 0 ? -1 : cancel_backoff(p);
}

/* A BACKOFF or EXITED program's restart is due; nothing starts once the
 * daemon is shutting down, as under supervisord. */
static int restart(struct proc *p)
{
	return sv.shutting_down ? cancel_backoff(p) : spawn(p);
}

static int kill_hard(struct proc *p)
{
	mlog("WARN", "killing '%s' (%d) with SIGKILL", p->c->name, (int)p->pid);
	kill(p->c->stopasgroup || p->c->killasgroup ? -p->pid : p->pid, SIGKILL);
	return 0;
}

static const char *how(const struct proc *p, char *buf, size_t n)
{
	size_t k = strlen(box_fmt_status(buf, n, p->status));
	if (p->oom)
		snprintf(buf + k, n - k, ", out of memory");
	return buf;
}

static int stopped(struct proc *p)
{
	char buf[128];
	mlog("INFO", "stopped: %s (%s)", p->c->name, how(p, buf, sizeof(buf)));
	p->state = ST_STOPPED;
	return 0;
}

static int exited_early(struct proc *p)
{
	char buf[128];
	mlog("INFO", "exited: %s (%s; not expected)", p->c->name, how(p, buf, sizeof(buf)));
	snprintf(p->spawnerr, sizeof(p->spawnerr), p->oom ? "Out of memory (memory_max)" :
		"Exited too quickly (process log may have details)");
	fail_start(p);
	return 0;
}

static int exited(struct proc *p)
{
	struct pconf *c = p->c;
	char buf[128];
	int code = WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;
	int expected = code >= 0 && (c->exitcodes[code / 8] >> (code % 8) & 1);

	mlog("INFO", "exited: %s (%s; %s)", c->name, how(p, buf, sizeof(buf)),
		expected ? "expected" : "not expected");
	p->state = ST_EXITED;
	p->backoff = 0;
	/* Never from here (the reaper): a deadline on the loop, a second
	 * after the last start at the earliest, as s6-supervise waits. So a
	 * crash loop costs one start a second and the loop stays free. */
	if (!sv.shutting_down && !p->removing && (c->autorestart == AR_TRUE ||
	    (c->autorestart == AR_UNEXPECTED && !expected)))
		p->deadline = p->start_ns + BOX_NSEC;
	return 0;
}

static proc_action *const actions[ST_NSTATES][EV_NEVENTS] = {
	/*               START   STOP            TIMER           EXIT          READY */
	[ST_STOPPED]  = { start,  refuse,         nothing,        nothing,      nothing },
	[ST_STARTING] = { refuse, stop,           become_running, exited_early, become_running },
	[ST_RUNNING]  = { refuse, stop,           nothing,        exited,       nothing },
	[ST_BACKOFF]  = { refuse, cancel_backoff, restart,        nothing,      nothing },
	[ST_STOPPING] = { refuse, nothing,        kill_hard,      stopped,      nothing },
	[ST_EXITED]   = { start,  cancel_restart, restart,        nothing,      nothing },
	[ST_FATAL]    = { start,  refuse,         nothing,        nothing,      nothing },
};

int proc_event(struct proc *p, enum proc_event ev)
{
	return actions[p->state][ev](p);
}

/* ---- processes ------------------------------------------------------------- */

static void proc_free(struct proc *p)
{
	for (int i = 0; i < 2; i++) {
		box_close(p->rd[i]);
		box_close(p->wr[i]);
		logw_close(&p->log[i]);
	}
	box_close(p->ready_rd);
	pconf_free(p->c);
	free(p);
}

/* The pipe a stream's output is read from, to its log file. */
static void open_output(struct proc *p, int i)
{
	struct stream_conf *sc = &p->c->out[i];
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0) {
		mlog("WARN", "unable to create a pipe for %s: %s", p->c->name, strerror(errno));
		return;
	}
#ifdef F_SETPIPE_SZ
	fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
#endif
	box_set_nonblock(fds[0], 1);
	p->rd[i] = fds[0];
	p->wr[i] = fds[1];
	logw_open(&p->log[i], sc->logfile, sc->maxbytes, sc->backups);
}

struct proc *proc_new(struct pconf *c)
{
	struct proc *p = box_xcalloc(1, sizeof(*p));
	p->c = c;
	p->id = next_id++;
	p->deadline = -1;
	p->status = -1;
	p->ready_rd = p->ready_wr = -1;
	for (int i = 0; i < 2; i++) {
		p->rd[i] = p->wr[i] = -1;
		if (c->out[i].kind == LOG_FILE && !(i == 1 && c->redirect_stderr))
			open_output(p, i);
	}
	if (c->redirect_stderr) {
		p->wr[1] = p->wr[0] >= 0 ? dup(p->wr[0]) : -1;
		if (p->wr[1] >= 0)
			box_set_cloexec(p->wr[1], 1);
		c->out[1].kind = c->out[0].kind;
	}
	*BOX_PUSH(sv.procs, sv.nprocs, sv.procs_cap) = p;
	return p;
}

void procs_retire_and_replace(void)
{
	size_t k = 0;
	for (size_t i = 0; i < sv.nprocs; i++) {
		struct proc *p = sv.procs[i];
		if (p->removing && p->pid == 0)
			proc_free(p);
		else
			sv.procs[k++] = p;
	}
	sv.nprocs = k;
	for (size_t i = 0; i < sv.nprocs; i++) {
		struct proc *p = sv.procs[i];
		if (!p->start_pending || sv.shutting_down)
			continue;
		int blocked = 0;
		for (size_t j = 0; j < sv.nprocs; j++)
			blocked |= sv.procs[j]->removing && !strcmp(sv.procs[j]->c->group, p->c->group);
		if (!blocked) {
			p->start_pending = 0;
			proc_event(p, EV_START);
		}
	}
}

void procs_reap(void)
{
	int st;
	pid_t pid;
	while ((pid = box_waitpid(-1, &st, WNOHANG)) > 0) {
		for (size_t i = 0; i < sv.nprocs; i++) {
			struct proc *p = sv.procs[i];
			if (p->pid != pid)
				continue;
			p->pid = 0;
			p->status = st;
			p->stop_wall = time(NULL);
			p->deadline = -1;
			box_close(p->ready_rd);
			p->ready_rd = -1;
			cgroup_leave(p);
			proc_event(p, EV_EXIT);
			break;
		}
	}
}

/* Whether p's group stops before g's: higher priority first, then the
 * name, the reverse of the start order (supervisord's). */
static int stops_before(const struct proc *p, const struct proc *g)
{
	if (p->c->group_priority != g->c->group_priority)
		return p->c->group_priority > g->c->group_priority;
	return strcmp(p->c->group, g->c->group) > 0;
}

void procs_stop_next_group(void)
{
	for (;;) {
		struct proc *g = NULL;
		for (size_t i = 0; i < sv.nprocs; i++) {
			struct proc *p = sv.procs[i];
			/* running, stopping, or a restart due */
			if ((p->pid > 0 || p->deadline >= 0) && (!g || stops_before(p, g)))
				g = p;
		}
		if (!g)
			return;
		int running = 0;
		for (size_t i = sv.nprocs; i-- > 0;) {
			struct proc *p = sv.procs[i];
			if (!strcmp(p->c->group, g->c->group)) {
				proc_event(p, EV_STOP);
				running |= p->pid > 0;
			}
		}
		if (running)
			return;
	}
}

void procs_run_timers(void)
{
	int64_t now = box_now_ns();
	/* a few per turn: those left are due at the next one, after the
	 * clients and the reaper had theirs */
	int budget = PROCS_TIMERS_PER_TURN;
	for (size_t i = 0; i < sv.nprocs && budget; i++) {
		struct proc *p = sv.procs[i];
		if (p->deadline < 0 || p->deadline > now)
			continue;
		p->deadline = -1;
		proc_event(p, EV_TIMER);
		budget--;
	}
}

void procs_reopen_logs(void)
{
	for (size_t i = 0; i < sv.nprocs; i++)
		for (int k = 0; k < 2; k++)
			if (sv.procs[i]->log[k].path)
				logw_reopen(&sv.procs[i]->log[k]);
}

/* ---- output and readiness ------------------------------------------------------ */

static void drain(struct proc *p, int i)
{
	static char buf[65536];
	/* bounded per wakeup so one chatty program cannot starve the rest */
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t r = box_read(p->rd[i], buf, sizeof(buf));
		if (r <= 0)
			return;
		int target = p->c->redirect_stderr ? 0 : i;
		logw_write(&p->log[target], buf, (size_t)r);
		server_follow_push(p->id, target, buf, (size_t)r);
	}
}

static void on_output(void *ctx, int fd, short revents)
{
	struct proc *p = ctx;
	(void)revents;
	drain(p, fd == p->rd[1]);
}

static void on_ready(void *ctx, int fd, short revents)
{
	struct proc *p = ctx;
	char buf[256];
	(void)revents;
	if (fd != p->ready_rd)   /* closed earlier in this turn */
		return;
	ssize_t r = box_read(fd, buf, sizeof(buf));
	if (r > 0 && memchr(buf, '\n', (size_t)r)) {
		proc_event(p, EV_READY);
	} else if (r == 0) {
		box_close(p->ready_rd);
		p->ready_rd = -1;
	}
}

void procs_watch(struct box_loop *l)
{
	for (size_t i = 0; i < sv.nprocs; i++) {
		struct proc *p = sv.procs[i];
		for (int k = 0; k < 2; k++)
			box_loop_fd(l, p->rd[k], POLLIN, on_output, p);
		box_loop_fd(l, p->ready_rd, POLLIN, on_ready, p);
		box_loop_deadline(l, p->deadline);
	}
}

void procs_drain(void)
{
	for (size_t i = 0; i < sv.nprocs; i++)
		for (int k = 0; k < 2; k++)
			if (sv.procs[i]->rd[k] >= 0)
				drain(sv.procs[i], k);
}

/* ---- what the programs left behind --------------------------------------------- */

void pids_parse(const char *s, struct pid_list *l)
{
	for (char *end;; s = end) {
		long v = strtol(s, &end, 10);
		if (end == s || (*end != ' ' && *end != '\n'))
			return;
		if (v > 0 && v <= INT_MAX)
			*BOX_PUSH(l->v, l->n, l->cap) = (pid_t)v;
	}
}

/* This daemon's children, from /proc/self/task/TID/children, each file
 * read whole: an orphan adopted by the subreaper may hang under any
 * thread. */
static size_t list_children(struct pid_list *l)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	struct box_buf b = { 0 };

	l->n = 0;
	while (d && (e = readdir(d))) {
		char path[300];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", e->d_name);
		b.len = 0;   /* an empty file leaves the last text in place */
		if (box_read_file(path, &b) == 0 && b.len)
			pids_parse(b.p, l);
	}
	if (d)
		closedir(d);
	box_buf_free(&b);
	return l->n;
}

static void reap_any(void)
{
	while (box_waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Signals are moot by now: SIGCHLD only wakes the wait. */
static void signals_moot(void *ctx, int fd, short revents)
{
	(void)ctx, (void)revents;
	while (box_sigfd_read(fd) > 0)
		;
}

/* Waits until the daemon has no child left or the deadline passes. */
static int children_gone_by(struct pid_list *l, int64_t deadline)
{
	for (;;) {
		reap_any();
		if (!list_children(l))
			return 1;
		box_loop_begin(&sv.loop);
		box_loop_fd(&sv.loop, sv.loop.sigfd, POLLIN, signals_moot, NULL);
		box_loop_deadline(&sv.loop, deadline);
		if (!box_loop_wait(&sv.loop))
			return 0;
	}
}

/* What the programs left behind (daemons they forked, reparented to this
 * subreaper) does not outlive the daemon: SIGTERM, SIGKILL 2 s later. */
void procs_hunt_orphans(void)
{
	struct pid_list l = { 0 };

	reap_any();
	if (list_children(&l)) {
		mlog("INFO", "stopping %zu process%s the programs left behind", l.n,
			l.n == 1 ? "" : "es");
		for (size_t i = 0; i < l.n; i++) {
			kill(l.v[i], SIGTERM);
			kill(l.v[i], SIGCONT);
		}
		if (!children_gone_by(&l, box_now_ns() + 2 * BOX_NSEC)) {
			list_children(&l);
			for (size_t i = 0; i < l.n; i++)
				kill(l.v[i], SIGKILL);
			children_gone_by(&l, box_now_ns() + BOX_NSEC);
		}
	}
	free(l.v);
}
