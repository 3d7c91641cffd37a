/* exitcode: explain exit statuses, or run a command and say exactly how
 * it ended (exited, killed by a signal, not found, not executable). */
#include "../libbox/box.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

static const char usage[] =
	"exitcode [-j] CODE... | exitcode -l | "
	"exitcode [-j] [-m FROM=TO,...] -- CMD [ARG...] | exitcode [-j] [-m MAP] -f CMD [-f CMD]...";

static const char help[] =
	"Explain exit statuses, or run a command and classify how it ended.\n"
	"\n"
	"  CODE...          explain each status (0-255) on one line\n"
	"  -l, --list       print the table of well-known statuses\n"
	"  -- CMD [ARG...]  run CMD (no shell), print how it ended on stderr and\n"
	"                   exit with its status (128+N when killed by signal N)\n"
	"  -f CMD           an alternative command string (quotes and backslashes,\n"
	"                   no expansion); the next -f runs only when CMD could not\n"
	"                   be executed at all (not found, not executable)\n"
	"  -j, --json       the explanation or classification as JSON\n"
	"  -m, --map FROM=TO,...  remap the final exit status\n"
	"\n"
	"Exit status: the command's (after -m); 125 usage or own failure;\n"
	"126 cannot execute; 127 not found.\n";

#define SYSEXIT(n, text) { EX_##n, "EX_" #n, text }
static const struct {
	int code;
	const char *name, *text;
} sysexits[] = {
	SYSEXIT(USAGE, "command line usage error"),
	SYSEXIT(DATAERR, "data format error"),
	SYSEXIT(NOINPUT, "cannot open input"),
	SYSEXIT(NOUSER, "addressee unknown"),
	SYSEXIT(NOHOST, "host name unknown"),
	SYSEXIT(UNAVAILABLE, "service unavailable"),
	SYSEXIT(SOFTWARE, "internal software error"),
	SYSEXIT(OSERR, "system error (e.g. cannot fork)"),
	SYSEXIT(OSFILE, "critical OS file missing"),
	SYSEXIT(CANTCREAT, "cannot create (user) output file"),
	SYSEXIT(IOERR, "input/output error"),
	SYSEXIT(TEMPFAIL, "temporary failure, retry later"),
	SYSEXIT(PROTOCOL, "remote error in protocol"),
	SYSEXIT(NOPERM, "permission denied"),
	SYSEXIT(CONFIG, "configuration error"),
};

/* Conventions of well-known tools, appended after the main meaning. */
static const struct {
	int code;
	const char *text;
} conventions[] = {
	{ 1, "grep/diff: no match or files differ" },
	{ 2, "shell builtins and many tools: usage error" },
	{ 123, "xargs: a command exited with status 1-125" },
	{ 124, "timeout: the command timed out; xargs: a command exited with 255" },
	{ 125, "timeout/env/nice: the tool itself failed; xargs: a command was killed" },
	{ 126, "xargs/timeout/env: command found but cannot be executed" },
	{ 127, "xargs/timeout/env: command not found" },
	{ 137, "timeout -k: the command was killed after the grace period" },
	{ 255, "ssh: connection or protocol error; also exit(-1)" },
};

struct meaning {
	const char *kind;    /* "success", "failure", "signal", "sysexits", ... */
	char text[160];
	int signal;          /* 128+n codes: n, else 0 */
};

static void explain(int code, struct meaning *m)
{
	m->signal = 0;
	m->kind = "failure";
	if (code == 0) {
		m->kind = "success";
		snprintf(m->text, sizeof(m->text), "success");
	} else if (code == 1) {
		snprintf(m->text, sizeof(m->text), "general failure");
	} else if (code == 126) {
		m->kind = "exec";
		snprintf(m->text, sizeof(m->text), "command found but not executable");
	} else if (code == 127) {
		m->kind = "exec";
		snprintf(m->text, sizeof(m->text), "command not found");
	} else if (code == 128) {
		snprintf(m->text, sizeof(m->text), "invalid argument to exit");
	} else if (code > 128 && code < 128 + NSIG && box_signame(code - 128)) {
		m->kind = "signal";
		m->signal = code - 128;
		snprintf(m->text, sizeof(m->text), "killed by SIG%s (%s)%s",
			box_signame(m->signal), strsignal(m->signal),
			m->signal == SIGINT ? ", usually Ctrl-C" : "");
	} else if (code == 255) {
		snprintf(m->text, sizeof(m->text), "exit status out of range");
	} else {
		snprintf(m->text, sizeof(m->text), "exited with status %d", code);
		for (size_t i = 0; i < BOX_ARRAY_LEN(sysexits); i++)
			if (sysexits[i].code == code) {
				m->kind = "sysexits";
				snprintf(m->text, sizeof(m->text), "%s: %s",
					sysexits[i].name, sysexits[i].text);
			}
	}
}

