/* supervise ctl: supervisorctl's verbs over the daemon's Unix socket. */
#include "supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* How long a reply may take to begin before ctl asks, on a second
 * connection, whether the daemon still answers (within as long again): a
 * verb that waits for its programs (start, stop) goes on waiting while it
 * does, and a daemon that is hung or does not speak the protocol is given
 * up on after twice this. */
#define REPLY_WAIT_MS 2500

/* Ctrl-C at the prompt: the request in progress ends, not ctl. */
static volatile sig_atomic_t interrupted;
static sigset_t wait_mask;      /* the signal mask while waiting: SIGINT let in */

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* fd readable within ms (-1: no limit): 1, 0 when the time is up, -1 on
 * Ctrl-C. */
static int readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };
	int r;
	while ((r = ppoll(&p, 1, ms < 0 ? NULL : &ts, &wait_mask)) < 0 && !interrupted)
		;
	return interrupted ? -1 : r;
}

static const char *const verbs[] = {
	"status", "start", "stop", "restart", "signal", "pid", "avail", "reread",
	"update", "reload", "shutdown", "version", "tail", "maintail", "help",
	"exit", "quit",
};

static const char *const help_lines[][2] = {
	{ "status", "status <name>\t\tGet status for a single process\n"
		"status <gname>:*\tGet status for all processes in a group\n"
		"status <name> <name>\tGet status for multiple named processes\n"
		"status\t\t\tGet all process status info\n"
		"status --json [name...]\tThe same as a JSON array" },
	{ "start", "start <name>\t\tStart a process\nstart <gname>:*\t\tStart all processes in a group\n"
		"start <name> <name>\tStart multiple processes or groups\nstart all\t\tStart all processes" },
	{ "stop", "stop <name>\t\tStop a process\nstop <gname>:*\t\tStop all processes in a group\n"
		"stop <name> <name>\tStop multiple processes or groups\nstop all\t\tStop all processes" },
	{ "restart", "restart <name>\t\tRestart a process\nrestart <gname>:*\tRestart all processes in a group\n"
		"restart <name> <name>\tRestart multiple processes or groups\nrestart all\t\tRestart all processes" },
	{ "signal", "signal <signal name> <name>\t\tSignal a process\n"
		"signal <signal name> <gname>:*\t\tSignal all processes in a group\n"
		"signal <signal name> all\t\tSignal all processes" },
	{ "pid", "pid\t\t\tGet the PID of supervise.\npid <name>\t\tGet the PID of a single child process by name.\n"
		"pid all\t\t\tGet the PID of every child process, one per line." },
	{ "avail", "avail\t\t\tDisplay all configured processes" },
	{ "reread", "reread \t\t\tReload the daemon's configuration files without add/remove" },
	{ "update", "update\t\t\tReload config and add/remove as necessary, and will restart affected programs\n"
		"update <gname> [...]\tUpdate specific groups" },
	{ "reload", "reload \t\tRestart the remote supervise." },
	{ "shutdown", "shutdown \tShut the remote supervise down." },
	{ "version", "version\t\t\tShow the version of the remote supervise process" },
	{ "tail", "tail [-f] <name> [stdout|stderr] (default stdout)\nEx:\n"
		"tail -f <name>\t\tContinuous tail of named process stdout\n\t\t\tCtrl-C to exit.\n"
		"tail -100 <name>\tlast 100 *bytes* of process stdout\n"
		"tail <name> stderr\tlast 1600 *bytes* of process stderr" },
	{ "maintail", "maintail -f \tContinuous tail of supervise's main log file (Ctrl-C to exit)\n"
		"maintail -100\tlast 100 *bytes* of supervise's main log file\n"
		"maintail\tlast 1600 *bytes* of supervise's main log file" },
	{ "help", "help\t\tPrint a list of available actions\nhelp <action>\tPrint help for <action>" },
	{ "exit", "exit\tExit the supervise shell." },
	{ "quit", "quit\tExit the supervise shell." },
};

static int known_verb(const char *v)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(verbs); i++)
		if (!strcmp(verbs[i], v))
			return 1;
	return 0;
}

