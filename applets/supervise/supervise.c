/* supervise: Supervisor's config, state machine and control verbs at the
 * footprint of s6 — a daemon that keeps programs running, and the client
 * (`supervise ctl`) that talks to it over a Unix socket.
 *
 * This file is the daemon from start to exit: options, setup, detaching,
 * the loop and the exit status. The loop is s6-supervise's: compute the
 * nearest deadline, wait once on the signal fd, the control socket, the
 * programs' output pipes and the clients, dispatch; nothing wakes it
 * while nothing happens. config.c reads the configuration, proc.c is the
 * process state machine, server.c the socket, verbs.c what clients ask,
 * log.c the log files, ctl.c the client. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"supervise [-n] [-c CONF] | supervise [OPTIONS] -- CMD [ARG...] | "
	"supervise ctl [-c CONF | -s SOCKET] [VERB [ARG...]]";

static const char help[] =
	"Keep programs running, configured by a supervisord.conf.\n"
	"\n"
	"  -c, --configuration CONF  the configuration file (default: where\n"
	"                     supervisord looks: ../etc/supervisord.conf and\n"
	"                     ../supervisord.conf next to the binary,\n"
	"                     ./supervisord.conf, ./etc/supervisord.conf,\n"
	"                     /etc/supervisord.conf, /etc/supervisor/supervisord.conf)\n"
	"  -n, --nodaemon     stay in the foreground, log to stderr too\n"
	"\n"
	"One command, no configuration file (foreground):\n"
	"  -- CMD [ARG...]    supervise CMD; exits with its last status once it\n"
	"                     stops for good\n"
	"  --name NAME        the program's name (default: CMD's basename)\n"
	"  -s, --socket PATH  offer the control socket at PATH\n"
	"  --autorestart true|false|unexpected   (default true)\n"
	"  --startsecs DUR    (default 1)     --startretries N  (default 3, -1 forever)\n"
	"  --stopsignal SIG   (default TERM)  --stopwaitsecs DUR (default 10)\n"
	"  --backoff-max DUR  (default 60)\n"
	"\n"
	"Client: supervise ctl [-c CONF | -s SOCKET] VERB ARGS, VERB one of status\n"
	"[--json], start, stop, restart, signal, pid, avail, reread, update, reload,\n"
	"shutdown, version, tail [-f] [-BYTES], maintail, help; no VERB: a prompt.\n"
	"\n"
	"Exit status (daemon): 0 shut down; 1 cannot start (socket, pidfile, second\n"
	"daemon); 2 usage or configuration error.\n"
	"Exit status (ctl): 0; 1 error; 2 usage; 3 status: a program is not\n"
	"running; 4 status: unknown name or no server, or access refused;\n"
	"7 the program is not running / could not be started, or no server.\n";

enum { OPT_NAME = 256, OPT_AUTORESTART, OPT_STARTSECS, OPT_STARTRETRIES, OPT_STOPSIGNAL,
	OPT_STOPWAIT, OPT_BACKOFF };

static const struct box_opt opts[] = {
	{ "configuration", 'c', 'c', 1 },
	{ "nodaemon", 'n', 'n', 0 },
	{ "socket", 's', 's', 1 },
	{ "name", OPT_NAME, 0, 1 },
	{ "autorestart", OPT_AUTORESTART, 0, 1 },
	{ "startsecs", OPT_STARTSECS, 0, 1 },
	{ "startretries", OPT_STARTRETRIES, 0, 1 },
	{ "stopsignal", OPT_STOPSIGNAL, 0, 1 },
	{ "stopwaitsecs", OPT_STOPWAIT, 0, 1 },
	{ "backoff-max", OPT_BACKOFF, 0, 1 },
	{ 0 },
};


struct daemon sv;
const char *supervise_argv0 = "supervise";
static struct box_pidfile pidfile;
static struct box_detach detach;

/* ---- detaching ------------------------------------------------------------ */

/* The pidfile is taken first, so a second daemon stops here; then
 * libbox's one daemon(7) detach (in this process with -n): the caller
 * waits until the daemon is up (box_detach_up in supervise_daemon) and
 * exits 0, or says why it is not. The pidfile is never seen empty. */
