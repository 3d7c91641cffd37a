/* timer: run a command later (-d), again at a fixed rate (-i), on a cron
 * schedule (-c), and with a deadline per run (-t, GNU timeout's semantics),
 * all from one event loop: a signal fd, an inotify fd and the nearest
 * deadline. Delays and intervals are on CLOCK_MONOTONIC; cron fire times are
 * wall-clock times: a CLOCK_REALTIME timerfd armed with TFD_TIMER_CANCEL_ON_SET
 * wakes at the fire time and at once when the clock is set or the machine
 * resumes from suspend; without it the clock is re-read once a minute. */
#include "../../libbox/box.h"
#include "cron.h"
#include "crontab.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
	"timer [-d DUR] [-i DUR [-n COUNT]] [-c CRON [--next N [--from TIME]]] "
	"[-t DUR [-k DUR] [-s SIG] [-p] [-v]] [-f] "
	"[--overlap skip|wait|kill] [--cancel-if-missing PATH] -- CMD [ARG...]\n"
	"       timer --crontab FILE [--system] [--smtp SERVER] [--next N [--from TIME]]";

static const char help[] =
	"Run CMD (no shell) later, again, on a schedule, or with a deadline.\n"
	"\n"
	"  -d, --delay DUR        run once after DUR (with -i: the first run)\n"
	"  -i, --interval DUR     run now and every DUR at a fixed rate\n"
	"  -n, --count COUNT      with -i or -c: stop after COUNT runs\n"
	"  -c, --cron 'CRON'      run at the times of a 5-field cron expression\n"
	"                         or @hourly @daily @midnight @weekly @monthly\n"
	"                         @yearly @annually, in local time (TZ)\n"
	"      --next N           with -c: print the next N fire times and exit\n"
	"      --from TIME        with --next: count from TIME (ISO 8601, or @EPOCH)\n"
	"      --overlap MODE     a run due while the previous one is still going:\n"
	"                         skip (default), wait for it, or kill it\n"
	"      --cancel-if-missing PATH  cancel the pending runs when PATH disappears\n"
	"  -t, --timeout DUR      signal each run's process group after DUR\n"
	"  -k, --kill-after DUR   then SIGKILL it if still running DUR later\n"
	"  -s, --signal SIG       the signal sent at the deadline (default TERM;\n"
	"                         0: none, only -k's KILL)\n"
	"  -p, --preserve-status  exit with the command's status even if timed out\n"
	"  -v, --verbose          say each signal sent at a deadline on stderr\n"
	"      --default-signals  run CMD with every signal at default, even those\n"
	"                         ignored when timer started (nohup)\n"
	"  -f, --foreground       leave CMD in timer's process group (only CMD is\n"
	"                         signalled, it may use the terminal)\n"
	"      --crontab FILE     keep every job of a crontab (- for stdin), as cron;\n"
	"                         read again when it changes and on SIGHUP\n"
	"      --system           FILE has a user field (/etc/crontab's format)\n"
	"      --smtp SERVER      where output goes when MAILTO is set (localhost)\n"
	"\n"
	"Durations: 1.5, 200ms, 2s, 5m, 1h, 1d.\n"
	"Exit status: the (last) run's status; 122 cancelled because PATH\n"
	"disappeared; 128+N cancelled by signal N before a run; 124 timed out;\n"
	"137 killed after the deadline; 125 usage or own failure; 126 cannot\n"
	"execute; 127 not found.\n";

enum {
	EXIT_CANCELLED = 122,
	EXIT_TIMEDOUT = 124,
	EXIT_FAIL = 125,
};

/* ---- state -------------------------------------------------------------- */

enum overlap { OVERLAP_SKIP, OVERLAP_WAIT, OVERLAP_KILL };
static const char *const overlap_names[] = { "skip", "wait", "kill" };

struct run {
	pid_t pid;            /* 0: nothing running */
	int64_t deadline;     /* -t: when it is signalled; -1 none */
	int64_t kill_at;      /* -k: when SIGKILL follows; -1 none */
	int timed_out;        /* the timeout signal was sent */
	int killed;           /* SIGKILL was sent */
};

