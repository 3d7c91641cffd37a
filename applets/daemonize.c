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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
	"daemonize [-av] [-c DIR] [-m UMASK] [-p PIDFILE] [-l LOCKFILE] [-o OUT] [-e ERR] "
	"[-u USER[:GROUP]] [-E VAR=VAL]... [--wait-ready[=DUR]] [--] CMD [ARG...] | "
	"daemonize --status -p PIDFILE | daemonize --stop -p PIDFILE [--retry SCHEDULE]";

static const char help[] =
	"Run CMD (no shell) as a daemon: detached from the terminal and session,\n"
	"cwd /, umask 0, stdio /dev/null, default signals, no inherited fds.\n"
	"\n"
	"  -c, --chdir DIR       working directory (default /)\n"
	"  -m, --umask UMASK     octal file mode mask (default 0)\n"
	"  -p, --pidfile FILE    write the pid to FILE, locked while CMD lives (fd 3);\n"
	"                        refuse to start while it is locked\n"
	"  -l, --lockfile FILE   hold a lock on FILE while CMD lives; refuse to start\n"
	"                        while it is locked\n"
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
	"  --stop -p FILE        signal the daemon and wait until its lock is free\n"
	"  --retry SCHEDULE      --stop's schedule, as start-stop-daemon's:\n"
	"                        SIG/DUR/SIG/DUR[/forever...] (default TERM/30/KILL/5)\n"
	"\n"
	"Exit status: 0 started (or ready); 125 usage or own failure; 126 CMD not\n"
	"executable; 127 CMD not found; --wait-ready: 124 not ready in time, CMD's\n"
	"status if it died first (1 for status 0 or a closed READY_FD).\n"
	"--stop: 0 stopped, 1 not running, 2 still running after the schedule.\n";

struct config {
	const char *dir, *pidfile, *lockfile, *out, *err;
	mode_t umask;
	int append, verbose, wait_ready;
	const char *ready_arg;
	int64_t ready_deadline;      /* monotonic ns, -1: none */
	struct box_user *user;
	char **env;
	int nenv;
	char **argv;
	const char *path;            /* argv[0], made absolute when relative */
};

/* What the daemon side tells the caller, one record per write (atomic:
 * smaller than PIPE_BUF). */
enum { REP_PID = 1, REP_FAIL, REP_EXEC_FAIL, REP_READY, REP_DIED, REP_CLOSED, REP_TIMEOUT };
struct report {
	int kind;
	int err;
	int status;
	pid_t pid;
	char what[200];
};

/* The fds the daemon keeps, moved down to 3, 4, 5 in this order. */
struct kept {
	struct box_pidfile pf;
	int have_pidfile;
	int lockfd;
	int devnull, outfd, errfd;
};

static struct kept *undo_on_exit;

static void undo_pidfile(void)
{
	if (undo_on_exit && undo_on_exit->have_pidfile)
		box_pidfile_abort(&undo_on_exit->pf);
}

static void send_report(int fd, int kind, int err, const char *what)
{
	struct report r = { .kind = kind, .err = err, .pid = getpid() };
	if (what)
		snprintf(r.what, sizeof(r.what), "%s", what);
	box_write_all(fd, &r, sizeof(r));
}

BOX_NORETURN static void child_fail(int rep, int kind, const char *what)
{
	send_report(rep, kind, errno, what);
	_exit(125);
}

/* Moves each kept fd to the lowest numbers from 3 up. The targets are
 * always fds the caller opened before the report pipe (lock files,
 * /dev/null, -o, -e: at least one more than the kept fds), never the
 * report pipe or a kept fd not moved yet, since both are higher. */
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