static void supervise_detach(int foreground, int single)
{
	int pid_file = !single && sv.cfg.pidfile;
	const struct box_user *u = sv.cfg.user;

	/* [supervisord] user=: the daemon becomes the user before it opens
	 * its socket and logs, as supervisord does; only root can switch */
	if (u && u->uid == geteuid())
		u = NULL;
	if (u && geteuid() != 0)
		box_die(2, "unable to switch to user %s: %s", u->name, strerror(EPERM));

	if (pid_file && box_pidfile_prepare(&pidfile, sv.cfg.pidfile) < 0) {
		if (errno == EWOULDBLOCK)
			box_fatal("another supervise is already running (pidfile %s is locked)",
				sv.cfg.pidfile);
		box_fatal_errno("unable to open pidfile %s", sv.cfg.pidfile);
	}
	detach = (struct box_detach){
		.pidfile = pid_file ? &pidfile : NULL,
		.umask = single ? -1 : sv.cfg.umask,
		.dir = sv.cfg.directory,
		.user = u,
		.stay = foreground,
	};
	if (box_detach(&detach) > 0)
		box_detach_exit(&detach);
}

/* ---- the loop ------------------------------------------------------------------- */

void begin_shutdown(void)
{
	if (sv.shutting_down)
		return;
	sv.shutting_down = 1;
	mlog("INFO", "shutting down");
	/* the loop stops the programs, group by group */
	for (size_t i = 0; i < sv.nprocs; i++)
		sv.procs[i]->start_pending = 0;
}

static void on_signal(void *ctx, int sig)
{
	(void)ctx;
	if (sig == SIGCHLD) {
		procs_reap();
	} else if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
		begin_shutdown();
	} else if (sig == SIGHUP && !sv.single && !sv.shutting_down) {
		mlog("INFO", "received SIGHUP: rereading the configuration");
		verbs_update_all();
	} else if (sig == SIGUSR2) {
		mlog("INFO", "received SIGUSR2: reopening logs");
		logw_reopen(&main_log);
		procs_reopen_logs();
	}
}

static void on_log_notes(void *ctx, int fd, short revents)
{
	(void)ctx, (void)fd, (void)revents;
	logw_notes_read();
}

static void main_log_hook(const char *p, size_t n)
{
	server_follow_push(0, 0, p, n);
}

/* Shut down and every program gone, or the one program of supervise --
 * CMD stopped for good. */
static int finished(void)
{
	if (sv.shutting_down) {
		for (size_t i = 0; i < sv.nprocs; i++)
			if (sv.procs[i]->pid > 0)
				return 0;
		return 1;
	}
	if (!sv.single)
		return 0;
	struct proc *p = sv.procs[0];
	/* EXITED with a deadline: its restart is due */
	return p->state == ST_FATAL || (p->state == ST_EXITED && p->deadline < 0);
}

static void loop(void)
{
	struct box_loop *l = &sv.loop;

	for (;;) {
		/* after the turn: what its handlers marked is freed or started */
		procs_retire_and_replace();
		server_after_turn();
		if (sv.shutting_down)
			procs_stop_next_group();
		if (finished())
			break;
		box_loop_begin(l);
		box_loop_signals(l);
		box_loop_fd(l, logw_notes_fd(), POLLIN, on_log_notes, NULL);
		server_watch(l);
		procs_watch(l);
		logw_kick();
		box_loop_wait(l);
		procs_run_timers();
	}
}

static int single_exit_code(void)
{
	struct proc *p = sv.procs[0];
	if (sv.shutting_down)
		return 0;
	if (p->status >= 0)
		return box_status_code(p->status);
	if (p->spawn_errno)
		return box_exec_fail_code(p->spawn_errno);
	return 0;
}

/* ---- the daemon ----------------------------------------------------------------- */

int supervise_daemon(struct config *c, int foreground, int single)
{
	sigset_t set;

	sv.cfg = *c;
	sv.single = single;
	sv.listen_fd = sv.devnull = -1;
	sv.sock_uid = (uid_t)-1;
	sv.sock_gid = (gid_t)-1;
	supervise_detach(foreground, single);
	if (sv.cfg.sock)
		server_open(sv.cfg.sock, sv.cfg.sock_mode, sv.cfg.sock_owner);
	if (sv.cfg.minfds > 0)
		box_raise_nofile((unsigned long)sv.cfg.minfds);
	main_log_stderr = foreground;
	if (sv.cfg.logfile && strcmp(sv.cfg.logfile, "NONE") && !single)
		logw_open(&main_log, sv.cfg.logfile, sv.cfg.log_maxbytes, sv.cfg.log_backups);
	mlog_hook = main_log_hook;
#ifdef PR_SET_CHILD_SUBREAPER
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		mlog("WARN", "unable to become a child subreaper: %s", strerror(errno));
#endif
	box_signal(SIGPIPE, SIG_IGN);
	box_sigset(&set, SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR2, 0);
	box_loop_open_signals(&sv.loop, &set, on_signal, NULL);
	sv.devnull = box_open("/dev/null", O_RDWR, 0);
	if (detach.user)
		mlog("INFO", "Set uid to user %u succeeded", (unsigned)detach.user->uid);
	mlog("INFO", "supervise started with pid %d", (int)getpid());
	box_detach_up(&detach);
	for (size_t i = 0; i < sv.cfg.nprocs; i++)
		proc_new(sv.cfg.procs[i])->start_pending = sv.cfg.procs[i]->autostart;
	free(sv.cfg.procs);
	sv.cfg.procs = NULL;
	sv.cfg.nprocs = 0;

	loop();

	procs_drain();
	procs_hunt_orphans();
	mlog("INFO", sv.reloading ? "starting over" : "exiting");
	/* what is queued goes out, unless the disk has stopped answering */
	logw_flush(5 * BOX_NSEC);
	server_close();
	if (detach.pidfile)
		box_pidfile_abort(detach.pidfile);
	if (sv.reloading)
		verbs_reexec();
	return single ? single_exit_code() : 0;
}

