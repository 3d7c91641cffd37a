/* supervise: the daemon. One poll() over the signal fd, the control socket,
 * the programs' output pipes and clients, with the nearest deadline of a
 * starting, backing-off or stopping program as its timeout; nothing wakes
 * it while nothing happens. */
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUPERVISE_VERSION "0.1.0"
#define FOLLOW_MAX (1 << 20)   /* bytes queued for one `tail -f` client */

enum { ST_STOPPED, ST_STARTING, ST_RUNNING, ST_BACKOFF, ST_STOPPING, ST_EXITED, ST_FATAL };
static const char *const state_name[] = {
	"STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL",
};

struct proc {
	struct pconf *c;
	int id, state;
	pid_t pid;
	int64_t deadline;           /* monotonic ns, -1: none */
	time_t start_wall, stop_wall;
	int backoff, status;        /* status: last wait status, -1 none */
	int spawn_errno;
	char spawnerr[160];
	int rd[2], wr[2];           /* output pipes (stdout, stderr), -1 */
	int ready_rd, ready_wr;
	struct logw log[2];
	int removing, start_pending;
};

struct waitent {
	int id;
	char kind;                  /* 'S' stop, 'R' start, 'G' gone (update) */
	char phase;                 /* 0 not yet issued, 1 waiting, 2 done */
};

struct client {
	int fd;
	struct box_buf in, out, reply;
	size_t off;
	int code, closing, handled;
	struct waitent *w;
	int nw;
	int follow_id, follow_stream;   /* follow_id -1: none, 0: main log */
	unsigned long long dropped;
};

static struct config cfg;
static struct proc **procs;
static int nprocs, next_id = 1;
static struct client **clients;
static int nclients;
static int listen_fd = -1, sig_fd = -1, devnull = -1, pid_fd = -1;
static int shutting_down, single_mode;
static int reloading;          /* shutting down to start again (reload) */
static char *reload_conf;      /* the configuration's absolute path */
static void begin_shutdown(void);
static gid_t sock_gid = (gid_t)-1;
static uid_t sock_uid = (uid_t)-1;
static struct box_user spawn_user;
static int spawn_switch_user;   /* user= is someone other than the daemon */

/* ---- processes ---------------------------------------------------------- */

static const char *namespec(const struct proc *p, char *buf, size_t n)
{
	if (!strcmp(p->c->group, p->c->name))
		return p->c->name;
	snprintf(buf, n, "%s:%s", p->c->group, p->c->name);
	return buf;
}

static struct proc *proc_by_id(int id)
{
	for (int i = 0; i < nprocs; i++)
		if (procs[i]->id == id)
			return procs[i];
	return NULL;
}

static void describe_status(int st, char *buf, size_t n)
{
	if (WIFSIGNALED(st))
		snprintf(buf, n, "terminated by SIG%s", box_signame(WTERMSIG(st)) ?
			box_signame(WTERMSIG(st)) : "?");
	else
		snprintf(buf, n, "exit status %d", WEXITSTATUS(st));
}

/* Runs in the child, in the daemon's memory (box_spawn): system calls
 * only. The environment and the user's groups were prepared in spawn(). */
static const char *child_setup(void *ctx)
{
	struct proc *p = ctx;
	struct pconf *c = p->c;

	if (c->umask >= 0)
		umask((mode_t)c->umask);
	if (c->ready_fd >= 0) {
		if (p->ready_wr == c->ready_fd)
			box_set_cloexec(p->ready_wr, 0);
		else if (dup2(p->ready_wr, c->ready_fd) < 0)
			return "set up ready_fd";
	}
	if (spawn_switch_user) {
		const char *what = box_become_user(&spawn_user);
		if (what)
			return what;
	}
	if (c->directory && chdir(c->directory) < 0)
		return "change directory";
	/* prlimit, not setrlimit: a bare system call */
	struct rlimit rl;

	if (c->memory_max) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)c->memory_max;
		if (prlimit(0, RLIMIT_AS, &rl, NULL) < 0)
			return "set memory_max";
	}
	if (c->cpu_max) {
		rl.rlim_cur = (rlim_t)c->cpu_max;
		rl.rlim_max = (rlim_t)c->cpu_max + 1;
		if (prlimit(0, RLIMIT_CPU, &rl, NULL) < 0)
			return "set cpu_max";
	}
	if (c->nofile_max) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)c->nofile_max;
		if (prlimit(0, RLIMIT_NOFILE, &rl, NULL) < 0)
			return "set nofile_max";
	}
	return NULL;
}

/* The program's environment: the daemon's, then HOME, USER and LOGNAME of
 * user=, then environment=, then supervisord's SUPERVISOR_* variables. */
static void spawn_env(struct box_env *env, const struct pconf *c)
{
	box_env_init(env);
	if (spawn_switch_user) {
		box_env_set(env, "HOME", spawn_user.home);
		box_env_set(env, "USER", spawn_user.name);
		box_env_set(env, "LOGNAME", spawn_user.name);
	}
	for (int i = 0; i < c->nenv; i++)
		box_env_put(env, c->env[i]);
	box_env_set(env, "SUPERVISOR_ENABLED", "1");
	box_env_set(env, "SUPERVISOR_PROCESS_NAME", c->name);
	box_env_set(env, "SUPERVISOR_GROUP_NAME", c->group);
}

static void to_running(struct proc *p)
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
}

