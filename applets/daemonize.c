/* daemonize: run a command as a proper SysV daemon, every step of
 * daemon(7): fds above 2 closed, signals reset, fork, setsid, fork again,
 * chdir, umask, stdio to /dev/null or files, a pidfile that is locked for
 * the daemon's whole life, privileges dropped. The caller is told the
 * truth: success only once CMD was executed (or, with --wait-ready, said
 * it is ready). Also --status and --stop for such a pidfile. */
#include "../libbox/box.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
	"daemonize [-av] [-c DIR] [-m UMASK] [-p PIDFILE] [-l LOCKFILE] [-o OUT] [-e ERR] "
	"[-u USER[:GROUP]] [-E VAR=VAL]... [--wait-ready[=DUR]] [--] CMD [ARG...] | "
	"daemonize --status|--stop -p PIDFILE [--exec PATH] [--name NAME] [--retry SCHEDULE]";

static const char help[] =
	"Run CMD (no shell) as a daemon: detached from the terminal and session,\n"
	"cwd /, umask 022, stdio /dev/null, default signals, no inherited fds.\n"
	"\n"
	"  -c, --chdir DIR       working directory (default /)\n"
	"  -m, --umask UMASK     octal file mode mask (default 022)\n"
	"  -p, --pidfile FILE    write the pid to FILE, locked while CMD lives (fd 3)\n"
	"  -l, --lockfile FILE   hold a lock on FILE while CMD lives\n"
	"  -o, --stdout FILE     standard output to FILE (created, truncated)\n"
	"  -e, --stderr FILE     standard error to FILE\n"
	"  -a, --append          append to -o/-e files instead of truncating\n"
	"  -u, --user USER[:GROUP]  run as USER (initgroups, setgid, setuid;\n"
	"                        HOME, USER, LOGNAME set)\n"
	"  -E, --env VAR=VAL     set an environment variable (repeatable)\n"
	"  --wait-ready[=DUR]    pass READY_FD=N and wait until CMD writes a line\n"
	"                        to fd N (at most DUR)\n"
	"  -v, --verbose         say what was started (pid) and when it is ready\n"
	"  --status -p FILE      0 running, 1 dead (stale pidfile), 3 not running\n"
	"  --stop -p FILE        signal the daemon and wait until it is gone\n"
	"  --exec PATH, --name NAME  --status/--stop: the daemon's program, name\n"
	"  --retry SCHEDULE      --stop's schedule, as start-stop-daemon's:\n"
	"                        SIG/DUR/SIG/DUR[/forever...] (default TERM/30/KILL/5)\n"
	"\n"
	"Exit status: 0 started (or ready); 123 already running (-p or -l locked);\n"
	"125 usage or own failure; 126 CMD not executable; 127 CMD not found;\n"
	"--wait-ready: 124 not ready in time, CMD's status if it died first (1 for\n"
	"status 0 or a closed READY_FD).\n"
	"--stop: 0 stopped, 1 not running, 2 still running after the schedule.\n";

struct config {
	const char *dir, *pidfile, *lockfile, *out, *err;
	const char *exec, *name;     /* --status/--stop: what the daemon must be */
	mode_t umask;
	int append, verbose, wait_ready;
	const char *ready_arg;
	int64_t ready_ns;            /* --wait-ready=DUR, -1: none */
	struct box_user *user;
	char **env;
	int nenv;
	char **argv;
	const char *path;            /* argv[0], made absolute when relative */
};

/* The session leader's word on --wait-ready, after the daemon's "up". */
enum { REP_READY = BOX_DETACH_NOTE, REP_DIED, REP_CLOSED, REP_TIMEOUT };

/* The fds the daemon keeps besides 0-2, moved down to 3, 4, 5 in this
 * order, and its -o and -e. */
struct kept {
	struct box_pidfile pf;
	int have_pidfile;
	int lockfd;
	int outfd, errfd;
};