static int ctl_help(char **av, int ac)
{
	struct box_buf b = { 0 };
	if (!ac) {
		box_buf_adds(&b, "\ndefault commands (type help <topic>):\n"
			"=====================================\n");
		for (size_t i = 0; i < BOX_ARRAY_LEN(verbs); i++)
			box_buf_printf(&b, "%-10s%s", verbs[i], i % 6 == 5 ? "\n" : "");
		box_buf_adds(&b, "\n\n");
	}
	for (int k = 0; k < ac; k++) {
		int found = 0;
		for (size_t i = 0; i < BOX_ARRAY_LEN(help_lines); i++)
			if (!strcmp(help_lines[i][0], av[k])) {
				box_buf_printf(&b, "%s\n", help_lines[i][1]);
				found = 1;
			}
		if (!found)
			box_buf_printf(&b, "*** No help on %s\n", av[k]);
	}
	box_write_all(1, b.p, b.len);
	box_buf_free(&b);
	return 0;
}

static int ctl_connect(const char *sock)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(sock) >= sizeof(a.sun_path))
		box_usage("invalid socket path '%s': too long", sock);
	strcpy(a.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		box_fatal_errno("unable to create a socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	int err = errno;
	close(fd);
	errno = err;
	return -1;
}

static int answers(const char *sock);

static const char no_reply[] = "no reply within 5 seconds";

/* Reads the reply's "CODE LENGTH" line: NULL, or why not ("" on Ctrl-C).
 * While none comes, probe (if not NULL) is asked every REPLY_WAIT_MS
 * whether the daemon still answers. */
static const char *read_head(int fd, const char *probe, int *code, long long *len)
{
	char head[64], *end, *rest;
	size_t hl = 0;
	while (hl < sizeof(head) - 1) {
		int r = readable(fd, REPLY_WAIT_MS);
		if (!r && probe && answers(probe))
			continue;
		if (r <= 0)
			return interrupted ? "" : no_reply;
		if (read(fd, head + hl, 1) != 1)
			break;
		if (head[hl++] == '\n')
			break;
	}
	head[hl] = 0;
	*code = (int)strtol(head, &end, 10);
	*len = strtoll(end, &rest, 10);
	if (end == head || rest == end)
		return hl ? "not a supervise reply" : "connection closed";
	return NULL;
}

/* An empty request is answered at once by a daemon that is alive. */
static int answers(const char *sock)
{
	int fd = ctl_connect(sock), code, ok = 0;
	long long len;
	if (fd >= 0 && send(fd, "\n", 1, MSG_NOSIGNAL) == 1)
		ok = !read_head(fd, NULL, &code, &len);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Connects, sends the request, copies the reply to stdout; the exit code
 * comes from the reply header. */
static int ctl_request(const char *sock, char **av, int ac)
{
	int is_status = !strcmp(av[0], "status");
	struct box_buf req = { 0 };

	int fd = ctl_connect(sock);
	if (fd < 0) {
		int err = errno;
		struct box_buf m = { 0 };
		const char *what = err == ENOENT ? "no such file" : err == ECONNREFUSED ?
			"refused connection" : strerror(err);
		int shut = !strcmp(av[0], "shutdown");
		box_buf_printf(&m, "%sunix://%s %s%s\n", shut ? "ERROR: " : "", sock, what,
			shut ? " (already shut down?)" : "");
		box_write_all(1, m.p, m.len);
		box_buf_free(&m);
		if (is_status)
			return 4;
		if (shut)
			return 1;
		return err == ENOENT ? 7 : err == ECONNREFUSED || err == EACCES ? 4 : 1;
	}
	for (int i = 0; i < ac; i++) {
		if (strpbrk(av[i], " \t\r\n")) {
			close(fd);
			box_buf_free(&req);
			box_usage("invalid argument '%s': contains a blank", av[i]);
		}
		box_buf_printf(&req, "%s%s", i ? " " : "", av[i]);
	}
	box_buf_addc(&req, '\n');
	/* a refused client is told why before its request is read, so a failed
	 * send is not the end: the reply may be waiting */
	send(fd, req.p, req.len, MSG_NOSIGNAL);
	box_buf_free(&req);

	int code;
	long long len;
	const char *why = read_head(fd, sock, &code, &len);
	if (why) {
		close(fd);
		if (!*why)
			return box_write_str(1, "\n"), 1;
		box_warn("unable to read a reply from %s: %s", sock, why);
		/* as when nobody is listening */
		return why == no_reply ? 4 : 1;
	}
	char buf[65536];
	ssize_t r;
	/* LENGTH -1 (tail -f) streams until the daemon or Ctrl-C ends it */
	while ((r = readable(fd, len < 0 ? -1 : REPLY_WAIT_MS)) > 0 &&
	       (r = box_read(fd, buf, sizeof(buf))) > 0 && box_write_all(1, buf, (size_t)r) >= 0)
		;
	if (r < 0 && interrupted)
		box_write_str(1, "\n");
	close(fd);
	return code;
}

/* One line of stdin, a byte at a time so that what follows it is left for
 * the next read: 0, or -1 at the end of input or on Ctrl-C. */
static int read_line(struct box_buf *line)
{
	char c;
	line->len = 0;
	box_buf_add(line, "", 0);
	while (readable(0, -1) > 0 && read(0, &c, 1) == 1) {
		if (c == '\n')
			return 0;
		box_buf_addc(line, c);
	}
	return line->len && !interrupted ? 0 : -1;
}

static int run_words(const char *sock, char **av, int ac, int interactive)
{
	if (!strcmp(av[0], "help"))
		return ctl_help(av + 1, ac - 1);
	if (!known_verb(av[0])) {
		struct box_buf m = { 0 };
		box_buf_printf(&m, "*** Unknown syntax: %s\n", av[0]);
		box_write_all(1, m.p, m.len);
		box_buf_free(&m);
		return 1;
	}
	if (interactive && ac == 1 && (!strcmp(av[0], "shutdown") || !strcmp(av[0], "reload"))) {
		struct box_buf ans = { 0 };
		box_write_str(1, !strcmp(av[0], "shutdown") ?
			"Really shut the remote supervise process down y/N? " :
			"Really restart the remote supervise process y/N? ");
		int yes = read_line(&ans) == 0 && (ans.p[0] == 'y' || ans.p[0] == 'Y');
		box_buf_free(&ans);
		if (!yes)
			return 0;
	}
	return ctl_request(sock, av, ac);
}

static int interactive(const char *sock)
{
	char *st[] = { "status", NULL };
	struct box_buf line = { 0 };
	struct sigaction sa = { .sa_handler = on_sigint }, old;
	sigset_t intr;

	/* as in Python, a SIGINT ignored from the start stays ignored */
	box_sigaction(SIGINT, &sa, &old);
	if (old.sa_handler == SIG_IGN)
		box_sigaction(SIGINT, &old, NULL);
	/* SIGINT gets in only while ctl waits, so none is missed */
	sigemptyset(&intr);
	sigaddset(&intr, SIGINT);
	sigprocmask(SIG_BLOCK, &intr, &wait_mask);
	run_words(sock, st, 1, 1);
	for (;;) {
		interrupted = 0;
		box_write_str(1, "supervisor> ");
		if (read_line(&line) < 0) {
			box_write_str(1, "\n");
			break;
		}
		char *av[64];
		int ac = 0;
		for (char *save = NULL, *t = strtok_r(line.p, " \t\r", &save); t && ac < 63;
		     t = strtok_r(NULL, " \t\r", &save))
			av[ac++] = t;
		av[ac] = NULL;
		if (!ac)
			continue;
		if (!strcmp(av[0], "exit") || !strcmp(av[0], "quit"))
			break;
		run_words(sock, av, ac, 1);
	}
	box_buf_free(&line);
	return 0;
}

static const struct box_opt ctl_opts[] = {
	{ "configuration", 'c', 'c', 1 },
	{ "serverurl", 's', 's', 1 },
	{ "help", 'h', 0, 0 },
	{ 0 },
};

int ctl_main(int argc, char **argv)
{
	struct box_getopt g;
	const char *conf = NULL, *url = NULL;
	int c;

	sigprocmask(SIG_BLOCK, NULL, &wait_mask);
	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, ctl_opts)) != -1) {
		if (c == 'h')
			return ctl_help(NULL, 0);
		if (c == 'c')
			conf = g.arg;
		else
			url = g.arg;
	}
	if (conf && url)
		box_usage("-c and -s cannot be combined");
	char **av = argv + g.ind;
	int ac = argc - g.ind;
	if (ac && !strcmp(av[0], "help"))
		return ctl_help(av + 1, ac - 1);
	if (ac && !known_verb(av[0]))
		return run_words(NULL, av, ac, 0);
	char *sock;
	if (url)
		sock = box_xstrdup(strncmp(url, "unix://", 7) ? url : url + 7);
	else
		sock = config_xsocket(conf, "no configuration file found; use -c CONF or -s SOCKET");
	int rc = ac ? run_words(sock, av, ac, 0) : interactive(sock);
	free(sock);
	return rc;
}
