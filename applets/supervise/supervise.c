/* supervise: Supervisor's config, state machine and control verbs at the
 * footprint of s6 — a daemon that keeps programs running, and the client
 * (`supervise ctl`) that talks to it over a Unix socket. */
#include "supervise.h"

#include <stdlib.h>
#include <string.h>

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

enum { O_NAME = 256, O_AUTORESTART, O_STARTSECS, O_STARTRETRIES, O_STOPSIGNAL,
	O_STOPWAIT, O_BACKOFF };

static const struct box_opt opts[] = {
	{ 'c', 'c', "configuration", 1 },
	{ 'n', 'n', "nodaemon", 0 },
	{ 's', 's', "socket", 1 },
	{ O_NAME, 0, "name", 1 },
	{ O_AUTORESTART, 0, "autorestart", 1 },
	{ O_STARTSECS, 0, "startsecs", 1 },
	{ O_STARTRETRIES, 0, "startretries", 1 },
	{ O_STOPSIGNAL, 0, "stopsignal", 1 },
	{ O_STOPWAIT, 0, "stopwaitsecs", 1 },
	{ O_BACKOFF, 0, "backoff-max", 1 },
	{ 0 },
};

static struct pconf *single_pconf(char **cmd)
{
	struct pconf *p = pconf_new();
	const char *base = strrchr(cmd[0], '/');
	int n = 0;

	p->name = box_xstrdup(base ? base + 1 : cmd[0]);
	p->group = box_xstrdup(p->name);
	while (cmd[n])
		n++;
	p->argv = box_xcalloc((size_t)n + 1, sizeof(char *));
	memcpy(p->argv, cmd, sizeof(char *) * (size_t)n);
	p->command = box_xstrdup(cmd[0]);
	p->group_priority = 999;
	p->autorestart = AR_TRUE;
	p->logkind[0] = p->logkind[1] = LOG_INHERIT;
	p->fingerprint = box_xstrdup("");
	return p;
}

const char *supervise_argv0 = "supervise";

static int supervise_main(int argc, char **argv)
{
	struct box_getopt g;
	struct config cfg;
	const char *conf = NULL, *sock = NULL, *name = NULL;
	const char *ar = NULL, *ss = NULL, *sr = NULL, *sig = NULL, *sw = NULL, *bm = NULL;
	int foreground = 0, single_opts = 0, c;

	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc - 1, argv + 1);
	supervise_argv0 = argv[0];
	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, opts)) != -1) {
		single_opts += c >= O_NAME || c == 's';
		switch (c) {
		case 'c': conf = g.arg; break;
		case 'n': foreground = 1; break;
		case 's': sock = g.arg; break;
		case O_NAME: name = g.arg; break;
		case O_AUTORESTART: ar = g.arg; break;
		case O_STARTSECS: ss = g.arg; break;
		case O_STARTRETRIES: sr = g.arg; break;
		case O_STOPSIGNAL: sig = g.arg; break;
		case O_STOPWAIT: sw = g.arg; break;
		case O_BACKOFF: bm = g.arg; break;
		}
	}
	if (!g.dashdash) {
		if (g.ind < argc)
			box_usage("unexpected argument '%s' (a command goes after --)", argv[g.ind]);
		if (single_opts)
			box_usage("--name, -s and the program options need -- CMD");
		struct box_buf err = { 0 };
		char *path = conf ? box_xstrdup(conf) : config_search();
		if (!path)
			box_usage("no configuration file found at the default paths; use -c CONF");
		if (config_load(path, &cfg, &err) < 0)
			box_die(2, "%s", err.p);
		free(path);
		return supervise_daemon(&cfg, foreground || cfg.nodaemon, 0);
	}
	if (g.ind >= argc)
		box_usage("no command after --");
	if (conf)
		box_usage("-c cannot be combined with -- CMD");
	memset(&cfg, 0, sizeof(cfg));
	struct pconf *p = single_pconf(argv + g.ind);
	if (name) {
		if (!*name || strpbrk(name, ": \t"))
			box_usage("invalid name '%s'", name);
		free(p->name);
		free(p->group);
		p->name = box_xstrdup(name);
		p->group = box_xstrdup(name);
	}
	if (ar) {
		int b;
		if (!strcmp(ar, "unexpected"))
			p->autorestart = AR_UNEXPECTED;
		else if (parse_bool(ar, &b) == 0)
			p->autorestart = b ? AR_TRUE : AR_FALSE;
		else
			box_usage("invalid autorestart '%s': expected true, false or unexpected", ar);
	}
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
	cfg.procs = box_xcalloc(1, sizeof(*cfg.procs));
	cfg.procs[0] = p;
	cfg.nprocs = 1;
	cfg.sock_mode = 0700;
	cfg.umask = 022;
	if (sock)
		cfg.sock = box_xstrdup(strncmp(sock, "unix://", 7) ? sock : sock + 7);
	return supervise_daemon(&cfg, 1, 1);
}

const struct applet applet_supervise = {
	"supervise", supervise_main, usage, help, 2, 1,
};