struct timer {
	char **argv;
	int64_t delay, interval, timeout, kill_after;   /* ns; -1 unset */
	long long count;      /* runs to start; -1 endless */
	long long runs;       /* runs started */
	int signal, preserve, foreground, verbose;
	enum overlap overlap;
	int have_cron;
	struct timer_cron cron;
	const char *watch_path;     /* --cancel-if-missing */
	struct box_watch watch;     /* on its directory, or polling it */

	struct run run;
	/* A run that exited on its deadline signal while others of its process
	 * group live on (a child ignoring SIGTERM): that group, SIGKILLed at
	 * the -k time all the same. 0: none. */
	pid_t linger;
	int64_t linger_at;
	int pending;          /* a run waits for the current one to end */
	int stopping;         /* no more runs */
	int cancelled;        /* stopped because the watched path disappeared */
	int status;           /* exit code of the last run */
	int died_of;          /* the signal that killed the last run, unless timed out */
	int64_t start;        /* -d/-i: monotonic time of run 0 */
	long long tick;       /* -i: index of the next tick */
	int64_t next_wall;    /* -c: next fire time, seconds since the epoch */
	int64_t since;        /* -c: when timer started following it */
	int wallfd;           /* -c: CLOCK_REALTIME timerfd, -1 without one */
	int64_t wall_armed;   /* the time wallfd is armed for; -1 to re-arm */
	struct box_loop loop;
};

/* Without a wall-clock timerfd, cron waits wake up this often to re-read
 * the clock. */
#define WALL_RECHECK_NS (60 * BOX_NSEC)
/* how often --cancel-if-missing looks at PATH without inotify */
#define WATCH_POLL_NS (100 * 1000000LL)

static int scheduling(const struct timer *tm)
{
	return !tm->stopping && (tm->count < 0 || tm->runs + tm->pending < tm->count);
}

/* ---- runs --------------------------------------------------------------- */

/* The run's process group, or with --foreground the run alone. */
static pid_t run_target(const struct timer *tm)
{
	return tm->foreground ? tm->run.pid : -tm->run.pid;
}

static void signal_run(struct timer *tm, int sig)
{
	pid_t target = run_target(tm);

	/* -v: GNU timeout's line, signal 0 named EXIT as it names it */
	if (tm->verbose)
		box_warn("sending signal %s to command '%s'", sig ? box_signame(sig) : "EXIT",
			tm->argv[0]);
	kill(target, sig);
	/* a stopped process would never act on the signal */
	if (sig != SIGKILL && sig != SIGCONT)
		kill(target, SIGCONT);
	if (sig == SIGKILL)
		tm->run.killed = 1;
	else if (tm->kill_after > 0 && tm->run.kill_at < 0)
		tm->run.kill_at = box_now_ns() + tm->kill_after;
}

/* Called as timeout: GNU timeout's messages and its SIGALRM. */
static int gnu_timeout;

static void start_run(struct timer *tm)
{
	struct box_spawn sp = { .argv = tm->argv, .fd_in = -1, .fd_out = -1, .fd_err = -1,
		.inherit_fds = 1, .pdeathsig = tm->signal,
		.pgroup = tm->foreground ? -1 : 0 };
	struct box_spawn_error e;
	char msg[256];

	tm->runs++;
	pid_t pid = box_spawn(&sp, &e);
	if (pid < 0) {
		if (!e.err)
			box_fatal_errno("unable to start %s", tm->argv[0]);
		if (gnu_timeout)
			box_warn("failed to run command '%s': %s", tm->argv[0], strerror(e.err));
		else
			box_warn("%s", box_fmt_spawn_error(msg, sizeof(msg), tm->argv[0], &e));
		tm->status = box_exec_fail_code(e.err);
		return;
	}
	memset(&tm->run, 0, sizeof(tm->run));
	tm->run.pid = pid;
	tm->run.deadline = tm->timeout > 0 ? box_now_ns() + tm->timeout : -1;
	tm->run.kill_at = -1;
}

static void finish_run(struct timer *tm, int wstatus)
{
	int code = box_status_code(wstatus);

	/* GNU timeout dies of the SIGKILL it sends to its own group: 128+9 */
	if (tm->run.killed)
		code = 128 + SIGKILL;
	else if (tm->run.timed_out && !tm->preserve)
		code = EXIT_TIMEDOUT;
	tm->status = code;
	tm->died_of = WIFSIGNALED(wstatus) && !tm->run.timed_out ? WTERMSIG(wstatus) : 0;
	if (tm->run.kill_at >= 0 && !tm->run.killed && !tm->foreground &&
	    kill(-tm->run.pid, 0) == 0) {
		if (tm->linger)
			kill(-tm->linger, SIGKILL);
		tm->linger = tm->run.pid;
		tm->linger_at = tm->run.kill_at;
	}
	tm->run.pid = 0;
	if (tm->pending) {
		tm->pending = 0;
		if (!tm->stopping)
			start_run(tm);
	}
}