/* What the session leader, the daemon's parent, watches for --wait-ready. */
struct readiness {
	struct box_loop loop;        /* READY_FD and SIGCHLD */
	int fd;                      /* READY_FD's other end, -1 after EOF */
	int wfd;                     /* READY_FD itself, the daemon's */
	int64_t deadline;            /* monotonic ns, -1: none */
	pid_t pid;
	int exited, status, ready;
};

/* Only the caller removes a pidfile that no daemon came to hold. */
static struct kept *undo_on_exit;

static void undo_pidfile(void)
{
	if (undo_on_exit && undo_on_exit->have_pidfile)
		box_pidfile_abort(&undo_on_exit->pf);
}

/* Moves each kept fd to the lowest numbers from 3 up. The targets are
 * always fds the caller opened before READY_FD (lock files, -o, -e, the
 * previous pidfile: at least one more than the kept fds), never a kept fd
 * not moved yet, since that is higher. */
static int move_down(const int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] == 3 + i)
			box_set_cloexec(fds[i], 0);
		else if (dup2(fds[i], 3 + i) < 0)
			return -1;
	}
	box_cloexec_from(3 + n);
	return 0;
}

/* The daemon, detached (pidfile, umask, user, directory done): its stdio,
 * the fds it keeps, its environment, then CMD. */
BOX_NORETURN static void run_daemon(const struct config *c, struct kept *k,
	struct box_detach *d, int ready_w)
{
	int keep[3], nkeep = 0, fail = box_applet->fail_code;

	undo_on_exit = NULL;
	box_detach_stdio(d);
	if (k->have_pidfile)
		keep[nkeep++] = k->pf.fd;
	if (k->lockfd >= 0)
		keep[nkeep++] = k->lockfd;
	if (ready_w >= 0)
		keep[nkeep++] = ready_w;
	if (move_down(keep, nkeep) < 0)
		box_detach_fail(d, fail, "arrange file descriptors");
	for (int i = 0; i < c->nenv; i++)
		if (putenv(c->env[i]) < 0)
			box_detach_fail(d, fail, "set the environment");
	/* an inherited READY_FD would name one of our fds (the pidfile) */
	if (ready_w >= 0) {
		char num[16];
		snprintf(num, sizeof(num), "%d", 3 + nkeep - 1);
		if (setenv("READY_FD", num, 1) < 0)
			box_detach_fail(d, fail, "set READY_FD");
	} else {
		unsetenv("READY_FD");
	}
	box_detach_exec(d, c->path, c->argv);
}

static void on_ready_fd(void *ctx, int fd, short revents)
{
	struct readiness *w = ctx;
	char buf[512];
	ssize_t got = box_read(fd, buf, sizeof(buf));

	(void)revents;
	if (got > 0 && memchr(buf, '\n', (size_t)got))
		w->ready = 1;
	else if (got <= 0)
		w->fd = -1;
}

static int reaped(struct readiness *w)
{
	if (!w->exited && box_waitpid(w->pid, &w->status, WNOHANG) == w->pid)
		w->exited = 1;
	return w->exited;
}

static void on_sigchld(void *ctx, int sig)
{
	(void)sig;
	reaped(ctx);
}

/* After EOF on READY_FD the exit may not have been reported yet: the
 * kernel closes a dying process's files before it becomes a zombie. */
#define EXIT_GRACE_NS BOX_NSEC

static int await_readiness(struct readiness *w)
{
	int64_t grace = -1;

	for (;;) {
		if (w->fd < 0 && grace < 0)
			grace = box_now_ns() + EXIT_GRACE_NS;
		box_loop_begin(&w->loop);
		if (!w->exited)
			box_loop_signals(&w->loop);
		box_loop_fd(&w->loop, w->fd, POLLIN, on_ready_fd, w);
		box_loop_deadline(&w->loop, w->deadline);
		box_loop_deadline(&w->loop, grace);
		if (box_loop_wait(&w->loop) == 0) {
			if (grace < 0 || (w->deadline >= 0 && w->deadline <= grace))
				return REP_TIMEOUT;
			return reaped(w) ? REP_DIED : REP_CLOSED;
		}
		if (w->ready)
			return REP_READY;
		/* a clean exit may be a program that forks and exits: its
		 * child can still say it is ready on the inherited fd */
		if (w->exited && (w->fd < 0 || !WIFEXITED(w->status) || WEXITSTATUS(w->status)))
			return REP_DIED;
	}
}