static void fail_start(struct proc *p)
{
	p->backoff++;
	if (shutting_down || (p->c->startretries >= 0 && p->backoff > p->c->startretries)) {
		p->state = shutting_down ? ST_STOPPED : ST_FATAL;
		p->deadline = -1;
		if (!shutting_down)
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

static void spawn(struct proc *p)
{
	struct pconf *c = p->c;
	struct box_spawn sp = {
		.argv = c->argv, .fd_in = devnull, .pgroup = 0,
		.fd_out = c->logkind[0] == LOG_INHERIT ? -1 : p->wr[0] >= 0 ? p->wr[0] : devnull,
		.fd_err = c->logkind[1] == LOG_INHERIT ? -1 : p->wr[1] >= 0 ? p->wr[1] : devnull,
		.setup = child_setup, .ctx = p,
	};
	struct box_spawn_error e;
	const char *why = NULL;
	int rp[2];

	p->spawnerr[0] = 0;
	p->spawn_errno = 0;
	p->ready_rd = p->ready_wr = -1;
	if (c->user && box_lookup_user(c->user, &spawn_user, &why) < 0) {
		snprintf(p->spawnerr, sizeof(p->spawnerr), "%s: %s", why, c->user);
		goto failed;
	}
	/* an unprivileged daemon runs its own user's programs as they are */
	spawn_switch_user = c->user && !(geteuid() != 0 && spawn_user.uid == geteuid());
	if (c->ready_fd >= 0 && pipe2(rp, O_CLOEXEC) == 0) {
		p->ready_rd = rp[0];
		p->ready_wr = rp[1];
		box_set_nonblock(rp[0], 1);
	}
	struct box_env env;
	spawn_env(&env, c);
	sp.envp = env.v;
	pid_t pid = box_spawn(&sp, &e);
	box_env_free(&env);
	box_close(p->ready_wr);
	p->ready_wr = -1;
	if (c->user)
		box_user_free(&spawn_user);
	spawn_switch_user = 0;
	if (pid < 0) {
		p->spawn_errno = e.err ? e.err : errno;
		if (!e.err)
			snprintf(p->spawnerr, sizeof(p->spawnerr), "unable to fork: %s",
				strerror(errno));
		else if (!strcmp(e.what, "execute") && e.err == ENOENT)
			snprintf(p->spawnerr, sizeof(p->spawnerr), "can't find command '%s'",
				c->argv[0]);
		else if (!strcmp(e.what, "execute") && e.err == EACCES)
			snprintf(p->spawnerr, sizeof(p->spawnerr), "command at '%s' is not executable",
				c->argv[0]);
		else
			snprintf(p->spawnerr, sizeof(p->spawnerr), "unable to %s: %s", e.what,
				strerror(e.err));
		box_close(p->ready_rd);
		p->ready_rd = -1;
		goto failed;
	}
	p->pid = pid;
	p->state = ST_STARTING;
	p->start_wall = time(NULL);
	p->deadline = box_now_ns() + c->startsecs;
	mlog("INFO", "spawned: '%s' with pid %d", c->name, (int)pid);
	if (p->ready_rd >= 0)
		p->deadline = -1;
	else if (c->startsecs == 0)
		to_running(p);
	return;
failed:
	mlog("INFO", "spawnerr: %s", p->spawnerr);
	fail_start(p);
}

/* 0: stopping (or stopped from BACKOFF); -1: not running. */
static int stop_proc(struct proc *p)
{
	if (p->state == ST_BACKOFF) {
		p->state = ST_STOPPED;
		p->deadline = -1;
		return 0;
	}
	if (p->state == ST_STOPPING)
		return 0;
	if (p->state != ST_RUNNING && p->state != ST_STARTING)
		return -1;
	kill(p->c->stopasgroup ? -p->pid : p->pid, p->c->stopsignal);
	p->state = ST_STOPPING;
	p->deadline = box_now_ns() + p->c->stopwaitsecs;
	mlog("INFO", "waiting for %s to stop", p->c->name);
	return 0;
}

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

static struct proc *proc_new(struct pconf *c)
{
	struct proc *p = box_xcalloc(1, sizeof(*p));
	p->c = c;
	p->id = next_id++;
	p->deadline = -1;
	p->status = -1;
	p->ready_rd = p->ready_wr = -1;
	for (int i = 0; i < 2; i++) {
		int fds[2];
		p->rd[i] = p->wr[i] = -1;
		if (c->logkind[i] != LOG_FILE || (i == 1 && c->redirect_stderr))
			continue;
		if (pipe2(fds, O_CLOEXEC) < 0) {
			mlog("WARN", "unable to create a pipe for %s: %s", c->name, strerror(errno));
			continue;
		}
#ifdef F_SETPIPE_SZ
		fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
#endif
		box_set_nonblock(fds[0], 1);
		p->rd[i] = fds[0];
		p->wr[i] = fds[1];
		logw_open(&p->log[i], c->logfile[i], c->maxbytes[i], c->backups[i]);
	}
	if (c->redirect_stderr) {
		p->wr[1] = p->wr[0] >= 0 ? dup(p->wr[0]) : -1;
		if (p->wr[1] >= 0)
			box_set_cloexec(p->wr[1], 1);
		if (c->logkind[0] == LOG_INHERIT)
			c->logkind[1] = LOG_INHERIT;
		else if (c->logkind[0] == LOG_NONE)
			c->logkind[1] = LOG_NONE;
		else
			c->logkind[1] = LOG_FILE;
	}
	procs = box_xrealloc(procs, sizeof(*procs) * (size_t)(nprocs + 1));
	procs[nprocs++] = p;
	return p;
}

static int proc_settled(const struct proc *p)
{
	return p->pid == 0 && p->state != ST_STOPPING;
}

/* Drops retired processes once stopped; starts replacements once the group
 * they replace is gone. */
static void retire_and_replace(void)
{
	for (int i = 0; i < nprocs; i++) {
		struct proc *p = procs[i];
		if (p->removing && p->pid == 0) {
			proc_free(p);
			memmove(&procs[i], &procs[i + 1], sizeof(*procs) * (size_t)(nprocs - i - 1));
			nprocs--;
			i--;
		}
	}
	for (int i = 0; i < nprocs; i++) {
		struct proc *p = procs[i];
		if (!p->start_pending || shutting_down)
			continue;
		int blocked = 0;
		for (int j = 0; j < nprocs; j++)
			if (procs[j]->removing && !strcmp(procs[j]->c->group, p->c->group))
				blocked = 1;
		if (!blocked) {
			p->start_pending = 0;
			spawn(p);
		}
	}
}

static void on_exit_status(struct proc *p, int st)
{
	char how[64];
	struct pconf *c = p->c;

	p->pid = 0;
	p->status = st;
	p->stop_wall = time(NULL);
	p->deadline = -1;
	box_close(p->ready_rd);
	p->ready_rd = -1;
	describe_status(st, how, sizeof(how));
	if (p->state == ST_STOPPING) {
		mlog("INFO", "stopped: %s (%s)", c->name, how);
		p->state = ST_STOPPED;
	} else if (p->state == ST_STARTING) {
		mlog("INFO", "exited: %s (%s; not expected)", c->name, how);
		snprintf(p->spawnerr, sizeof(p->spawnerr),
			"Exited too quickly (process log may have details)");
		fail_start(p);
	} else {
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		int expected = code >= 0 && (c->exitcodes[code / 8] >> (code % 8) & 1);
		mlog("INFO", "exited: %s (%s; %s)", c->name, how, expected ? "expected" : "not expected");
		p->state = ST_EXITED;
		p->backoff = 0;
		if (!shutting_down && !p->removing && (c->autorestart == AR_TRUE ||
		    (c->autorestart == AR_UNEXPECTED && !expected)))
			spawn(p);
	}
}

static void reap(void)
{
	int st;
	pid_t pid;
	while ((pid = box_waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < nprocs; i++)
			if (procs[i]->pid == pid) {
				on_exit_status(procs[i], st);
				break;
			}
	}
}

/* This daemon's children, from /proc/self/task/TID/children: an orphan
 * adopted by the subreaper may hang under any thread. */
static int list_children(pid_t *out, int max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while (n < max && (e = readdir(d))) {
		char path[300], buf[8192];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", e->d_name);
		int fd = box_open(path, O_RDONLY, 0);
		ssize_t r = fd >= 0 ? box_read_full(fd, buf, sizeof(buf) - 1) : -1;
		box_close(fd);
		if (r <= 0)
			continue;
		buf[r] = 0;
		for (char *p = buf, *end; n < max; p = end) {
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			out[n++] = (pid_t)v;
		}
	}
	closedir(d);
	return n;
}

static void reap_any(void)
{
	while (box_waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Waits until the daemon has no child left or the deadline passes; woken
 * by SIGCHLD through the signal fd (other signals are moot by now). */
static int children_gone_by(int64_t deadline)
{
	pid_t one;

	for (;;) {
		reap_any();
		if (!list_children(&one, 1))
			return 1;
		struct pollfd pfd = { sig_fd, POLLIN, 0 };
		if (box_poll_until(&pfd, 1, deadline) <= 0)
			return 0;
		while (box_sigfd_read(sig_fd) > 0)
			;
	}
}

/* What the programs left behind (daemons they forked, reparented to this
 * subreaper) does not outlive the daemon: SIGTERM, SIGKILL 2 s later. */
static void hunt_orphans(void)
{
	pid_t kids[1024];
	int n;

	reap_any();
	if (!(n = list_children(kids, 1024)))
		return;
	mlog("INFO", "stopping %d process%s the programs left behind", n, n == 1 ? "" : "es");
	for (int i = 0; i < n; i++) {
		kill(kids[i], SIGTERM);
		kill(kids[i], SIGCONT);
	}
	if (children_gone_by(box_now_ns() + 2 * BOX_NSEC))
		return;
	n = list_children(kids, 1024);
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	children_gone_by(box_now_ns() + BOX_NSEC);
}

static void run_timers(void)
{
	int64_t now = box_now_ns();
	for (int i = 0; i < nprocs; i++) {
		struct proc *p = procs[i];
		if (p->deadline < 0 || p->deadline > now)
			continue;
		p->deadline = -1;
		if (p->state == ST_STARTING)
			to_running(p);
		else if (p->state == ST_BACKOFF)
			spawn(p);
		else if (p->state == ST_STOPPING && p->pid > 0) {
			mlog("WARN", "killing '%s' (%d) with SIGKILL", p->c->name, (int)p->pid);
			kill(p->c->stopasgroup || p->c->killasgroup ? -p->pid : p->pid, SIGKILL);
		}
	}
}

/* ---- output pipes and followers ----------------------------------------- */

static void client_send(struct client *cl, const char *p, size_t n)
{
	if (cl->out.len - cl->off + n > FOLLOW_MAX) {
		cl->dropped += n;
		return;
	}
	box_buf_add(&cl->out, p, n);
}

static void follow_push(int id, int stream, const char *p, size_t n)
{
	for (int i = 0; i < nclients; i++)
		if (clients[i]->follow_id == id && clients[i]->follow_stream == stream)
			client_send(clients[i], p, n);
}

static void main_log_hook(const char *p, size_t n)
{
	follow_push(0, 0, p, n);
}

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
		follow_push(p->id, target, buf, (size_t)r);
	}
}

static void read_ready(struct proc *p)
{
	char buf[256];
	ssize_t r = box_read(p->ready_rd, buf, sizeof(buf));
	if (r > 0 && memchr(buf, '\n', (size_t)r) && p->state == ST_STARTING)
		to_running(p);
	else if (r == 0) {
		box_close(p->ready_rd);
		p->ready_rd = -1;
	}
}

/* ---- the control protocol ----------------------------------------------
 * Request: one line, "VERB ARG...". Reply: "CODE LENGTH\n" and LENGTH
 * bytes of text to print; LENGTH -1 streams until the connection closes. */

static void client_close(struct client *cl)
{
	for (int i = 0; i < nclients; i++)
		if (clients[i] == cl) {
			memmove(&clients[i], &clients[i + 1], sizeof(*clients) * (size_t)(nclients - i - 1));
			nclients--;
			break;
		}
	box_close(cl->fd);
	box_buf_free(&cl->in);
	box_buf_free(&cl->out);
	box_buf_free(&cl->reply);
	free(cl->w);
	free(cl);
}

static void reply_finish(struct client *cl)
{
	box_buf_printf(&cl->out, "%d %zu\n", cl->code, cl->reply.len);
	if (cl->reply.len)
		box_buf_add(&cl->out, cl->reply.p, cl->reply.len);
	cl->closing = 1;
}

static void out(struct client *cl, const char *fmt, ...) BOX_PRINTF(2, 3);
static void out(struct client *cl, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	if (n > 0)
		box_buf_add(&cl->reply, line, (size_t)n);
	box_buf_addc(&cl->reply, '\n');
}

static int visible(const struct proc *p)
{
	return !p->removing;
}

/* Names: "all", "group:*", "group:", "group:name", "name" (the process
 * "name" of group "name", else the whole group "name"). */
static int resolve(const char *spec, struct proc ***list, int *n)
{
	char *copy = box_xstrdup(spec), *colon = strchr(copy, ':');
	const char *group = copy, *name = NULL;
	int found = 0;

	if (colon) {
		*colon = 0;
		name = colon[1] && strcmp(colon + 1, "*") ? colon + 1 : NULL;
	}
	for (int pass = 0; pass < 2 && !found; pass++) {
		for (int i = 0; i < nprocs; i++) {
			struct proc *p = procs[i];
			if (!visible(p) || strcmp(p->c->group, group))
				continue;
			if (!strcmp(spec, "all"))
				continue;
			if (colon ? (name && strcmp(p->c->name, name)) :
			    (pass == 0 && strcmp(p->c->name, group)))
				continue;
			*list = box_xrealloc(*list, sizeof(**list) * (size_t)(*n + 1));
			(*list)[(*n)++] = p;
			found = 1;
		}
		if (colon)
			break;
	}
	if (!strcmp(spec, "all"))
		for (int i = 0; i < nprocs; i++)
			if (visible(procs[i])) {
				*list = box_xrealloc(*list, sizeof(**list) * (size_t)(*n + 1));
				(*list)[(*n)++] = procs[i];
				found = 1;
			}
	free(copy);
	return found;
}

static int is_group_spec(const char *s)
{
	const char *c = strchr(s, ':');
	return c && (!c[1] || !strcmp(c + 1, "*"));
}

static void uptime_str(time_t secs, char *buf, size_t n)
{
	long d = (long)(secs / 86400), s = (long)(secs % 86400);
	if (d)
		snprintf(buf, n, "%ld day%s, %ld:%02ld:%02ld", d, d == 1 ? "" : "s", s / 3600,
			s / 60 % 60, s % 60);
	else
		snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

static void proc_desc(const struct proc *p, char *buf, size_t n)
{
	buf[0] = 0;
	if (p->state == ST_RUNNING) {
		char up[48];
		time_t now = time(NULL);
		uptime_str(now > p->start_wall ? now - p->start_wall : 0, up, sizeof(up));
		snprintf(buf, n, "pid %d, uptime %s", (int)p->pid, up);
	} else if (p->state == ST_FATAL || p->state == ST_BACKOFF) {
		if (p->spawnerr[0])
			snprintf(buf, n, "%s", p->spawnerr);
		else
			snprintf(buf, n, "unknown error (try \"tail %s\")", p->c->name);
	} else if (p->state == ST_STOPPED || p->state == ST_EXITED) {
		if (p->start_wall) {
			struct tm tm;
			localtime_r(&p->stop_wall, &tm);
			strftime(buf, n, "%b %d %I:%M %p", &tm);
		} else
			snprintf(buf, n, "Not started");
	}
}

static void status_json(struct client *cl, struct proc **list, int n)
{
	box_buf_addc(&cl->reply, '[');
	for (int i = 0; i < n; i++) {
		struct proc *p = list[i];
		char desc[200];
		proc_desc(p, desc, sizeof(desc));
		box_buf_adds(&cl->reply, i ? ",\n{\"name\":" : "{\"name\":");
		box_json_str(&cl->reply, p->c->name);
		box_buf_adds(&cl->reply, ",\"group\":");
		box_json_str(&cl->reply, p->c->group);
		box_buf_printf(&cl->reply, ",\"state\":\"%s\",\"pid\":%d,\"uptime\":%lld,"
			"\"exitstatus\":", state_name[p->state], (int)p->pid,
			p->state == ST_RUNNING ? (long long)(time(NULL) - p->start_wall) : 0LL);
		if (p->status >= 0 && WIFEXITED(p->status))
			box_buf_printf(&cl->reply, "%d,\"signal\":null", WEXITSTATUS(p->status));
		else if (p->status >= 0)
			box_buf_printf(&cl->reply, "null,\"signal\":\"SIG%s\"",
				box_signame(WTERMSIG(p->status)) ? box_signame(WTERMSIG(p->status)) : "?");
		else
			box_buf_adds(&cl->reply, "null,\"signal\":null");
		box_buf_printf(&cl->reply, ",\"backoff\":%d,\"log_dropped\":%llu,\"description\":",
			p->backoff, logw_dropped(&p->log[0]) + logw_dropped(&p->log[1]));
		box_json_str(&cl->reply, desc);
		box_buf_addc(&cl->reply, '}');
	}
	box_buf_adds(&cl->reply, "]\n");
}

static void cmd_status(struct client *cl, char **av, int ac)
{
	struct proc **list = NULL;
	int n = 0, json = 0, all = ac == 0;

	for (int i = 0; i < ac; i++) {
		if (!strcmp(av[i], "--json")) {
			json = 1;
			all |= ac == 1;
			continue;
		}
		if (!strcmp(av[i], "all"))
			all = 1;
	}
	if (all) {
		for (int i = 0; i < nprocs; i++)
			if (visible(procs[i])) {
				list = box_xrealloc(list, sizeof(*list) * (size_t)(n + 1));
				list[n++] = procs[i];
			}
	} else {
		for (int i = 0; i < ac; i++) {
			if (!strcmp(av[i], "--json") || resolve(av[i], &list, &n))
				continue;
			if (is_group_spec(av[i]))
				out(cl, "%.*s: ERROR (no such group)", (int)strcspn(av[i], ":"), av[i]);
			else
				out(cl, "%s: ERROR (no such process)", av[i]);
			cl->code = 4;
		}
	}
	if (json)
		status_json(cl, list, n);
	else {
		size_t width = 30;
		char nb[256], desc[200];
		for (int i = 0; i < n; i++) {
			size_t l = strlen(namespec(list[i], nb, sizeof(nb)));
			if (l > width)
				width = l;
		}
		for (int i = 0; i < n; i++) {
			proc_desc(list[i], desc, sizeof(desc));
			out(cl, "%-*s%-10s%s", (int)width + 3, namespec(list[i], nb, sizeof(nb)),
				state_name[list[i]->state], desc);
		}
	}
	for (int i = 0; i < n; i++)
		if (list[i]->state == ST_STOPPED || list[i]->state == ST_EXITED ||
		    list[i]->state == ST_FATAL)
			cl->code = 3;
	free(list);
}

static void add_wait(struct client *cl, struct proc *p, char kind, char phase)
{
	cl->w = box_xrealloc(cl->w, sizeof(*cl->w) * (size_t)(cl->nw + 1));
	cl->w[cl->nw++] = (struct waitent){ p->id, kind, phase };
}

/* Collects the processes named by av for start/stop/restart/signal; errors
 * for unknown names go to the reply with supervisorctl's codes. */
static int collect(struct client *cl, char **av, int ac, struct proc ***list, int group_code)
{
	int n = 0;
	for (int i = 0; i < ac; i++) {
		if (resolve(av[i], list, &n))
			continue;
		if (is_group_spec(av[i])) {
			out(cl, "%.*s: ERROR (no such group)", (int)strcspn(av[i], ":"), av[i]);
			cl->code = group_code;
		} else {
			out(cl, "%s: ERROR (no such process)", av[i]);
			cl->code = 1;
		}
	}
	return n;
}

static void issue_start(struct client *cl, struct waitent *w)
{
	struct proc *p = proc_by_id(w->id);
	char nb[256];
	w->phase = 2;
	if (!p)
		return;
	if (p->state == ST_RUNNING || p->state == ST_STARTING || p->state == ST_BACKOFF ||
	    p->state == ST_STOPPING) {
		out(cl, "%s: ERROR (already started)", namespec(p, nb, sizeof(nb)));
		return;
	}
	p->backoff = 0;
	spawn(p);
	w->phase = 1;
}

static void issue_stop(struct client *cl, struct waitent *w)
{
	struct proc *p = proc_by_id(w->id);
	char nb[256];
	w->phase = 2;
	if (!p)
		return;
	if (stop_proc(p) < 0)
		out(cl, "%s: ERROR (not running)", namespec(p, nb, sizeof(nb)));
	else
		w->phase = 1;
}

/* Advances a client's pending start/stop/restart; replies when all is done. */
static void client_progress(struct client *cl)
{
	char nb[256];
	int stops_pending = 0;
	for (int i = 0; i < cl->nw; i++) {
		struct waitent *w = &cl->w[i];
		if (w->kind == 'S' && w->phase == 0)
			issue_stop(cl, w);
		if (w->kind == 'R' && w->phase == 0 && !stops_pending)
			issue_start(cl, w);
		if (w->phase != 1)
			continue;
		struct proc *p = proc_by_id(w->id);
		if (w->kind == 'G') {   /* retired by update: wait until it is gone */
			if (p)
				return;
			w->phase = 2;
		} else if (w->kind == 'S') {
			if (p && !proc_settled(p)) {
				stops_pending = 1;
				return;
			}
			if (p)
				out(cl, "%s: stopped", namespec(p, nb, sizeof(nb)));
			w->phase = 2;
		} else {
			if (p && p->state == ST_STARTING)
				return;
			w->phase = 2;
			if (!p)
				continue;
			if (p->state == ST_RUNNING) {
				out(cl, "%s: started", namespec(p, nb, sizeof(nb)));
			} else if (p->spawn_errno == ENOENT && p->spawnerr[0] != 'E') {
				out(cl, "%s: ERROR (no such file)", namespec(p, nb, sizeof(nb)));
				cl->code = 1;
			} else if (p->spawn_errno == EACCES && p->spawnerr[0] != 'E') {
				out(cl, "%s: ERROR (file is not executable)", namespec(p, nb, sizeof(nb)));
				cl->code = 1;
			} else {
				out(cl, "%s: ERROR (spawn error)", namespec(p, nb, sizeof(nb)));
				cl->code = 7;
			}
		}
	}
	free(cl->w);
	cl->w = NULL;
	cl->nw = 0;
	reply_finish(cl);
}

static const char *const help_text[][2] = {
	{ "start", "start <name>\t\tStart a process\nstart <gname>:*\t\tStart all processes in a group\nstart <name> <name>\tStart multiple processes or groups\nstart all\t\tStart all processes" },
	{ "stop", "stop <name>\t\tStop a process\nstop <gname>:*\t\tStop all processes in a group\nstop <name> <name>\tStop multiple processes or groups\nstop all\t\tStop all processes" },
	{ "restart", "restart <name>\t\tRestart a process\nrestart <gname>:*\tRestart all processes in a group\nrestart <name> <name>\tRestart multiple processes or groups\nrestart all\t\tRestart all processes\nNote: restart does not reread config files. For that, see reread and update." },
	{ "signal", "signal <signal name> <name>\t\tSignal a process\nsignal <signal name> <gname>:*\t\tSignal all processes in a group\nsignal <signal name> <name> <name>\tSignal multiple processes or groups\nsignal <signal name> all\t\tSignal all processes" },
};

static void help_for(struct client *cl, const char *verb)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(help_text); i++)
		if (!strcmp(help_text[i][0], verb))
			out(cl, "%s", help_text[i][1]);
}

static void cmd_startstop(struct client *cl, const char *verb, char **av, int ac)
{
	struct proc **list = NULL;
	if (!ac) {
		out(cl, "Error: %s requires a process name", verb);
		cl->code = verb[2] == 'a' ? 2 : 1;
		help_for(cl, verb);
		reply_finish(cl);
		return;
	}
	int n = collect(cl, av, ac, &list, verb[2] == 'a' ? 2 : 1);
	if (verb[0] == 'r' || verb[2] == 'o')
		for (int i = 0; i < n; i++)
			add_wait(cl, list[i], 'S', 0);
	if (verb[0] == 'r' || verb[2] == 'a')
		for (int i = 0; i < n; i++)
			add_wait(cl, list[i], 'R', 0);
	free(list);
	client_progress(cl);
}

static void cmd_signal(struct client *cl, char **av, int ac)
{
	struct proc **list = NULL;
	char nb[256];
	if (ac < 2) {
		out(cl, "Error: signal requires a signal name and a process name");
		help_for(cl, "signal");
		cl->code = 1;
		return;
	}
	int sig = box_signum(av[0]);
	int n = collect(cl, av + 1, ac - 1, &list, 1);
	for (int i = 0; i < n; i++) {
		struct proc *p = list[i];
		if (sig < 0) {
			out(cl, "%s: ERROR (bad signal name)", namespec(p, nb, sizeof(nb)));
			cl->code = 1;
		} else if (p->pid <= 0) {
			out(cl, "%s: ERROR (not running)", namespec(p, nb, sizeof(nb)));
			cl->code = 7;
		} else {
			kill(p->pid, sig);
			out(cl, "%s: signalled", namespec(p, nb, sizeof(nb)));
		}
	}
	free(list);
}

static void cmd_pid(struct client *cl, char **av, int ac)
{
	if (!ac) {
		out(cl, "%d", (int)getpid());
		return;
	}
	for (int i = 0; i < ac; i++) {
		struct proc **list = NULL;
		int n = 0, named = strcmp(av[i], "all");
		if (!resolve(av[i], &list, &n)) {
			out(cl, "No such process %s", av[i]);
			cl->code = 1;
		}
		for (int j = 0; j < n; j++) {
			out(cl, "%d", (int)list[j]->pid);
			if (!list[j]->pid && cl->code == 0 && named)
				cl->code = 7;
		}
		free(list);
	}
}

/* ---- reread / update / reload ------------------------------------------ */

struct change {
	char *group;
	char kind;   /* 'a' available, 'c' changed, 'd' disappeared */
};

static char *group_fingerprint(struct pconf **list, int n, const char *group)
{
	struct box_buf b = { 0 };
	box_buf_adds(&b, "");
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i]->group, group))
			box_buf_printf(&b, "%s\n%s\n", list[i]->name, list[i]->fingerprint);
	return b.p;
}