static const char *convention(int code)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(conventions); i++)
		if (conventions[i].code == code)
			return conventions[i].text;
	return NULL;
}

static void print_code(struct box_buf *out, int code, int json)
{
	struct meaning m;
	const char *conv = convention(code);

	explain(code, &m);
	if (!json) {
		box_buf_printf(out, "%d: %s", code, m.text);
		if (conv)
			box_buf_printf(out, "; %s", conv);
		box_buf_addc(out, '\n');
		return;
	}
	box_buf_printf(out, "{\"code\":%d,\"kind\":\"%s\",\"meaning\":", code, m.kind);
	box_json_str(out, m.text);
	if (m.signal) {
		box_buf_printf(out, ",\"signal\":%d,\"signame\":\"SIG%s\"", m.signal,
			box_signame(m.signal));
	}
	box_buf_adds(out, ",\"convention\":");
	if (conv)
		box_json_str(out, conv);
	else
		box_buf_adds(out, "null");
	box_buf_adds(out, "}\n");
}

static int explain_codes(char **codes, int n, int json)
{
	struct box_buf out = { 0 };
	for (int i = 0; i < n; i++)
		print_code(&out, (int)box_xparse_ll("code", codes[i], 0, 255), json);
	box_write_all(1, out.p, out.len);
	box_buf_free(&out);
	return 0;
}

static int list_table(int json)
{
	struct box_buf out = { 0 };
	for (int code = 0; code < 256; code++) {
		struct meaning m;
		explain(code, &m);
		if (strcmp(m.kind, "failure") || code <= 2 || code == 128 ||
		    code == 255 || convention(code))
			print_code(&out, code, json);
	}
	box_write_all(1, out.p, out.len);
	box_buf_free(&out);
	return 0;
}

/* -m FROM=TO,...: map[from] = to, or -1 when unmapped. */
static void parse_map(const char *spec, int map[256])
{
	char *copy = box_xstrdup(spec), *save = NULL;
	int items = 0;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		long long from, to;
		if (!eq)
			box_usage("invalid mapping '%s': expected FROM=TO", item);
		*eq = 0;
		if (box_parse_ll(item, 0, 255, &from) || box_parse_ll(eq + 1, 0, 255, &to)) {
			*eq = '=';
			box_usage("invalid mapping '%s': codes are 0-255", item);
		}
		map[from] = (int)to;
		items++;
	}
	if (!items)
		box_usage("invalid mapping '%s': expected FROM=TO", spec);
	free(copy);
}

struct outcome {
	const char *result;   /* exited, killed, not_found, not_executable */
	int status;           /* shell-style code before mapping */
	int exit, signal, core;
	int err;              /* exec errno */
	char err_what[120];
};

static volatile pid_t running_child;

static void forward_signal(int sig)
{
	if (running_child > 0)
		kill(running_child, sig);
}

static void run_one(char **argv, struct outcome *o)
{
	struct box_spawn sp = { .argv = argv, .fd_in = -1, .fd_out = -1,
		.fd_err = -1, .pgroup = -1 };
	struct box_spawn_error e;
	int status;

	memset(o, 0, sizeof(*o));
	/* a signal that arrives before running_child is set is held, not lost */
	sigset_t forwarded, old;
	sigemptyset(&forwarded);
	sigaddset(&forwarded, SIGTERM);
	sigaddset(&forwarded, SIGHUP);
	sigaddset(&forwarded, SIGUSR1);
	sigaddset(&forwarded, SIGUSR2);
	sigprocmask(SIG_BLOCK, &forwarded, &old);
	pid_t pid = box_spawn(&sp, &e);
	if (pid > 0)
		running_child = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		if (!e.err)
			box_fatal_errno("unable to fork");
		o->err = e.err;
		snprintf(o->err_what, sizeof(o->err_what), "%s", e.what);
		o->status = box_exec_fail_code(e.err);
		o->result = o->status == 127 ? "not_found" : "not_executable";
		return;
	}
	if (box_waitpid(pid, &status, 0) < 0)
		box_fatal_errno("unable to wait for %s", argv[0]);
	running_child = 0;
	o->status = box_status_code(status);
	if (WIFSIGNALED(status)) {
		o->result = "killed";
		o->signal = WTERMSIG(status);
#ifdef WCOREDUMP
		o->core = WCOREDUMP(status) != 0;
#endif
	} else {
		o->result = "exited";
		o->exit = WEXITSTATUS(status);
	}
}