static void reap(struct timer *tm)
{
	int wstatus;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
		if (pid == tm->run.pid)
			finish_run(tm, wstatus);
	/* the lingering group's members are orphans adopted by timer (a child
	 * subreaper): each one's end is a SIGCHLD here */
	if (tm->linger && kill(-tm->linger, 0) < 0)
		tm->linger = 0;
}

/* The deadline of the run: its signal, then SIGKILL after -k. */
static void check_run(struct timer *tm, int64_t now)
{
	if (tm->linger && now >= tm->linger_at) {
		if (tm->verbose)
			box_warn("sending signal KILL to what is left of command '%s'", tm->argv[0]);
		kill(-tm->linger, SIGKILL);
		/* adopted: reaped here, not left to init as zombies */
		while (waitpid(-tm->linger, NULL, 0) > 0 || errno == EINTR)
			;
		tm->linger = 0;
	}
	if (!tm->run.pid)
		return;
	if (tm->run.deadline >= 0 && now >= tm->run.deadline && !tm->run.timed_out) {
		tm->run.timed_out = 1;
		signal_run(tm, tm->signal);
	}
	if (tm->run.kill_at >= 0 && now >= tm->run.kill_at && !tm->run.killed)
		signal_run(tm, SIGKILL);
}

/* ---- cancelling ------------------------------------------------------------ */

static void cancel(struct timer *tm, int code, const char *why)
{
	tm->stopping = 1;
	tm->pending = 0;
	if (!tm->run.pid) {
		box_warn("run cancelled%s", why);
		exit(code);
	}
}

static void check_watch(struct timer *tm)
{
	struct stat st;

	if (!tm->watch_path || tm->cancelled ||
	    lstat(tm->watch_path, &st) == 0 || errno != ENOENT)
		return;
	tm->cancelled = 1;
	char *why = box_xasprintf(": %s disappeared", tm->watch_path);
	cancel(tm, EXIT_CANCELLED, why);
	box_warn("no more runs: %s disappeared", tm->watch_path);
	free(why);
}

/* Whatever happened in PATH's directory, or to it: look at PATH again. */
static void on_watch(void *ctx, int event, const char *name, const char *child)
{
	(void)event, (void)name, (void)child;
	check_watch(ctx);
}

/* SIGCHLD reaps; SIGUSR1 and SIGUSR2 are passed on to the run; any other
 * signal cancels the schedule and is passed on to the run. */
static void on_signal(void *ctx, int sig)
{
	struct timer *tm = ctx;
	char why[48];

	if (sig == SIGCHLD) {
		reap(tm);
		return;
	}
	/* GNU timeout's deadline is a SIGALRM: one sent from outside is it */
	if (sig == SIGALRM && gnu_timeout) {
		if (tm->run.pid && !tm->run.timed_out) {
			tm->run.timed_out = 1;
			signal_run(tm, tm->signal);
		}
		return;
	}
	if ((sig == SIGUSR1 || sig == SIGUSR2) && sig != tm->signal) {
		if (tm->run.pid)
			kill(run_target(tm), sig);
		return;
	}
	snprintf(why, sizeof(why), " by SIG%s", box_signame(sig));
	cancel(tm, 128 + sig, why);
	signal_run(tm, sig);
}

/* ---- the schedule ------------------------------------------------------------ */

/* A run is due: start it, or apply the overlap policy. */
static void fire(struct timer *tm)
{
	check_watch(tm);
	if (tm->stopping)
		return;
	if (!tm->run.pid) {
		start_run(tm);
		return;
	}
	switch (tm->overlap) {
	case OVERLAP_SKIP:
		box_warn("previous run still going, this one skipped");
		break;
	case OVERLAP_WAIT:
		tm->pending = 1;
		break;
	case OVERLAP_KILL:
		tm->pending = 1;
		if (!tm->run.timed_out) {
			tm->run.timed_out = 1;
			signal_run(tm, tm->signal);
		}
		break;
	}
}

