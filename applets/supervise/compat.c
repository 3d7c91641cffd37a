/* supervisord and supervisorctl: Supervisor's own command lines mapped
 * onto the supervise daemon and `supervise ctl`, so the Dockerfiles, init
 * scripts and healthchecks that call them keep working. What has no
 * counterpart here is refused with one line and status 2, as supervisord
 * refuses a bad option. */
#include "supervise.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char d_usage[] =
	"supervisord [-c FILE] [-n] [-u USER] [-m UMASK] [-d DIR] [-l FILE] [-y BYTES] "
	"[-z N] [-e LEVEL] [-j FILE] [-i ID] [-a N] [-k] [-s] | -v | -h";

static const char d_help[] =
	"supervise's daemon under supervisord's options. -c, -n, -u, -m, -d, -l, -y,\n"
	"-z, -j and -a as supervisord; -e, -i, -k, -s and --minprocs are ignored;\n"
	"-q, -t and --profile_options are refused. See supervisord(1).\n"
	"Exit status: 0 shut down; 2 usage, configuration, or cannot start.\n";

enum { OPT_MINPROCS = 256, OPT_PROFILE };

static const struct box_opt d_opts[] = {
	{ "configuration", 'c', 'c', 1 }, { "nodaemon", 'n', 'n', 0 },
	{ "silent", 's', 's', 0 }, { "help", 'h', 'h', 0 }, { NULL, '?', '?', 0 },
	{ "version", 'v', 'v', 0 }, { "user", 'u', 'u', 1 }, { "umask", 'm', 'm', 1 },
	{ "directory", 'd', 'd', 1 }, { "logfile", 'l', 'l', 1 },
	{ "logfile_maxbytes", 'y', 'y', 1 }, { "logfile_backups", 'z', 'z', 1 },
	{ "loglevel", 'e', 'e', 1 }, { "pidfile", 'j', 'j', 1 },
	{ "identifier", 'i', 'i', 1 }, { "childlogdir", 'q', 'q', 1 },
	{ "nocleanup", 'k', 'k', 0 }, { "minfds", 'a', 'a', 1 },
	{ "strip_ansi", 't', 't', 0 }, { "minprocs", OPT_MINPROCS, 0, 1 },
	{ "profile_options", OPT_PROFILE, 0, 1 },
	{ 0 },
};

static int print_help(void)
{
	struct box_buf b = { 0 };
	box_buf_printf(&b, "usage: %s\n\n%s", box_applet->usage, box_applet->help);
	box_write_all(1, b.p, b.len);
	box_buf_free(&b);
	return 0;
}

/* supervisord's byte sizes: "1024", "10KB", "50MB", "1GB" */
static long long xparse_bytes(const char *s)
{
	static const char units[][3] = { "KB", "MB", "GB" };
	size_t n = strlen(s);
	int shift = 0;
	char num[24];

	for (int i = 0; i < 3; i++)
		if (n > 2 && !strcasecmp(s + n - 2, units[i]))
			shift = 10 * (i + 1), n -= 2;
	snprintf(num, sizeof(num), "%.*s", (int)n, s);
	return box_xparse_ll("logfile_maxbytes", num, 0, LLONG_MAX >> shift) << shift;
}

static void set(char **field, const char *v)
{
	free(*field);
	*field = box_xstrdup(v);
}