static int change_order(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->group, ((const struct change *)b)->group);
}

static int diff_config(struct config *nc, struct change **ch)
{
	struct pconf **cur = box_xcalloc((size_t)nprocs + 1, sizeof(*cur));
	int ncur = 0, n = 0;
	for (int i = 0; i < nprocs; i++)
		if (visible(procs[i]))
			cur[ncur++] = procs[i]->c;
	*ch = box_xcalloc((size_t)(ncur + nc->nprocs) + 1, sizeof(**ch));
	for (int pass = 0; pass < 2; pass++) {
		struct pconf **a = pass ? nc->procs : cur, **b = pass ? cur : nc->procs;
		int na = pass ? nc->nprocs : ncur, nb = pass ? ncur : nc->nprocs;
		for (int i = 0; i < na; i++) {
			const char *g = a[i]->group;
			int seen = 0, present = 0;
			for (int k = 0; k < n; k++)
				seen |= !strcmp((*ch)[k].group, g);
			for (int k = 0; k < i; k++)
				seen |= !strcmp(a[k]->group, g);
			if (seen)
				continue;
			for (int k = 0; k < nb; k++)
				present |= !strcmp(b[k]->group, g);
			if (!present) {
				(*ch)[n].group = box_xstrdup(g);
				(*ch)[n++].kind = pass ? 'a' : 'd';
			} else if (pass == 0) {
				char *f1 = group_fingerprint(cur, ncur, g);
				char *f2 = group_fingerprint(nc->procs, nc->nprocs, g);
				if (strcmp(f1, f2)) {
					(*ch)[n].group = box_xstrdup(g);
					(*ch)[n++].kind = 'c';
				}
				free(f1);
				free(f2);
			}
		}
	}
	free(cur);
	qsort(*ch, (size_t)n, sizeof(**ch), change_order);
	return n;
}