/* The monotonic time of the next scheduled start, -1 for none. */
static int64_t next_start(const struct timer *tm, int64_t now)
{
	if (!scheduling(tm))
		return -1;
	if (tm->have_cron) {
		if (tm->wallfd >= 0)
			return -1;
		int64_t left = tm->next_wall * BOX_NSEC - box_wall_ns();
		return now + (left < WALL_RECHECK_NS ? (left > 0 ? left : 0) : WALL_RECHECK_NS);
	}
	return tm->start + tm->tick * (tm->interval > 0 ? tm->interval : 0);
}

static void check_schedule(struct timer *tm, int64_t now)
{
	if (!scheduling(tm))
		return;
	if (tm->have_cron) {
		int64_t wall = box_wall_ns();
		if (wall < tm->next_wall * BOX_NSEC)
			return;
		/* from the later of the two, so a clock set back never repeats a run */
		int64_t from = wall / BOX_NSEC > tm->next_wall ? wall / BOX_NSEC : tm->next_wall;
		tm->next_wall = timer_cron_next(&tm->cron, from, tm->since);
		fire(tm);
		if (tm->next_wall == TIMER_CRON_NONE)
			tm->stopping = 1;
		return;
	}
	if (now < next_start(tm, now))
		return;
	if (tm->interval > 0)   /* the next tick on the grid: missed ones are not caught up */
		tm->tick = (now - tm->start) / tm->interval + 1;
	else
		tm->tick = 1;
	fire(tm);
}

/* Arms the wall-clock timer for the next cron time. A clock step or a
 * resume from suspend cancels it (the read fails with ECANCELED), which
 * wakes the loop to look at the clock again. */
static void wall_arm(struct timer *tm)
{
	struct itimerspec its = { .it_value = { .tv_sec = tm->next_wall } };

	if (!scheduling(tm))
		its.it_value.tv_sec = 0;   /* disarm */
	if (tm->wallfd < 0 || its.it_value.tv_sec == tm->wall_armed)
		return;
	tm->wall_armed = its.it_value.tv_sec;
	/* ECANCELED: the clock was set since the last read. The timer is armed
	 * all the same, at an absolute time that is still the right one. */
	if (timerfd_settime(tm->wallfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0 &&
	    errno != ECANCELED) {
		box_close(tm->wallfd);
		tm->wallfd = -1;
	}
}

static void on_wall(void *ctx, int fd, short revents)
{
	struct timer *tm = ctx;
	uint64_t n;

	(void)revents;
	/* expiry or ECANCELED: the clock is looked at again and the timer
	 * armed anew */
	(void)!read(fd, &n, sizeof(n));
	tm->wall_armed = -1;
}

/* Ends timer the way its command ended, as GNU timeout does, so that a
 * caller's wait sees the signal: without a core file of timer's own. */
static void die_as(int sig)
{
	struct rlimit none = { 0, 0 };
	sigset_t one;

	setrlimit(RLIMIT_CORE, &none);
	box_signal(sig, SIG_DFL);
	box_sigset(&one, sig, 0);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
}

/* ---- the loop ------------------------------------------------------------------ */

static int timer_loop(struct timer *tm)
{
	struct box_loop *l = &tm->loop;

	for (;;) {
		int64_t now = box_now_ns();
		check_run(tm, now);
		check_schedule(tm, now);
		if (!tm->run.pid && !tm->pending && !tm->linger && !scheduling(tm))
			return tm->cancelled ? EXIT_CANCELLED : tm->status;

		box_loop_begin(l);
		box_loop_signals(l);
		if (tm->watch_path && scheduling(tm))
			box_watch_turn(&tm->watch, l);
		wall_arm(tm);
		box_loop_fd(l, tm->wallfd, POLLIN, on_wall, tm);
		box_loop_deadline(l, next_start(tm, now));
		if (tm->run.pid && !tm->run.timed_out)
			box_loop_deadline(l, tm->run.deadline);
		if (tm->run.pid && !tm->run.killed)
			box_loop_deadline(l, tm->run.kill_at);
		if (tm->linger)
			box_loop_deadline(l, tm->linger_at);
		box_loop_wait(l);
		if (tm->watch_path && box_watch_due(&tm->watch))
			check_watch(tm);
	}
}

/* ---- options and setup -------------------------------------------------------- */

static int print_next(const struct timer_cron *c, const char *expr, int64_t from, long long n)
{
	struct box_buf out = { 0 };
	int64_t since = from;

	for (long long i = 0; i < n; i++) {
		from = timer_cron_next(c, from, since);
		if (from == TIMER_CRON_NONE) {
			if (!i)
				box_usage("invalid cron expression '%s': it never fires", expr);
			break;
		}
		timer_format_time(&out, from);
	}
	if (box_write_all(1, out.p, out.len) < 0)
		box_fatal_errno("unable to write");
	box_buf_free(&out);
	return 0;
}

enum {
	OPT_NEXT = 256, OPT_FROM, OPT_OVERLAP, OPT_CANCEL, OPT_PRESERVE, OPT_FOREGROUND,
	OPT_DEFAULT_SIGNALS, OPT_CRONTAB, OPT_SYSTEM, OPT_SMTP,
};

static const struct box_opt opts[] = {
	{ "delay", 'd', 'd', 1 },
	{ "interval", 'i', 'i', 1 },
	{ "count", 'n', 'n', 1 },
	{ "cron", 'c', 'c', 1 },
	{ "next", OPT_NEXT, 0, 1 },
	{ "from", OPT_FROM, 0, 1 },
	{ "overlap", OPT_OVERLAP, 0, 1 },
	{ "cancel-if-missing", OPT_CANCEL, 0, 1 },
	{ "timeout", 't', 't', 1 },
	{ "kill-after", 'k', 'k', 1 },
	{ "signal", 's', 's', 1 },
	{ "preserve-status", OPT_PRESERVE, 'p', 0 },
	{ "default-signals", OPT_DEFAULT_SIGNALS, 0, 0 },
	{ "foreground", OPT_FOREGROUND, 'f', 0 },
	{ "verbose", 'v', 'v', 0 },
	{ "crontab", OPT_CRONTAB, 0, 1 },
	{ "system", OPT_SYSTEM, 0, 0 },
	{ "smtp", OPT_SMTP, 0, 1 },
	{ 0 },
};

static enum overlap parse_overlap(const char *s)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(overlap_names); i++)
		if (!strcmp(s, overlap_names[i]))
			return (enum overlap)i;
	box_usage("invalid overlap mode '%s': expected skip, wait or kill", s);
}