static void report(char **argv, const struct outcome *o, int final, int alt, int json)
{
	struct box_buf b = { 0 };
	const char *sig = o->signal ? box_signame(o->signal) : NULL;

	if (json) {
		box_buf_adds(&b, "{\"command\":");
		box_json_str(&b, argv[0]);
		box_buf_adds(&b, ",\"argv\":[");
		for (int i = 0; argv[i]; i++) {
			if (i)
				box_buf_addc(&b, ',');
			box_json_str(&b, argv[i]);
		}
		box_buf_printf(&b, "],\"result\":\"%s\",\"exit\":", o->result);
		if (!strcmp(o->result, "exited"))
			box_buf_printf(&b, "%d", o->exit);
		else
			box_buf_adds(&b, "null");
		box_buf_adds(&b, ",\"signal\":");
		if (o->signal)
			box_buf_printf(&b, "\"SIG%s\"", sig ? sig : "?");
		else
			box_buf_adds(&b, "null");
		box_buf_printf(&b, ",\"core_dumped\":%s,\"error\":", o->core ? "true" : "false");
		if (o->err)
			box_json_str(&b, strerror(o->err));
		else
			box_buf_adds(&b, "null");
		if (alt)
			box_buf_printf(&b, ",\"alternative\":%d", alt);
		box_buf_printf(&b, ",\"status\":%d}\n", final);
		box_write_all(2, b.p, b.len);
		box_buf_free(&b);
		return;
	}
	if (!strcmp(o->result, "exited"))
		box_buf_printf(&b, "%s exited with status %d", argv[0], o->exit);
	else if (!strcmp(o->result, "killed"))
		box_buf_printf(&b, "%s killed by SIG%s (%s)%s", argv[0], sig ? sig : "?",
			strsignal(o->signal), o->core ? ", core dumped" : "");
	else if (strcmp(o->err_what, "execute"))
		box_buf_printf(&b, "%s: unable to %s: %s", argv[0], o->err_what, strerror(o->err));
	else
		box_buf_printf(&b, "%s: %s (%s)", argv[0],
			o->status == 127 ? "command not found" : "not executable",
			strerror(o->err));
	if (final != o->status)
		box_buf_printf(&b, " (status %d mapped to %d)", o->status, final);
	if (alt)
		box_buf_printf(&b, " [alternative %d]", alt);
	box_warn("%s", b.p);
	box_buf_free(&b);
}

static int run_chain(char ***cmds, int ncmds, const int map[256], int json)
{
	struct sigaction sa = { 0 };
	struct outcome o;
	int i;

	sa.sa_handler = forward_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	/* the terminal sends ^C and ^\ to the child's process group already */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);

	for (i = 0; i < ncmds; i++) {
		run_one(cmds[i], &o);
		int exec_failed = o.err != 0 && !strcmp(o.err_what, "execute");
		if (!exec_failed || i == ncmds - 1)
			break;
		if (!json)
			box_warn("%s: %s (%s), trying the next alternative", cmds[i][0],
				o.status == 127 ? "command not found" : "not executable",
				strerror(o.err));
	}
	int final = map[o.status] >= 0 ? map[o.status] : o.status;
	report(cmds[i], &o, final, ncmds > 1 ? i + 1 : 0, json);
	return final;
}

static const struct box_opt opts[] = {
	{ 'j', 'j', "json", 0 },
	{ 'l', 'l', "list", 0 },
	{ 'm', 'm', "map", 1 },
	{ 'f', 'f', "fallback", 1 },
	{ 0 },
};

static int exitcode_main(int argc, char **argv)
{
	struct box_getopt g;
	int json = 0, list = 0, map[256], nalts = 0, have_map = 0;
	char ***cmds = box_xcalloc((size_t)argc + 1, sizeof(*cmds));
	int c;

	memset(map, -1, sizeof(map));
	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, opts)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'l': list = 1; break;
		case 'm': parse_map(g.arg, map); have_map = 1; break;
		case 'f': {
			const char *err;
			if (box_split(g.arg, &cmds[nalts], &err) < 0)
				box_usage("invalid command '%s': %s", g.arg, err);
			if (!cmds[nalts][0])
				box_usage("empty command in -f");
			nalts++;
			break;
		}
		}
	}
	char **rest = argv + g.ind;
	int nrest = argc - g.ind;

	if (list) {
		if (nrest || nalts || have_map)
			box_usage("-l takes no other arguments");
		return list_table(json);
	}
	if (nalts) {
		if (nrest)
			box_usage("-f and a command after -- cannot be combined");
		return run_chain(cmds, nalts, map, json);
	}
	if (g.dashdash) {
		if (!nrest)
			box_usage("no command after --");
		cmds[0] = rest;
		return run_chain(cmds, 1, map, json);
	}
	if (!nrest)
		box_usage("no code or command given");
	if (have_map)
		box_usage("-m needs a command (after --)");
	return explain_codes(rest, nrest, json);
}

const struct applet applet_exitcode = {
	"exitcode", exitcode_main, usage, help, 125, 125,
};