static int reparse(struct client *cl, struct config *nc)
{
	struct box_buf err = { 0 };
	if (config_load(cfg.file, nc, &err) < 0) {
		if (cl) {
			out(cl, "ERROR: CANT_REREAD: %s", err.p);
			cl->code = 1;
		}
		mlog("ERROR", "unable to reread the configuration: %s", err.p);
		box_buf_free(&err);
		config_free(nc);
		return -1;
	}
	box_buf_free(&err);
	return 0;
}

/* Stops a group's programs and removes them once stopped; cl, if any,
 * gets its reply only then. */
static void retire_group(const char *g, struct client *cl)
{
	for (int i = 0; i < nprocs; i++) {
		struct proc *p = procs[i];
		if (!p->removing && !strcmp(p->c->group, g)) {
			p->removing = 1;
			p->start_pending = 0;
			stop_proc(p);
			if (cl)
				add_wait(cl, p, 'G', 1);
		}
	}
}

static void adopt_group(struct config *nc, const char *g)
{
	for (int i = 0; i < nc->nprocs; i++) {
		if (!nc->procs[i] || strcmp(nc->procs[i]->group, g))
			continue;
		struct proc *p = proc_new(nc->procs[i]);
		nc->procs[i] = NULL;
		p->start_pending = p->c->autostart;
	}
}