static int timer_main(int argc, char **argv)
{
	struct timer tm = { .delay = -1, .interval = -1, .timeout = -1, .kill_after = -1,
		.count = -1, .signal = SIGTERM, .watch = { .fd = -1 }, .wallfd = -1,
		.wall_armed = -1 };
	const char *cron_expr = NULL, *from_arg = NULL, *watch_path = NULL, *crontab = NULL,
		*smtp = NULL;
	int system = 0;
	long long next = 0;
	int have_signal = 0, have_overlap = 0;
	struct box_getopt g;
	int c;

	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, opts)) != -1) {
		switch (c) {
		case 'd': tm.delay = box_xparse_duration("delay", g.arg); break;
		case 'i': tm.interval = box_xparse_duration("interval", g.arg); break;
		case 'n': tm.count = box_xparse_ll("count", g.arg, 1, LLONG_MAX); break;
		case 'c': cron_expr = g.arg; break;
		case OPT_NEXT: next = box_xparse_ll("--next count", g.arg, 1, 100000); break;
		case OPT_FROM: from_arg = g.arg; break;
		case OPT_OVERLAP: tm.overlap = parse_overlap(g.arg); have_overlap = 1; break;
		case OPT_CANCEL: watch_path = g.arg; break;
		case 't': tm.timeout = box_xparse_duration("timeout", g.arg); break;
		case 'k': tm.kill_after = box_xparse_duration("kill-after", g.arg); break;
		case 's':
			/* 0, as GNU timeout takes it: nothing sent but -k's KILL */
			tm.signal = !strcmp(g.arg, "0") ? 0 : box_xsignum("signal", g.arg);
			have_signal = 1;
			break;
		case OPT_PRESERVE: tm.preserve = 1; break;
		case OPT_DEFAULT_SIGNALS: box_sig_forget_ignored(); break;
		case OPT_FOREGROUND: tm.foreground = 1; break;
		case 'v': tm.verbose = 1; break;
		case OPT_CRONTAB: crontab = g.arg; break;
		case OPT_SYSTEM: system = 1; break;
		case OPT_SMTP: smtp = g.arg; break;
		}
	}
	tm.argv = argv + g.ind;

	if ((system || smtp) && !crontab)
		box_usage("%s needs --crontab", system ? "--system" : "--smtp");
	if (crontab) {
		int64_t from = box_wall_ns() / BOX_NSEC;
		if (cron_expr || tm.delay >= 0 || tm.interval >= 0 || tm.timeout >= 0 || tm.argv[0])
			box_usage("--crontab takes no command, -c, -d, -i or -t (per job: see timer(1))");
		if (from_arg && !next)
			box_usage("--from needs --next");
		if (from_arg && timer_parse_time(from_arg, &from))
			box_usage("invalid time '%s': expected YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] or @SECONDS",
				from_arg);
		return timer_crontab(crontab, system, smtp, next, from);
	}

	if (cron_expr) {
		char err[160];
		if (tm.delay >= 0 || tm.interval >= 0)
			box_usage("-c cannot be combined with -d or -i");
		if (timer_cron_parse(cron_expr, &tm.cron, err, sizeof(err)))
			box_usage("invalid cron expression '%s': %s", cron_expr, err);
		tm.have_cron = 1;
	}
	if (from_arg && !next)
		box_usage("--from needs --next");
	if (next) {
		int64_t from = box_wall_ns() / BOX_NSEC;
		if (!cron_expr)
			box_usage("--next needs -c");
		if (from_arg && timer_parse_time(from_arg, &from))
			box_usage("invalid time '%s': expected YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] or @SECONDS",
				from_arg);
		return print_next(&tm.cron, cron_expr, from, next);
	}
	if (tm.interval == 0)
		box_usage("invalid interval '0': must be more than 0");
	if (tm.count > 0 && tm.interval < 0 && !cron_expr)
		box_usage("-n needs -i or -c");
	if (tm.kill_after >= 0 && tm.timeout < 0 && tm.overlap != OVERLAP_KILL)
		box_usage("-k needs -t or --overlap kill");
	if (have_signal && tm.timeout < 0 && tm.overlap != OVERLAP_KILL)
		box_usage("-s needs -t or --overlap kill");
	if (tm.preserve && tm.timeout < 0)
		box_usage("--preserve-status needs -t");
	if (have_overlap && tm.interval < 0 && !cron_expr)
		box_usage("--overlap needs -i or -c");
	if (tm.delay < 0 && tm.interval < 0 && !cron_expr && tm.timeout < 0)
		box_usage("nothing to do: give -d, -i, -c or -t");
	if (watch_path && tm.delay < 0 && tm.interval < 0 && !cron_expr)
		box_usage("--cancel-if-missing needs -d, -i or -c");
	if (!tm.argv[0])
		box_usage("no command given");

	if (tm.interval < 0 && !cron_expr)
		tm.count = 1;
	tm.start = box_now_ns() + (tm.delay > 0 ? tm.delay : 0);
	if (cron_expr) {
		tm.since = box_wall_ns() / BOX_NSEC;
		tm.next_wall = timer_cron_next(&tm.cron, tm.since, tm.since);
		if (tm.next_wall == TIMER_CRON_NONE)
			box_usage("invalid cron expression '%s': it never fires", cron_expr);
		tm.wallfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	}

	sigset_t set;
	box_sigset(&set, SIGCHLD, BOX_FORWARDED, 0);
	if (gnu_timeout) {
		/* GNU timeout catches these even when it was started with them
		 * ignored, so its command has them at default */
		static const int caught[] = { SIGALRM, SIGINT, SIGQUIT, SIGHUP, SIGTERM };
		for (size_t i = 0; i < BOX_ARRAY_LEN(caught); i++)
			box_sig_take(caught[i]);
		if (tm.signal > 0 && tm.signal != SIGKILL && tm.signal != SIGSTOP)
			box_sig_take(tm.signal);
		sigaddset(&set, SIGALRM);
	}
	/* the -s signal sent to timer is passed on too, as GNU timeout does */
	if (tm.signal != SIGKILL && tm.signal != SIGSTOP)
		sigaddset(&set, tm.signal);
	box_loop_open_signals(&tm.loop, &set, on_signal, &tm);
	/* -k: a child of the run that outlives it is adopted, so its end wakes
	 * timer (see linger) */
	if (tm.kill_after > 0 && !tm.foreground)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (watch_path) {
		/* PATH leaves its directory, or the directory itself goes */
		char *dir = box_xdirname(watch_path);
		tm.watch_path = watch_path;
		if (box_watch_open(&tm.watch, WATCH_POLL_NS, 0, on_watch, &tm) == 0)
			box_watch_add(&tm.watch, -1, dir, "", BOX_WATCH_CONTENT | BOX_WATCH_DIR);
		free(dir);
		check_watch(&tm);
	}
	int code = timer_loop(&tm);
	if (tm.died_of && !tm.cancelled)
		die_as(tm.died_of);
	return code;
}