/* ---- the applet ------------------------------------------------------------------ */

/* supervise -- CMD: one program, no configuration file. */
static struct pconf *single_pconf(char **cmd, const char *name)
{
	struct pconf *p = pconf_new();
	size_t n = 0;

	if (name && (!*name || strpbrk(name, ": \t")))
		box_usage("invalid name '%s'", name);
	p->name = box_xstrdup(name ? name : box_basename(cmd[0]));
	p->group = box_xstrdup(p->name);
	while (cmd[n])
		n++;
	p->argv = box_xcalloc(n + 1, sizeof(char *));
	memcpy(p->argv, cmd, sizeof(char *) * n);
	p->command = box_xstrdup(cmd[0]);
	p->group_priority = 999;
	p->autorestart = AR_TRUE;
	p->out[0].kind = p->out[1].kind = LOG_INHERIT;
	p->fingerprint = box_xstrdup("");
	return p;
}

static int daemon_from_file(const char *conf, int foreground)
{
	struct config cfg;

	config_xload(conf, &cfg, "no configuration file found at the default paths; use -c CONF");
	return supervise_daemon(&cfg, foreground || cfg.nodaemon, 0);
}

static int supervise_main(int argc, char **argv)
{
	struct box_getopt g;
	const char *conf = NULL, *sock = NULL, *name = NULL;
	const char *ar = NULL, *ss = NULL, *sr = NULL, *sig = NULL, *sw = NULL, *bm = NULL;
	int foreground = 0, single_opts = 0, c;

	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc - 1, argv + 1);
	supervise_argv0 = argv[0];
	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, opts)) != -1) {
		single_opts += c >= OPT_NAME || c == 's';
		switch (c) {
		case 'c': conf = g.arg; break;
		case 'n': foreground = 1; break;
		case 's': sock = g.arg; break;
		case OPT_NAME: name = g.arg; break;
		case OPT_AUTORESTART: ar = g.arg; break;
		case OPT_STARTSECS: ss = g.arg; break;
		case OPT_STARTRETRIES: sr = g.arg; break;
		case OPT_STOPSIGNAL: sig = g.arg; break;
		case OPT_STOPWAIT: sw = g.arg; break;
		case OPT_BACKOFF: bm = g.arg; break;
		}
	}
	if (!g.dashdash) {
		if (g.ind < argc)
			box_usage("unexpected argument '%s' (a command goes after --)", argv[g.ind]);
		if (single_opts)
			box_usage("--name, -s and the program options need -- CMD");
		return daemon_from_file(conf, foreground);
	}
	if (g.ind >= argc)
		box_usage("no command after --");
	if (conf)
		box_usage("-c cannot be combined with -- CMD");

	struct config cfg = { .sock_mode = 0700, .umask = 022 };
	struct pconf *p = single_pconf(argv + g.ind, name);
	if (ar && parse_autorestart(ar, &p->autorestart))
		box_usage("invalid autorestart '%s': expected true, false or unexpected", ar);
	if (ss)
		p->startsecs = box_xparse_duration("startsecs", ss);
	if (sr)
		p->startretries = (int)box_xparse_ll("startretries", sr, -1, 1000000);
	if (sig)
		p->stopsignal = box_xsignum("stopsignal", sig);
	if (sw)
		p->stopwaitsecs = box_xparse_duration("stopwaitsecs", sw);
	if (bm)
		p->backoff_max = box_xparse_duration("backoff-max", bm);
	*BOX_PUSH(cfg.procs, cfg.nprocs, cfg.procs_cap) = p;
	if (sock)
		cfg.sock = box_xstrdup(strncmp(sock, "unix://", 7) ? sock : sock + 7);
	return supervise_daemon(&cfg, 1, 1);
}

const struct applet applet_supervise = {
	"supervise", supervise_main, usage, help, 2, 1,
};