static void drop_adopted(struct config *nc)
{
	int k = 0;
	for (int i = 0; i < nc->nprocs; i++)
		if (nc->procs[i])
			nc->procs[k++] = nc->procs[i];
	nc->nprocs = k;
	config_free(nc);
}

static void cmd_reread(struct client *cl, char **av, int ac, int apply)
{
	struct config nc;
	struct change *ch;
	if (!apply && ac) {
		out(cl, "Error: reread accepts no arguments");
		cl->code = 1;
		return;
	}
	if (reparse(cl, &nc) < 0)
		return;
	int n = diff_config(&nc, &ch);
	static const char *const word[] = { ['a'] = "available", ['c'] = "changed",
		['d'] = "disappeared" };
	if (!apply) {
		for (int i = 0; i < n; i++)
			out(cl, "%s: %s", ch[i].group, word[(int)ch[i].kind]);
		if (!n)
			out(cl, "No config updates to processes");
	}
	for (int i = 0; apply && i < ac; i++) {
		int known = !strcmp(av[i], "all");
		for (int k = 0; k < nprocs && !known; k++)
			known = visible(procs[k]) && !strcmp(procs[k]->c->group, av[i]);
		for (int k = 0; k < n && !known; k++)
			known = !strcmp(ch[k].group, av[i]);
		if (!known) {
			out(cl, "ERROR: no such group: %s", av[i]);
			cl->code = 1;
		}
	}
	for (int pass = 0; apply && pass < 3; pass++) {
		static const char kinds[] = "dca";
		for (int i = 0; i < n; i++) {
			int wanted = !ac;
			for (int k = 0; k < ac; k++)
				wanted |= !strcmp(av[k], "all") || !strcmp(av[k], ch[i].group);
			if (ch[i].kind != kinds[pass] || !wanted)
				continue;
			if (ch[i].kind != 'a') {
				retire_group(ch[i].group, cl);
				if (cl)
					out(cl, "%s: stopped", ch[i].group);
			}
			if (ch[i].kind != 'd')
				adopt_group(&nc, ch[i].group);
			if (cl)
				out(cl, "%s: %s", ch[i].group, ch[i].kind == 'd' ? "removed process group" :
					ch[i].kind == 'c' ? "updated process group" : "added process group");
			mlog("INFO", "%s: %s", ch[i].group, ch[i].kind == 'd' ? "removed" :
				ch[i].kind == 'c' ? "updated" : "added");
		}
	}
	for (int i = 0; i < n; i++)
		free(ch[i].group);
	free(ch);
	drop_adopted(&nc);
	retire_and_replace();
}