/* The session leader with --wait-ready: tells the caller the outcome. */
static void leader_awaits_readiness(struct box_detach *d)
{
	struct readiness *w = d->ctx;

	undo_on_exit = NULL;
	close(w->wfd);
	w->pid = d->pid;
	struct box_detach_msg m = { .kind = await_readiness(w), .pid = getpid() };
	m.status = w->status;
	box_detach_send(d, &m);
}

/* Not a failure of daemonize nor CMD's: a status of its own. */
#define EXIT_RUNNING 123

static void refuse_running(const char *what, const char *path, int fd)
{
	pid_t pid = fd >= 0 ? box_pid_read(fd) : 0;
	char as[24] = "";

	if (pid > 0)
		snprintf(as, sizeof(as), " as pid %d", (int)pid);
	box_die(EXIT_RUNNING, "%s %s is locked: already running%s", what, path, as);
}

/* Opens and locks everything the daemon keeps, in the order move_down
 * relies on: pidfile, lock file, -o, -e. */
static void open_kept(const struct config *c, struct kept *k)
{
	k->lockfd = k->outfd = k->errfd = -1;
	if (c->pidfile) {
		if (box_pidfile_prepare(&k->pf, c->pidfile) < 0) {
			if (errno == EWOULDBLOCK) {
				int fd = box_open(c->pidfile, O_RDONLY, 0);
				refuse_running("pidfile", c->pidfile, fd);
			}
			box_fatal_errno("unable to create pidfile %s", c->pidfile);
		}
		k->have_pidfile = 1;
		undo_on_exit = k;
		atexit(undo_pidfile);
	}
	if (c->lockfile && !(c->pidfile && !strcmp(c->lockfile, c->pidfile)) &&
	    !(k->have_pidfile && k->pf.oldfd >= 0 && box_same_file(k->pf.oldfd, c->lockfile))) {
		if (box_lock_path(c->lockfile, 1, &k->lockfd) < 0) {
			if (errno == EWOULDBLOCK)
				refuse_running("lockfile", c->lockfile, -1);
			box_fatal_errno("unable to lock %s", c->lockfile);
		}
	}
	if (c->out)
		k->outfd = box_xopen_output(c->out, c->append);
	if (c->err && c->out && !strcmp(c->err, c->out))
		k->errfd = k->outfd;
	else if (c->err)
		k->errfd = box_xopen_output(c->err, c->append);
}

/* READY_FD and SIGCHLD for the session leader, made before it forks the
 * daemon so that no exit goes unseen (nor, ignored, unreported). */
static void prepare_readiness(const struct config *c, struct readiness *w)
{
	int ready[2];
	sigset_t chld;

	w->deadline = c->ready_ns < 0 ? -1 : box_now_ns() + c->ready_ns;
	/* a seqpacket socket, not a pipe: once the leader is gone, a write
	 * fails with EPIPE and raises no SIGPIPE */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ready) < 0)
		box_fatal_errno("unable to create a socket pair");
	w->fd = ready[0];
	w->wfd = ready[1];
	box_signal(SIGCHLD, SIG_DFL);
	box_sigset(&chld, SIGCHLD, 0);
	box_loop_open_signals(&w->loop, &chld, on_sigchld, w);
}

/* The caller's verdict on --wait-ready, from the session leader's word. */
static int readiness_verdict(const struct config *c, const struct box_detach *d)
{
	const char *cmd = c->argv[0];
	char how[128];
	int code;

	switch (d->note.kind) {
	case REP_READY:
		if (c->verbose)
			box_warn("%s (pid %d) is ready", cmd, (int)d->pid);
		return 0;
	case REP_DIED:
		box_warn("%s %s before it was ready", cmd,
			box_fmt_status(how, sizeof(how), d->note.status));
		code = box_status_code(d->note.status);
		return code ? code : 1;
	case REP_CLOSED:
		box_warn("%s closed READY_FD without saying it is ready (pid %d still running)",
			cmd, (int)d->pid);
		return 1;
	case REP_TIMEOUT:
		box_warn("%s not ready after %s (pid %d still running)", cmd, c->ready_arg,
			(int)d->pid);
		return 124;
	}
	box_fatal("unable to learn whether %s is ready", cmd);
}