static int supervisord_main(int argc, char **argv)
{
	struct box_getopt g;
	struct config cfg;
	struct box_user user = { 0 };
	const char *user_name, *err, *o[OPT_PROFILE + 1] = { 0 };
	int c;
	mode_t m;

	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, d_opts)) != -1) {
		if (c == 'h' || c == '?')
			return print_help();
		if (c == 'v')
			return box_write_str(1, SUPERVISE_VERSION "\n") < 0;
		if (c == 'q' || c == 't' || c == OPT_PROFILE)
			box_die(2, "option %s is not supported", c == 'q' ? "-q/--childlogdir" :
				c == 't' ? "-t/--strip_ansi" : "--profile_options");
		o[c] = g.arg ? g.arg : "";
	}
	if (g.ind < argc)
		box_usage("positional arguments are not supported: %s", argv[g.ind]);
	if ((user_name = o['u']) && box_lookup_user(user_name, &user, &err) < 0)
		box_usage("invalid user '%s': %s", user_name, err);

	config_xload(o['c'], &cfg, "no configuration file found at the default paths; use -c FILE");
	if (o['m'] && box_parse_mode(o['m'], &m))
		box_usage("invalid umask '%s': not an octal mode", o['m']);
	if (o['m'])
		cfg.umask = (int)m;
	if (o['d'])
		set(&cfg.directory, o['d']);
	if (o['l'])
		set(&cfg.logfile, o['l']);
	if (o['j'])
		set(&cfg.pidfile, o['j']);
	if (o['y'])
		cfg.log_maxbytes = xparse_bytes(o['y']);
	if (o['z'])
		cfg.log_backups = (int)box_xparse_ll("logfile_backups", o['z'], 0, 1000);
	if (o['a'])
		cfg.minfds = (int)box_xparse_ll("minfds", o['a'], 0, 1 << 30);
	/* supervisord switches user before anything else: socket, pidfile, logs */
	if (user_name && user.uid != getuid() && (err = box_become_user(&user)))
		box_die(2, "unable to become user %s: %s", user_name, err);
	return supervise_daemon(&cfg, o['n'] || cfg.nodaemon, 0);
}

static const char c_usage[] =
	"supervisorctl [-c FILE] [-s unix:///PATH] [-u USER] [-p PASSWORD] [-i] [-r FILE] "
	"[VERB [ARG...]]";

static const char c_help[] =
	"supervise ctl under supervisorctl's options: -c, -s unix:///PATH and VERB as\n"
	"supervisorctl; -u, -p, -i and -r are ignored. See supervisorctl(1).\n"
	"Exit status: 0; 1 error; 2 usage; 3 status: a program is not running;\n"
	"4 status: unknown name or no server; 7 not running.\n";

static const struct box_opt c_opts[] = {
	{ "configuration", 'c', 'c', 1 }, { "serverurl", 's', 's', 1 },
	{ "username", 'u', 'u', 1 }, { "password", 'p', 'p', 1 },
	{ "interactive", 'i', 'i', 0 }, { "history-file", 'r', 'r', 1 },
	{ "help", 'h', 'h', 0 }, { NULL, '?', '?', 0 },
	{ 0 },
};

static int supervisorctl_main(int argc, char **argv)
{
	struct box_getopt g;
	const char *conf = NULL, *url = NULL;
	int c;

	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, c_opts)) != -1) {
		if (c == 'h' || c == '?')
			return print_help();
		if (c == 'c')
			conf = g.arg;
		if (c == 's')
			url = g.arg;
	}
	if (url && strncmp(url, "unix://", 7)) {
		if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))
			box_die(2, "%s: only unix:///PATH server URLs are supported", url);
		box_usage("invalid value for -s '%s': not a URL", url);
	}
	/* ctl [-c FILE | -s URL] VERB ARG...: -s wins over the file, as
	 * supervisorctl's command line wins over [supervisorctl] */
	char **av = box_xcalloc((size_t)(argc - g.ind) + 4, sizeof(char *));
	int ac = 0;
	av[ac++] = "ctl";
	if (url || conf) {
		av[ac++] = url ? "-s" : "-c";
		av[ac++] = (char *)(url ? url : conf);
	}
	if (g.ind < argc && argv[g.ind][0] == '-')
		av[ac++] = "--";
	memcpy(av + ac, argv + g.ind, sizeof(char *) * (size_t)(argc - g.ind));
	c = ctl_main(ac + argc - g.ind, av);
	free(av);
	return c;
}

const struct applet applet_supervisord = {
	"supervisord", supervisord_main, d_usage, d_help, 2, 2,
};

const struct applet applet_supervisorctl = {
	"supervisorctl", supervisorctl_main, c_usage, c_help, 2, 1,
};