/* supervisord's reload: every program stops, then the daemon starts over
 * from the configuration, [supervisord] and [unix_http_server] included
 * (log file, pidfile, socket and its mode...). It re-executes itself in the
 * same process, so the pid a service manager knows stays the same. */
static void cmd_reload(struct client *cl)
{
	struct config nc;
	if (reparse(cl, &nc) < 0)
		return;
	config_free(&nc);
	out(cl, "Restarted supervisord");
	mlog("INFO", "reload: stopping every program, then starting over from %s", reload_conf);
	reloading = 1;
	begin_shutdown();
}

static void reexec(void)
{
	char *argv[] = { "supervise", "-n", "-c", reload_conf, NULL };

	execv("/proc/self/exe", argv);
	if (strchr(supervise_argv0, '/'))
		execv(supervise_argv0, argv);
	else
		execvp("supervise", argv);
	mlog("ERROR", "unable to start over: %s", strerror(errno));
	logw_flush(BOX_NSEC);
	exit(1);
}

static void cmd_avail(struct client *cl, int ac)
{
	struct config nc;
	char nb[256];
	if (ac) {
		out(cl, "Error: avail accepts no arguments");
		cl->code = 1;
		return;
	}
	for (int i = 0; i < nprocs; i++) {
		struct proc *p = procs[i];
		char prio[32];
		if (!visible(p))
			continue;
		snprintf(prio, sizeof(prio), "%d:%d", p->c->group_priority, p->c->priority);
		out(cl, "%-32s %-9s %-9s %s", namespec(p, nb, sizeof(nb)), "in use",
			p->c->autostart ? "auto" : "manual", prio);
	}
	if (single_mode || reparse(NULL, &nc) < 0)
		return;
	for (int i = 0; i < nc.nprocs; i++) {
		struct pconf *c = nc.procs[i];
		int inuse = 0;
		for (int k = 0; k < nprocs && !inuse; k++)
			inuse = visible(procs[k]) && !strcmp(procs[k]->c->group, c->group) &&
				!strcmp(procs[k]->c->name, c->name);
		if (inuse)
			continue;
		char prio[32], name[256];
		snprintf(prio, sizeof(prio), "%d:%d", c->group_priority, c->priority);
		snprintf(name, sizeof(name), "%s%s%s", strcmp(c->group, c->name) ? c->group : "",
			strcmp(c->group, c->name) ? ":" : "", c->name);
		out(cl, "%-32s %-9s %-9s %s", name, "avail", c->autostart ? "auto" : "manual", prio);
	}
	config_free(&nc);
}

/* ---- tail --------------------------------------------------------------- */

static void tail_file(struct client *cl, const char *path, long long bytes)
{
	int fd = box_open(path, O_RDONLY, 0);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		box_close(fd);
		return;
	}
	off_t from = st.st_size > bytes ? st.st_size - (off_t)bytes : 0;
	char *buf = box_xmalloc((size_t)(st.st_size - from) + 1);
	ssize_t r = pread(fd, buf, (size_t)(st.st_size - from), from);
	if (r > 0)
		box_buf_add(&cl->reply, buf, (size_t)r);
	free(buf);
	box_close(fd);
}

static void cmd_tail(struct client *cl, char **av, int ac, int main_tail)
{
	int follow = 0, stream = 0;
	long long bytes = 1600;
	char nb[256];
	while (ac && av[0][0] == '-') {
		if (!strcmp(av[0], "-f"))
			follow = 1;
		else if (box_parse_ll(av[0] + 1, 0, 1LL << 40, &bytes)) {
			out(cl, "Error: bad argument %s", av[0]);
			cl->code = 2;
			return;
		}
		av++, ac--;
	}
	struct logw *w = &main_log;
	int id = 0;
	if (!main_tail) {
		struct proc **list = NULL;
		int n = 0;
		if (ac < 1 || ac > 2 || (ac == 2 && strcmp(av[1], "stdout") && strcmp(av[1], "stderr"))) {
			out(cl, "Error: tail [-f] [-BYTES] <name> [stdout|stderr]");
			cl->code = ac < 1 ? 1 : 2;
			return;
		}
		stream = ac == 2 && !strcmp(av[1], "stderr");
		if (!resolve(av[0], &list, &n) || n != 1) {
			out(cl, "%s: ERROR (no such process name)", av[0]);
			cl->code = 1;
			free(list);
			return;
		}
		struct proc *p = list[0];
		free(list);
		if (stream && p->c->redirect_stderr) {
			out(cl, "%s: ERROR (no log file)", namespec(p, nb, sizeof(nb)));
			cl->code = 1;
			return;
		}
		w = &p->log[stream];
		id = p->id;
	} else if (ac) {
		out(cl, "Error: maintail [-f] [-BYTES]");
		cl->code = 2;
		return;
	}
	if (!w->path) {
		out(cl, "%s: ERROR (no log file)", main_tail ? "supervisord" : av[0]);
		cl->code = 1;
		return;
	}
	tail_file(cl, w->path, bytes);
	if (!follow)
		return;
	box_buf_printf(&cl->out, "0 -1\n");
	box_buf_add(&cl->out, cl->reply.p ? cl->reply.p : "", cl->reply.len);
	cl->reply.len = 0;
	cl->follow_id = id;
	cl->follow_stream = stream;
	cl->handled = 2;
}

static void begin_shutdown(void)
{
	if (shutting_down)
		return;
	shutting_down = 1;
	mlog("INFO", "shutting down");
	for (int i = nprocs - 1; i >= 0; i--) {
		procs[i]->start_pending = 0;
		stop_proc(procs[i]);
	}
}