static int start(const struct config *c)
{
	struct kept k = { 0 };
	struct readiness w = { .fd = -1, .wfd = -1 };
	struct box_detach d = { .umask = (int)c->umask, .user = c->user, .busy_code = EXIT_RUNNING,
		.dir = c->dir ? c->dir : "/" };

	/* make sure 0-2 exist so nothing we open lands on them */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && box_open("/dev/null", O_RDWR, 0) != fd)
			box_fatal_errno("unable to open /dev/null");
	for (int fd = 0; fd < 3; fd++)
		box_set_cloexec(fd, 0);
	box_close_from(3);
	open_kept(c, &k);
	if (k.have_pidfile)
		d.pidfile = &k.pf;
	d.stdio[1] = k.outfd;
	d.stdio[2] = k.errfd;
	if (c->wait_ready) {
		prepare_readiness(c, &w);
		d.leader = leader_awaits_readiness;
		d.ctx = &w;
	}
	if (box_detach(&d) == 0)
		run_daemon(c, &k, &d, w.wfd);
	/* the leader sees READY_FD's end of file only once ours is closed */
	box_close(w.wfd);

	const char *cmd = c->argv[0];
	if (box_detach_wait(&d) < 0) {
		if (!d.fail.kind)
			box_fatal("unable to start %s: it died before it could say so", cmd);
		box_detach_exit(&d);
	}
	/* a daemon that died before it was ready leaves no pidfile behind */
	if (d.note.kind != REP_DIED)
		undo_on_exit = NULL;
	if (c->verbose)
		box_warn("started %s as pid %d", cmd, (int)d.pid);
	return c->wait_ready ? readiness_verdict(c, &d) : 0;
}

/* What a pidfile names, for --status and --stop. */
struct target {
	pid_t recorded;     /* the pid in the pidfile */
	pid_t pid;          /* the one that counts: recorded, or the lock holder */
	int fd;             /* the pidfile, read-only */
	int locked;
	int pidfd;          /* unlocked: pid as a pidfd, to signal and wait on */
};

/* A process that started this long after its pidfile was written is not
 * the one it names: timestamps coarser than the clock (a jiffy, a second
 * on some filesystems) must not make a daemon look younger. */
#define START_SLACK_NS BOX_NSEC

static int read_proc(pid_t pid, const char *what, char *buf, int size)
{
	char path[40];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	int fd = box_open(path, O_RDONLY, 0);
	int n = fd < 0 ? -1 : (int)box_read(fd, buf, (size_t)size - 1);
	box_close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* Whether pid is alive (not a zombie) and is what it should be: --exec's
 * file, --name's comm, and, when written >= 0 (the pidfile's mtime, wall
 * ns), not started after its pidfile was written. 1 yes, 0 no, -1 when
 * /proc does not let us tell (errno). */