/* The daemon process itself, after the second fork. */
BOX_NORETURN static void daemon_child(const struct config *c, struct kept *k, int rep, int ready_w)
{
	static char what[200];
	int keep[3], nkeep = 0;

	box_reset_signals();
	if (dup2(k->devnull, 0) < 0 || dup2(k->outfd, 1) < 0 || dup2(k->errfd, 2) < 0)
		child_fail(rep, REP_FAIL, "redirect standard i/o");
	if (k->have_pidfile) {
		if (box_pidfile_commit(&k->pf, getpid()) < 0) {
			snprintf(what, sizeof(what), "write pidfile %s", c->pidfile);
			child_fail(rep, REP_FAIL, what);
		}
		keep[nkeep++] = k->pf.fd;
	}
	if (k->lockfd >= 0)
		keep[nkeep++] = k->lockfd;
	if (ready_w >= 0)
		keep[nkeep++] = ready_w;
	if (move_down(keep, nkeep) < 0)
		child_fail(rep, REP_FAIL, "arrange file descriptors");
	umask(c->umask);
	if (c->user) {
		const char *step = box_drop_privileges(c->user);
		if (step)
			child_fail(rep, REP_FAIL, step);
	}
	for (int i = 0; i < c->nenv; i++)
		if (putenv(c->env[i]) < 0)
			child_fail(rep, REP_FAIL, "set the environment");
	/* an inherited READY_FD would name one of our fds (the pidfile) */
	if (ready_w >= 0) {
		char num[16];
		snprintf(num, sizeof(num), "%d", 3 + nkeep - 1);
		if (setenv("READY_FD", num, 1) < 0)
			child_fail(rep, REP_FAIL, "set READY_FD");
	} else {
		unsetenv("READY_FD");
	}
	if (chdir(c->dir ? c->dir : "/") < 0) {
		snprintf(what, sizeof(what), "change directory to %s", c->dir ? c->dir : "/");
		child_fail(rep, REP_FAIL, what);
	}
	execvp(c->path, c->argv);
	child_fail(rep, REP_EXEC_FAIL, "execute");
}

/* After EOF on READY_FD the exit may not have been reported yet: the
 * kernel closes a dying process's files before it becomes a zombie. */
#define EXIT_GRACE_NS BOX_NSEC

static int reap(pid_t pid, int *status)
{
	return box_waitpid(pid, status, WNOHANG) == pid;
}

/* The first child (session leader) waits for the daemon's readiness. */
static void wait_ready(const struct config *c, pid_t pid, int readyfd, int sigfd,
	struct report *r)
{
	struct pollfd pfd[2] = { { readyfd, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
	int exited = 0, eof = 0, status = 0;
	char buf[512];

	for (;;) {
		int64_t deadline = c->ready_deadline;
		int grace = 0;
		if (eof && !exited) {
			int64_t end = box_now_ns() + EXIT_GRACE_NS;
			if (deadline < 0 || end < deadline)
				deadline = end, grace = 1;
		}
		int n = box_poll_until(pfd, 2, deadline);
		if (n < 0) {
			r->kind = REP_FAIL;
			r->err = errno;
			snprintf(r->what, sizeof(r->what), "wait for readiness");
			return;
		}
		if (n == 0) {
			r->kind = grace ? REP_CLOSED : REP_TIMEOUT;
			if (grace && reap(pid, &status)) {
				r->kind = REP_DIED;
				r->status = status;
			}
			return;
		}
		if (pfd[0].revents) {
			ssize_t got = box_read(readyfd, buf, sizeof(buf));
			if (got > 0 && memchr(buf, '\n', (size_t)got)) {
				r->kind = REP_READY;
				return;
			}
			if (got <= 0) {
				eof = 1;
				pfd[0].fd = -1;
			}
		}
		if (pfd[1].revents) {
			while (box_sigfd_read(sigfd) > 0)
				;
			if (!exited && reap(pid, &status)) {
				exited = 1;
				pfd[1].fd = -1;
			}
		}
		/* a clean exit may be a program that forks and exits: its
		 * child can still say it is ready on the inherited fd */
		if (exited && (eof || !WIFEXITED(status) || WEXITSTATUS(status))) {
			r->kind = REP_DIED;
			r->status = status;
			return;
		}
	}
}

/* The first child: new session, second fork, then report. */
BOX_NORETURN static void first_child(const struct config *c, struct kept *k, int rep)
{
	int ready[2] = { -1, -1 }, sigfd = -1;
	sigset_t chld;

	if (setsid() < 0)
		child_fail(rep, REP_FAIL, "create a session");
	if (c->wait_ready) {
		box_reset_signals();
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		if (pipe2(ready, O_CLOEXEC) < 0 || (sigfd = box_sigfd_open(&chld)) < 0)
			child_fail(rep, REP_FAIL, "create the readiness pipe");
	}
	pid_t pid = fork();
	if (pid < 0)
		child_fail(rep, REP_FAIL, "fork");
	if (pid == 0)
		daemon_child(c, k, rep, ready[1]);

	/* the caller is woken once only, at the exec, when it needs no pid */
	struct report r = { .kind = REP_PID, .pid = pid };
	if (c->verbose || c->wait_ready)
		box_write_all(rep, &r, sizeof(r));
	if (!c->wait_ready)
		_exit(0);
	close(ready[1]);
	memset(&r, 0, sizeof(r));
	r.pid = pid;
	wait_ready(c, pid, ready[0], sigfd, &r);
	box_write_all(rep, &r, sizeof(r));
	_exit(0);
}

static int open_output(const char *path, int append)
{
	int fd = box_open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0666);
	if (fd < 0)
		box_fatal_errno("unable to open %s", path);
	return fd;
}

static void refuse_running(const char *what, const char *path, int fd)
{
	pid_t pid = fd >= 0 ? box_pid_read(fd) : 0;
	if (pid > 0)
		box_fatal("%s %s is locked: already running as pid %d", what, path, (int)pid);
	box_fatal("%s %s is locked: already running", what, path);
}

/* Opens and locks everything the daemon keeps, in the order move_down
 * relies on: pidfile, lock file, /dev/null, -o, -e. */
static void open_kept(const struct config *c, struct kept *k)
{
	k->lockfd = -1;
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
	k->devnull = box_open("/dev/null", O_RDWR, 0);
	if (k->devnull < 0)
		box_fatal_errno("unable to open /dev/null");
	k->outfd = c->out ? open_output(c->out, c->append) : k->devnull;
	if (c->err && c->out && !strcmp(c->err, c->out))
		k->errfd = k->outfd;
	else
		k->errfd = c->err ? open_output(c->err, c->append) : k->devnull;
}

static int describe_death(const char *cmd, int status)
{
	if (WIFSIGNALED(status)) {
		const char *name = box_signame(WTERMSIG(status));
		box_warn("%s was killed by SIG%s before it was ready", cmd, name ? name : "?");
	} else {
		box_warn("%s exited with status %d before it was ready", cmd,
			WEXITSTATUS(status));
	}
	int code = box_status_code(status);
	return code ? code : 1;
}

static int start(struct config *c)
{
	struct kept k = { 0 };
	int rep[2], status;

	/* make sure 0-2 exist so nothing we open lands on them */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && box_open("/dev/null", O_RDWR, 0) != fd)
			box_fatal_errno("unable to open /dev/null");
	for (int fd = 0; fd < 3; fd++)
		box_set_cloexec(fd, 0);
	box_close_from(3);
	open_kept(c, &k);
	if (pipe2(rep, O_CLOEXEC) < 0)
		box_fatal_errno("unable to create a pipe");
	if (c->ready_arg) {
		int64_t d = box_xparse_duration("--wait-ready duration", c->ready_arg);
		c->ready_deadline = box_now_ns() + d;
	}
	pid_t first = fork();
	if (first < 0)
		box_fatal_errno("unable to fork");
	if (first == 0) {
		close(rep[0]);
		first_child(c, &k, rep[1]);
	}
	close(rep[1]);