/* ---- timeout: GNU timeout's command line ------------------------------------ */

static const char timeout_usage[] =
	"timeout [-k DUR] [-s SIG] [-v] [-p] [-f] DURATION COMMAND [ARG...]";

static const char timeout_help[] =
	"timer -t under GNU timeout's command line, messages and exit codes:\n"
	"DURATION in seconds, or with s, m, h or d (0: none); -k, -s, -v, -p, -f as\n"
	"GNU's. See timeout(1).\n";

static BOX_NORETURN void timeout_usage_error(const char *fmt, const char *arg)
{
	if (fmt)
		box_warn(fmt, arg);
	box_write_all(2, "Try 'timeout --help' for more information.\n", 43);
	exit(EXIT_FAIL);
}

/* GNU's DURATION: a floating-point number of seconds, or of the unit s,
 * m, h or d after it; a part of a nanosecond counts as one. As "%lldns"
 * for timer; "0" for none (also beyond timer's 100 years). */
static char *timeout_duration(const char *s)
{
	static const struct { char unit; int secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	char *end;
	errno = 0;
	double d = box_strtod(s, &end);
	int mult = !end[0];
	for (size_t i = 0; i < BOX_ARRAY_LEN(units); i++)
		if (end[0] == units[i].unit && !end[1])
			mult = units[i].secs;
	if (end == s || !mult || !(d >= 0) || s[strspn(s, " \t\n")] == '-')
		timeout_usage_error("invalid time interval '%s'", s);
	d *= mult * 1e9;
	if (d >= (double)BOX_DURATION_MAX)
		return box_xstrdup("0");
	long long ns = (long long)d;
	ns += ns < d || (!ns && errno == ERANGE);   /* round up; underflow is above 0 */
	return box_xasprintf("%lldns", ns);
}

static int timeout_main(int argc, char **argv)
{
	static const struct box_opt topts[] = {
		{ "kill-after", 'k', 'k', 1 }, { "signal", 's', 's', 1 },
		{ "verbose", 'v', 'v', 0 }, { "preserve-status", 'p', 'p', 0 },
		{ "foreground", 'f', 'f', 0 }, { 0 },
	};
	/* each option letter becomes at most two words: "-vpf" six */
	char **av = box_xcalloc(3 * (size_t)argc + 8, sizeof(*av));
	int n = 0, c;
	struct box_getopt g;

	av[n++] = "timeout";
	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, topts)) != -1) {
		switch (c) {
		case 'k':
			av[n++] = "-k";
			av[n++] = timeout_duration(g.arg);
			break;
		case 's':
			if (strcmp(g.arg, "0") && box_signum(g.arg) < 0)
				timeout_usage_error("'%s': invalid signal", g.arg);
			av[n++] = "-s";
			av[n++] = g.arg;
			break;
		case 'v': av[n++] = "-v"; break;
		case 'p': av[n++] = "-p"; break;
		case 'f': av[n++] = "-f"; break;
		}
	}
	if (argc - g.ind < 2)
		timeout_usage_error(NULL, NULL);	/* GNU says no more */
	av[n++] = "-t";
	av[n++] = timeout_duration(argv[g.ind]);
	av[n++] = "--";
	for (int i = g.ind + 1; i < argc; i++)
		av[n++] = argv[i];
	gnu_timeout = 1;
	return timer_main(n, av);
}

const struct applet applet_timeout = {
	"timeout", timeout_main, timeout_usage, timeout_help, EXIT_FAIL, EXIT_FAIL,
};

const struct applet applet_timer = {
	"timer", timer_main, usage, help, EXIT_FAIL, EXIT_FAIL,
};