static int is_daemon(const struct config *c, pid_t pid, int64_t written)
{
	char buf[512], exe[40], *p;
	struct stat a, b;

	/* after the command's name: the state, then starttime 19 fields on,
	 * in clock ticks since boot */
	if (read_proc(pid, "stat", buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')) ||
	    p[2] == 'Z' || p[2] == 'X')
		return 0;
	for (int i = 0; i < 20 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	long long start = strtoll(p, NULL, 10);
	if (written >= 0) {
		struct timespec boot;
		clock_gettime(CLOCK_BOOTTIME, &boot);
		int64_t age = boot.tv_sec * BOX_NSEC + boot.tv_nsec -
			(int64_t)start * (BOX_NSEC / sysconf(_SC_CLK_TCK));
		if (box_wall_ns() - age > written + START_SLACK_NS)
			return 0;
	}
	if (c->name) {
		read_proc(pid, "comm", buf, sizeof(buf));
		buf[strcspn(buf, "\n")] = 0;
		if (strncmp(buf, c->name, 15))
			return 0;
	}
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	if (c->exec && (stat(c->exec, &a) < 0 || stat(exe, &b) < 0))
		return errno == EACCES ? -1 : 0;
	return !c->exec || (a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

/* A locked pidfile's daemon: the recorded pid while it holds the lock,
 * else every process that does (children of a main process that died),
 * each sent sig unless it is 0. The first of them, 0 when none is seen,
 * -1 when a signal fails. */
static pid_t lock_holders(const struct target *t, int sig)
{
	pid_t h[64];
	int n = box_lock_holders(t->fd, h, 64);

	for (int i = 0; i < n; i++)
		if (h[i] == t->recorded)
			h[0] = h[i], n = 1;
	for (int i = 0; i < n; i++)
		if (sig && kill(h[i], sig) < 0 && errno != ESRCH)
			return -1;
	return n ? h[0] : 0;
}

/* A lock vouches for its holder; an unlocked pidfile (start-stop-daemon's,
 * a daemon's own) only for a pid that lives, matches --exec/--name and is
 * older than the pidfile. A pidfd taken before the checks makes sure the
 * signals reach the process they passed. */
static int find_daemon(const struct config *c, struct target *t)
{
	int r = box_pidfile_check(c->pidfile, &t->recorded, &t->fd);
	int64_t written = -1;
	struct stat st;

	t->pid = t->recorded;
	t->pidfd = -1;
	if (r == BOX_PIDFILE_ABSENT || r < 0)
		return r;
	t->locked = r == BOX_PIDFILE_RUNNING;
	if (t->locked) {
		pid_t holder = lock_holders(t, 0);
		if (holder > 0)
			t->pid = holder;
		if (!c->exec && !c->name)
			return r;
	} else {
		if (fstat(t->fd, &st) < 0)
			return -1;
		written = st.st_mtim.tv_sec * BOX_NSEC + st.st_mtim.tv_nsec;
		t->pidfd = t->pid > 0 ? (int)syscall(SYS_pidfd_open, t->pid, 0) : -1;
	}
	if (t->pid <= 0)
		return r;
	r = is_daemon(c, t->pid, written);
	return r < 0 ? -1 : r ? BOX_PIDFILE_RUNNING : BOX_PIDFILE_STALE;
}

static int found(const struct config *c, struct target *t)
{
	int r = find_daemon(c, t);
	if (r < 0)
		box_fatal_errno("unable to check pidfile %s", c->pidfile);
	return r;
}

/* --status, as LSB's and start-stop-daemon's. */
static int status(const struct config *c)
{
	struct target t;
	int r = found(c, &t);
	char line[300];
	int n = snprintf(line, sizeof(line), "%s: %s", c->pidfile, r == BOX_PIDFILE_RUNNING ?
		"running" : r == BOX_PIDFILE_STALE ? "not running, stale pidfile" : "not running");

	if (r != BOX_PIDFILE_ABSENT && t.pid > 0)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " (pid %d)", (int)t.pid);
	line[n++] = '\n';
	box_write_all(1, line, (size_t)n);
	return r == BOX_PIDFILE_ABSENT ? 3 : r;
}

/* start-stop-daemon's --retry schedule: a list of signals and timeouts;
 * "forever" repeats what follows it. */
struct step {
	int sig;             /* 0: a timeout */
	int64_t wait;
};

static int parse_schedule(const char *spec, struct step *steps, int max, int *repeat_at)
{
	char *copy = box_xstrdup(spec), *save = NULL;
	int n = 0;
	int64_t ns;

	*repeat_at = -1;
	if (!strchr(spec, '/')) {
		if (box_parse_duration(spec, &ns) != BOX_PARSE_OK)
			box_usage("invalid --retry schedule '%s': expected a timeout or SIG/DUR/...", spec);
		steps[0] = (struct step){ SIGTERM, 0 };
		steps[1] = (struct step){ 0, ns };
		steps[2] = (struct step){ SIGKILL, 0 };
		steps[3] = (struct step){ 0, ns };
		free(copy);
		return 4;
	}
	for (char *item = strtok_r(copy, "/", &save); item; item = strtok_r(NULL, "/", &save)) {
		if (n >= max)
			box_usage("invalid --retry schedule '%s': too many items", spec);
		if (!strcmp(item, "forever")) {
			if (*repeat_at >= 0)
				box_usage("invalid --retry schedule '%s': 'forever' twice", spec);
			*repeat_at = n;
			continue;
		}
		if (item[0] != '-' && box_parse_duration(item, &ns) == BOX_PARSE_OK) {
			steps[n++] = (struct step){ 0, ns };
			continue;
		}
		int sig = box_signum(item[0] == '-' ? item + 1 : item);
		if (sig <= 0)
			box_usage("invalid --retry schedule '%s': '%s' is neither a signal nor a timeout",
				spec, item);
		steps[n++] = (struct step){ sig, 0 };
	}
	free(copy);
	if (n < 2 || (*repeat_at >= 0 && *repeat_at >= n))
		box_usage("invalid --retry schedule '%s': expected SIG/DUR/...", spec);
	return n;
}

static int send_signal(const struct target *t, int sig)
{
	if (!t->locked && t->pidfd < 0)   /* Linux before 5.3: no pidfd */
		return kill(t->pid, sig);
	if (!t->locked)
		return (int)syscall(SYS_pidfd_send_signal, t->pidfd, sig, NULL, 0);
	pid_t first = lock_holders(t, sig);
	return first ? (first < 0 ? -1 : 0) : kill(t->pid, sig);
}

/* 0 once the daemon is gone (a lock: every holder; else the process), 1
 * while it is not by the deadline, -1 on an error. */
static int wait_gone(const struct target *t, int64_t deadline)
{
	if (t->locked) {
		if (box_lock_wait(t->fd, deadline) == 0)
			return 0;
		return errno == ETIMEDOUT || errno == EWOULDBLOCK ? 1 : -1;
	}
	if (t->pidfd < 0) {
		/* Linux before 5.3 cannot say when another's child ends: look */
		while (kill(t->pid, 0) == 0 && box_now_ns() < deadline)
			usleep(20000);
		return kill(t->pid, 0) == 0;
	}
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };
	int r = box_poll_until(&p, 1, deadline);
	return r < 0 ? -1 : !r;
}

static int stop(const struct config *c, const char *retry)
{
	struct step steps[64];
	int repeat_at, nsteps = parse_schedule(retry ? retry : "TERM/30/KILL/5", steps, 64, &repeat_at);
	struct target t;

	switch (found(c, &t)) {
	case BOX_PIDFILE_STALE:
		box_warn("%s: not running, stale pidfile (pid %d)", c->pidfile, (int)t.pid);
		return 1;
	case BOX_PIDFILE_ABSENT:
		box_warn("%s: not running", c->pidfile);
		return 1;
	}
	if (t.pid <= 0)
		box_fatal("pidfile %s is locked but holds no pid", c->pidfile);
	for (int i = 0; i < nsteps; i++) {
		int sig = steps[i].sig;
		if (sig && send_signal(&t, sig) < 0 && errno != ESRCH)
			box_fatal_errno("unable to send SIG%s to pid %d", box_signame(sig), (int)t.pid);
		int r = wait_gone(&t, box_now_ns() + steps[i].wait);
		if (r == 0) {
			if (box_same_file(t.fd, c->pidfile))
				unlink(c->pidfile);
			if (c->verbose)
				box_warn("stopped pid %d", (int)t.pid);
			return 0;
		}
		if (r < 0)
			box_fatal_errno("unable to wait for pid %d", (int)t.pid);
		if (i == nsteps - 1 && repeat_at >= 0)
			i = repeat_at - 1;
	}
	box_warn("pid %d still running after the --retry schedule", (int)t.pid);
	return 2;
}

static mode_t parse_umask(const char *s)
{
	mode_t m;

	if (box_parse_mode(s, &m) != BOX_PARSE_OK || m > 0777)
		box_usage("invalid umask '%s': expected an octal mode 0-0777", s);
	return m;
}

enum { OPT_STATUS = 256, OPT_STOP, OPT_RETRY, OPT_READY, OPT_EXEC, OPT_NAME };

static const struct box_opt opts[] = {
	{ "append", 'a', 'a', 0 },
	{ "chdir", 'c', 'c', 1 },
	{ "stderr", 'e', 'e', 1 },
	{ "env", 'E', 'E', 1 },
	{ "lockfile", 'l', 'l', 1 },
	{ "umask", 'm', 'm', 1 },
	{ "stdout", 'o', 'o', 1 },
	{ "pidfile", 'p', 'p', 1 },
	{ "user", 'u', 'u', 1 },
	{ "verbose", 'v', 'v', 0 },
	{ "status", OPT_STATUS, 0, 0 },
	{ "stop", OPT_STOP, 0, 0 },
	{ "retry", OPT_RETRY, 0, 1 },
	{ "wait-ready", OPT_READY, 0, 2 },
	{ "exec", OPT_EXEC, 0, 1 },
	{ "name", OPT_NAME, 0, 1 },
	{ 0 },
};

static int daemonize_main(int argc, char **argv)
{
	struct config c = { .ready_ns = -1, .umask = 022 };
	struct box_getopt g;
	struct box_user user;
	const char *retry = NULL, *user_spec = NULL;
	int mode = 0, opt;

	c.env = box_xcalloc((size_t)argc, sizeof(*c.env));
	box_getopt_init(&g, argc, argv);
	while ((opt = box_getopt(&g, opts)) != -1) {
		switch (opt) {
		case 'a': c.append = 1; break;
		case 'c': c.dir = g.arg; break;
		case 'e': c.err = g.arg; break;
		case 'l': c.lockfile = g.arg; break;
		case 'm': c.umask = parse_umask(g.arg); break;
		case 'o': c.out = g.arg; break;
		case 'p': c.pidfile = g.arg; break;
		case 'u': user_spec = g.arg; break;
		case 'v': c.verbose = 1; break;
		case 'E':
			if (!strchr(g.arg, '=') || g.arg[0] == '=')
				box_usage("invalid environment '%s': expected VAR=VALUE", g.arg);
			c.env[c.nenv++] = g.arg;
			break;
		case OPT_STATUS:
		case OPT_STOP:
			if (mode && mode != opt)
				box_usage("--status and --stop cannot be combined");
			mode = opt;
			break;
		case OPT_RETRY: retry = g.arg; break;
		case OPT_EXEC: c.exec = g.arg; break;
		case OPT_NAME: c.name = g.arg; break;
		case OPT_READY:
			c.wait_ready = 1;
			c.ready_arg = g.arg;
			if (g.arg)
				c.ready_ns = box_xparse_duration("--wait-ready duration", g.arg);
			break;
		}
	}
	if (retry && mode != OPT_STOP)
		box_usage("--retry needs --stop");
	if ((c.exec || c.name) && !mode)
		box_usage("--exec and --name need --status or --stop");
	if (mode) {
		if (g.ind < argc)
			box_usage("--%s takes no command", mode == OPT_STOP ? "stop" : "status");
		if (!c.pidfile)
			box_usage("--%s needs -p PIDFILE", mode == OPT_STOP ? "stop" : "status");
		return mode == OPT_STATUS ? status(&c) : stop(&c, retry);
	}
	if (g.ind >= argc)
		box_usage("no command given");
	if (user_spec) {
		const char *err;
		if (box_lookup_user(user_spec, &user, &err) < 0)
			box_usage("invalid user '%s': %s", user_spec, err);
		c.user = &user;
	}
	c.argv = argv + g.ind;
	c.path = c.argv[0];
	/* the daemon runs elsewhere (-c, or /): a relative path means here */
	if (strchr(c.path, '/') && c.path[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		if (!cwd)
			box_fatal_errno("unable to get the current directory");
		c.path = box_xasprintf("%s/%s", cwd, c.path);
		free(cwd);
	}
	return start(&c);
}

const struct applet applet_daemonize = {
	"daemonize", daemonize_main, usage, help, 125, 125,
};