	struct report r, fail = { 0 }, outcome = { 0 };
	pid_t pid = 0;
	while (box_read_full(rep[0], &r, sizeof(r)) == (ssize_t)sizeof(r)) {
		if (r.kind == REP_PID)
			pid = r.pid;
		else if (r.kind == REP_FAIL || r.kind == REP_EXEC_FAIL)
			fail = r;
		else
			outcome = r;
	}
	/* it exits 0 only after the second fork (-1: SIGCHLD was ignored) */
	int first_ok = box_waitpid(first, &status, 0) != first ||
		(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	const char *cmd = c->argv[0];
	if (fail.kind == REP_EXEC_FAIL) {
		errno = fail.err;
		box_warn_errno("unable to execute %s", cmd);
		return box_exec_fail_code(fail.err);
	}
	if (fail.kind == REP_FAIL) {
		errno = fail.err;
		box_fatal_errno("unable to %s", fail.what);
	}
	if (!first_ok || (!pid && (c->verbose || c->wait_ready)))
		box_fatal("unable to start %s: the first child died", cmd);
	/* a daemon that died before it was ready leaves no pidfile behind */
	if (outcome.kind != REP_DIED)
		undo_on_exit = NULL;
	if (c->verbose)
		box_warn("started %s as pid %d", cmd, (int)pid);
	if (!c->wait_ready)
		return 0;
	switch (outcome.kind) {
	case REP_READY:
		if (c->verbose)
			box_warn("%s (pid %d) is ready", cmd, (int)pid);
		return 0;
	case REP_DIED:
		return describe_death(cmd, outcome.status);
	case REP_CLOSED:
		box_warn("%s closed READY_FD without saying it is ready (pid %d still running)",
			cmd, (int)pid);
		return 1;
	case REP_TIMEOUT:
		box_warn("%s not ready after %s (pid %d still running)", cmd, c->ready_arg, (int)pid);
		return 124;
	}
	box_fatal("unable to learn whether %s is ready", cmd);
}

/* --status: decided by the pidfile's lock. */
static int status(const struct config *c)
{
	pid_t pid;
	char line[300];
	int n;

	switch (box_pidfile_check(c->pidfile, &pid)) {
	case BOX_PIDFILE_RUNNING:
		if (pid > 0)
			n = snprintf(line, sizeof(line), "%s: running (pid %d)\n", c->pidfile, (int)pid);
		else
			n = snprintf(line, sizeof(line), "%s: running\n", c->pidfile);
		box_write_all(1, line, (size_t)n);
		return 0;
	case BOX_PIDFILE_STALE:
		n = snprintf(line, sizeof(line), "%s: not running, stale pidfile (pid %d)\n",
			c->pidfile, (int)pid);
		box_write_all(1, line, (size_t)n);
		return 1;
	case BOX_PIDFILE_ABSENT:
		n = snprintf(line, sizeof(line), "%s: not running\n", c->pidfile);
		box_write_all(1, line, (size_t)n);
		return 3;
	}
	box_fatal_errno("unable to check pidfile %s", c->pidfile);
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

static int stop(const struct config *c, const char *retry)
{
	struct step steps[64];
	int repeat_at, nsteps = parse_schedule(retry ? retry : "TERM/30/KILL/5", steps, 64, &repeat_at);
	pid_t pid;

	switch (box_pidfile_check(c->pidfile, &pid)) {
	case BOX_PIDFILE_RUNNING:
		break;
	case BOX_PIDFILE_STALE:
		box_warn("%s: not running, stale pidfile (pid %d)", c->pidfile, (int)pid);
		return 1;
	case BOX_PIDFILE_ABSENT:
		box_warn("%s: not running", c->pidfile);
		return 1;
	default:
		box_fatal_errno("unable to check pidfile %s", c->pidfile);
	}
	if (pid <= 0)
		box_fatal("pidfile %s is locked but holds no pid", c->pidfile);
	int fd = box_open(c->pidfile, O_RDONLY, 0);
	if (fd < 0)
		box_fatal_errno("unable to open %s", c->pidfile);
	for (int i = 0; i < nsteps; i++) {
		int r;
		if (steps[i].sig) {
			if (kill(pid, steps[i].sig) < 0 && errno != ESRCH)
				box_fatal_errno("unable to send SIG%s to pid %d",
					box_signame(steps[i].sig), (int)pid);
			r = box_lock_wait(fd, box_now_ns());
		} else {
			r = box_lock_wait(fd, box_now_ns() + steps[i].wait);
		}
		if (r == 0) {
			if (box_same_file(fd, c->pidfile))
				unlink(c->pidfile);
			if (c->verbose)
				box_warn("stopped pid %d", (int)pid);
			return 0;
		}
		if (errno != ETIMEDOUT && errno != EWOULDBLOCK)
			box_fatal_errno("unable to wait for the lock of %s", c->pidfile);
		if (i == nsteps - 1 && repeat_at >= 0)
			i = repeat_at - 1;
	}
	box_warn("pid %d still running after the --retry schedule", (int)pid);
	return 2;
}

static mode_t parse_umask(const char *s)
{
	unsigned long v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '7' && v <= 0777; p++)
		v = v * 8 + (unsigned long)(*p - '0');
	if (!*s || *p || v > 0777)
		box_usage("invalid umask '%s': expected an octal mode 0-0777", s);
	return (mode_t)v;
}

enum { OPT_STATUS = 256, OPT_STOP, OPT_RETRY, OPT_READY };

static const struct box_opt opts[] = {
	{ 'a', 'a', "append", 0 },
	{ 'c', 'c', "chdir", 1 },
	{ 'e', 'e', "stderr", 1 },
	{ 'E', 'E', "env", 1 },
	{ 'l', 'l', "lockfile", 1 },
	{ 'm', 'm', "umask", 1 },
	{ 'o', 'o', "stdout", 1 },
	{ 'p', 'p', "pidfile", 1 },
	{ 'u', 'u', "user", 1 },
	{ 'v', 'v', "verbose", 0 },
	{ OPT_STATUS, 0, "status", 0 },
	{ OPT_STOP, 0, "stop", 0 },
	{ OPT_RETRY, 0, "retry", 1 },
	{ OPT_READY, 0, "wait-ready", 2 },
	{ 0 },
};

static int daemonize_main(int argc, char **argv)
{
	struct config c = { .ready_deadline = -1 };
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
		case OPT_READY:
			c.wait_ready = 1;
			c.ready_arg = g.arg;
			if (g.arg)
				box_xparse_duration("--wait-ready duration", g.arg);
			break;
		}
	}
	if (retry && mode != OPT_STOP)
		box_usage("--retry needs --stop");
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