static void handle_request(struct client *cl, char *line)
{
	char *av[128];
	int ac = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t && ac < 127;
	     t = strtok_r(NULL, " \t\r", &save))
		av[ac++] = t;
	av[ac] = NULL;
	cl->handled = 1;
	if (!ac) {
		reply_finish(cl);
		return;
	}
	const char *v = av[0];
	char **a = av + 1;
	int n = ac - 1;
	if (!strcmp(v, "status"))
		cmd_status(cl, a, n);
	else if (!strcmp(v, "start") || !strcmp(v, "stop") || !strcmp(v, "restart")) {
		if (shutting_down) {
			out(cl, "ERROR: already shutting down");
			cl->code = 1;
		} else {
			cmd_startstop(cl, v, a, n);
			return;
		}
	} else if (!strcmp(v, "signal"))
		cmd_signal(cl, a, n);
	else if (!strcmp(v, "pid"))
		cmd_pid(cl, a, n);
	else if (!strcmp(v, "avail"))
		cmd_avail(cl, n);
	else if (!strcmp(v, "reread") || !strcmp(v, "update") || !strcmp(v, "reload")) {
		if (single_mode) {
			out(cl, "ERROR: no configuration file to reread");
			cl->code = 1;
		} else if (shutting_down) {
			out(cl, "ERROR: already shutting down");
			cl->code = 1;
		} else if (v[2] == 'l') {
			if (n) {
				out(cl, "Error: reload accepts no arguments");
				cl->code = 1;
			} else
				cmd_reload(cl);
		} else {
			cmd_reread(cl, a, n, v[0] == 'u');
			if (cl->nw)   /* update: replies once the old programs are gone */
				return;
		}
	} else if (!strcmp(v, "shutdown")) {
		if (n) {
			out(cl, "Error: shutdown accepts no arguments");
			cl->code = 1;
		} else if (shutting_down) {
			out(cl, "ERROR: already shutting down");
			cl->code = 1;
		} else {
			out(cl, "Shut down");
			begin_shutdown();
		}
	} else if (!strcmp(v, "version"))
		out(cl, "%s", SUPERVISE_VERSION);
	else if (!strcmp(v, "tail") || !strcmp(v, "maintail")) {
		cmd_tail(cl, a, n, v[0] == 'm');
		if (cl->handled == 2)
			return;
	} else {
		out(cl, "*** Unknown syntax: %s", v);
		cl->code = 2;
	}
	reply_finish(cl);
}

/* Root, our own uid, the chown user, or a member of the chown group. */
static int peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	if (cr.uid == 0 || cr.uid == geteuid() || cr.uid == sock_uid)
		return 1;
	if (sock_gid == (gid_t)-1)
		return 0;
	if (cr.gid == sock_gid)
		return 1;
	char path[64];
	struct box_buf b = { 0 };
	int ok = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)cr.pid);
	if (box_read_file(path, &b) == 0) {
		char *g = strstr(b.p, "\nGroups:");
		for (char *s = g ? g + 8 : NULL, *e; s && *s && *s != '\n'; s = e) {
			long v = strtol(s, &e, 10);
			if (e == s)
				break;
			ok |= (gid_t)v == sock_gid;
		}
	}
	box_buf_free(&b);
	return ok;
}

static void accept_clients(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct client *cl = box_xcalloc(1, sizeof(*cl));
		cl->fd = fd;
		cl->follow_id = -1;
		clients = box_xrealloc(clients, sizeof(*clients) * (size_t)(nclients + 1));
		clients[nclients++] = cl;
		if (!peer_allowed(fd)) {
			out(cl, "ERROR: permission denied");
			cl->code = 4;
			cl->handled = 1;
			reply_finish(cl);
			mlog("WARN", "refused a control connection: permission denied");
		}
	}
}

static void client_read(struct client *cl)
{
	char buf[4096];
	ssize_t r = box_read(cl->fd, buf, sizeof(buf));
	if (r == 0 || (r < 0 && errno != EAGAIN)) {
		client_close(cl);
		return;
	}
	if (r < 0 || cl->handled)
		return;
	box_buf_add(&cl->in, buf, (size_t)r);
	char *nl = memchr(cl->in.p, '\n', cl->in.len);
	if (nl) {
		*nl = 0;
		handle_request(cl, cl->in.p);
	} else if (cl->in.len > 8192) {
		client_close(cl);
	}
}

static void client_write(struct client *cl)
{
	while (cl->off < cl->out.len) {
		ssize_t w = send(cl->fd, cl->out.p + cl->off, cl->out.len - cl->off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			client_close(cl);
			return;
		}
		cl->off += (size_t)w;
	}
	cl->off = cl->out.len = 0;
	if (cl->closing)
		client_close(cl);
}

/* ---- setup -------------------------------------------------------------- */

static void open_socket(const char *path, int mode, const char *owner)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		box_fatal("unable to bind %s: path too long", path);
	strcpy(a.sun_path, path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0)
		box_fatal_errno("unable to create a socket");
	mode_t old = umask(0177);
	int r = bind(listen_fd, (struct sockaddr *)&a, sizeof(a));
	if (r < 0 && errno == EADDRINUSE) {
		int t = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (t >= 0 && connect(t, (struct sockaddr *)&a, sizeof(a)) == 0)
			box_fatal("another supervise is already listening on %s", path);
		box_close(t);
		/* nobody answers: a stale socket from a daemon that died */
		unlink(path);
		r = bind(listen_fd, (struct sockaddr *)&a, sizeof(a));
	}
	umask(old);
	if (r < 0)
		box_fatal_errno("unable to bind %s", path);
	if (chmod(path, (mode_t)mode) < 0)
		box_fatal_errno("unable to chmod %s", path);
	if (owner) {
		struct box_user u;
		const char *why;
		if (box_lookup_user(owner, &u, &why) == 0) {
			if (chown(path, u.uid, u.gid) < 0)
				box_fatal_errno("unable to chown %s to %s", path, owner);
			sock_uid = u.uid;
			sock_gid = u.gid;
			box_user_free(&u);
		}
	}
	if (listen(listen_fd, 64) < 0)
		box_fatal_errno("unable to listen on %s", path);
}

static void lock_pidfile(const char *path)
{
	pid_fd = box_open(path, O_RDWR | O_CREAT, 0644);
	if (pid_fd < 0)
		box_fatal_errno("unable to open pidfile %s", path);
	if (flock(pid_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			box_fatal("another supervise is already running (pidfile %s is locked)", path);
		box_fatal_errno("unable to lock pidfile %s", path);
	}
}

static void write_pidfile(void)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(pid_fd, 0) < 0 || pwrite(pid_fd, buf, (size_t)n, 0) != n)
		mlog("WARN", "unable to write pidfile %s: %s", cfg.pidfile, strerror(errno));
}

/* fork, setsid, fork: the caller returns when the daemon says it is up. */
static int daemonize(void)
{
	int p[2];
	char c;
	if (pipe2(p, O_CLOEXEC) < 0)
		box_fatal_errno("unable to create a pipe");
	pid_t pid = fork();
	if (pid < 0)
		box_fatal_errno("unable to fork");
	if (pid > 0) {
		close(p[1]);
		_exit(box_read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	pid = fork();
	if (pid < 0)
		box_fatal_errno("unable to fork");
	if (pid > 0)
		_exit(0);
	return p[1];
}

static void cleanup(void)
{
	if (listen_fd >= 0 && cfg.sock)
		unlink(cfg.sock);
	if (pid_fd >= 0 && cfg.pidfile)
		unlink(cfg.pidfile);
	/* best effort: replies already queued (e.g. to "shutdown") go out */
	while (nclients) {
		struct client *cl = clients[0];
		if (cl->out.len > cl->off)
			send(cl->fd, cl->out.p + cl->off, cl->out.len - cl->off,
				MSG_NOSIGNAL | MSG_DONTWAIT);
		client_close(cl);
	}
}

static int single_exit_code(void)
{
	struct proc *p = procs[0];
	if (shutting_down)
		return 0;
	if (p->status >= 0)
		return box_status_code(p->status);
	if (p->spawn_errno)
		return box_exec_fail_code(p->spawn_errno);
	return 0;
}

/* ---- the loop ------------------------------------------------------------ */

enum { SLOT_SIG, SLOT_LISTEN, SLOT_NOTES, SLOT_PIPE, SLOT_READY, SLOT_CLIENT };
struct slot {
	int kind, stream;
	void *ptr;
};

static void handle_signal(int sig)
{
	if (sig == SIGCHLD)
		reap();
	else if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
		begin_shutdown();
	else if (sig == SIGHUP && !single_mode && !shutting_down) {
		mlog("INFO", "received SIGHUP: rereading the configuration");
		cmd_reread(NULL, NULL, 0, 1);
	} else if (sig == SIGUSR2) {
		mlog("INFO", "received SIGUSR2: reopening logs");
		logw_reopen(&main_log);
		for (int i = 0; i < nprocs; i++)
			for (int k = 0; k < 2; k++)
				if (procs[i]->log[k].path)
					logw_reopen(&procs[i]->log[k]);
	}
}

static int loop(void)
{
	struct pollfd *pfd = NULL;
	struct slot *slot = NULL;
	size_t cap = 0;

	for (;;) {
		retire_and_replace();
		for (int i = 0; i < nclients; i++)
			if (clients[i]->nw)
				client_progress(clients[i]);
		if (shutting_down) {
			int alive = 0;
			for (int i = 0; i < nprocs; i++)
				alive |= procs[i]->pid > 0;
			if (!alive)
				break;
		}
		if (single_mode && !shutting_down) {
			struct proc *p = procs[0];
			if (p->state == ST_FATAL || p->state == ST_EXITED)
				break;
		}
		size_t need = 3 + (size_t)nprocs * 3 + (size_t)nclients;
		if (need > cap) {
			cap = need * 2;
			pfd = box_xrealloc(pfd, cap * sizeof(*pfd));
			slot = box_xrealloc(slot, cap * sizeof(*slot));
		}
		nfds_t n = 0;
		int64_t deadline = -1;
#define ADD(fdv, ev, k, p, s) (pfd[n] = (struct pollfd){ fdv, ev, 0 }, \
	slot[n++] = (struct slot){ k, s, p })
		ADD(sig_fd, POLLIN, SLOT_SIG, NULL, 0);
		if (listen_fd >= 0)
			ADD(listen_fd, POLLIN, SLOT_LISTEN, NULL, 0);
		if (logw_notes_fd() >= 0)
			ADD(logw_notes_fd(), POLLIN, SLOT_NOTES, NULL, 0);
		for (int i = 0; i < nprocs; i++) {
			struct proc *p = procs[i];
			for (int k = 0; k < 2; k++)
				if (p->rd[k] >= 0)
					ADD(p->rd[k], POLLIN, SLOT_PIPE, p, k);
			if (p->ready_rd >= 0)
				ADD(p->ready_rd, POLLIN, SLOT_READY, p, 0);
			if (p->deadline >= 0 && (deadline < 0 || p->deadline < deadline))
				deadline = p->deadline;
		}
		for (int i = 0; i < nclients; i++)
			ADD(clients[i]->fd, (short)(POLLIN | (clients[i]->out.len > clients[i]->off ?
				POLLOUT : 0)), SLOT_CLIENT, clients[i], 0);
#undef ADD
		logw_kick();
		if (box_poll_until(pfd, n, deadline) < 0)
			box_fatal_errno("unable to poll");
		for (nfds_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			struct slot *s = &slot[i];
			if (s->kind == SLOT_SIG) {
				int sig;
				while ((sig = box_sigfd_read(sig_fd)) > 0)
					handle_signal(sig);
			} else if (s->kind == SLOT_LISTEN) {
				accept_clients();
			} else if (s->kind == SLOT_NOTES) {
				logw_notes_read();
			} else if (s->kind == SLOT_PIPE || s->kind == SLOT_READY) {
				struct proc *p = s->ptr;
				int alive = 0;
				for (int k = 0; k < nprocs; k++)
					alive |= procs[k] == p;
				if (alive && s->kind == SLOT_PIPE)
					drain(p, s->stream);
				else if (alive && p->ready_rd >= 0)
					read_ready(p);
			} else {
				struct client *cl = s->ptr;
				int alive = 0;
				for (int k = 0; k < nclients; k++)
					alive |= clients[k] == cl;
				if (!alive)
					continue;
				if (pfd[i].revents & POLLOUT)
					client_write(cl);
				alive = 0;
				for (int k = 0; k < nclients; k++)
					alive |= clients[k] == cl;
				if (alive && pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
					client_read(cl);
			}
		}
		run_timers();
	}
	free(pfd);
	free(slot);
	for (int i = 0; i < nprocs; i++)
		for (int k = 0; k < 2; k++)
			if (procs[i]->rd[k] >= 0)
				drain(procs[i], k);
	hunt_orphans();
	mlog("INFO", reloading ? "starting over" : "exiting");
	/* what is queued goes out, unless the disk has stopped answering */
	logw_flush(5 * BOX_NSEC);
	cleanup();
	if (reloading)
		reexec();
	return single_mode ? single_exit_code() : 0;
}

int supervise_daemon(struct config *c, int foreground, int single)
{
	sigset_t set;
	int ready = -1;

	cfg = *c;
	single_mode = single;
	if (!single) {
		reload_conf = cfg.file;   /* absolute (config_load) */
		lock_pidfile(cfg.pidfile);
	}
	if (cfg.sock)
		open_socket(cfg.sock, cfg.sock_mode, cfg.sock_owner);
	if (cfg.minfds > 0) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)cfg.minfds) {
			rl.rlim_cur = (rlim_t)cfg.minfds;
			if (rl.rlim_max < rl.rlim_cur)
				rl.rlim_max = rl.rlim_cur;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (!foreground)
		ready = daemonize();
	if (cfg.directory && chdir(cfg.directory) < 0)
		box_fatal_errno("unable to change directory to %s", cfg.directory);
	if (!single)
		umask((mode_t)cfg.umask);
	main_log_stderr = foreground;
	if (cfg.logfile && strcmp(cfg.logfile, "NONE") && !single)
		logw_open(&main_log, cfg.logfile, cfg.log_maxbytes, cfg.log_backups);
	mlog_hook = main_log_hook;
	if (!single)
		write_pidfile();
#ifdef PR_SET_CHILD_SUBREAPER
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		mlog("WARN", "unable to become a child subreaper: %s", strerror(errno));
#endif
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	if ((sig_fd = box_sigfd_open(&set)) < 0)
		box_fatal_errno("unable to set up signal handling");
	devnull = box_open("/dev/null", O_RDWR, 0);
	mlog("INFO", "supervise started with pid %d", (int)getpid());
	if (ready >= 0) {
		box_write_all(ready, "1", 1);
		close(ready);
		if (devnull >= 0)
			for (int fd = 0; fd < 3; fd++)
				dup2(devnull, fd);
	}
	for (int i = 0; i < cfg.nprocs; i++) {
		struct proc *p = proc_new(cfg.procs[i]);
		p->start_pending = p->c->autostart;
	}
	free(cfg.procs);
	cfg.procs = NULL;
	cfg.nprocs = 0;
	return loop();
}
