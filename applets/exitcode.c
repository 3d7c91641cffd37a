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
	"      --default-signals  run CMD with every signal at default, even those\n"
	"                   ignored when exitcode started (nohup)\n"
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

/* Statuses with one meaning whatever the command. */
static const struct {
	int code;
	const char *kind, *text;
} fixed[] = {
	{ 0, "success", "success" },
	{ 1, "failure", "general failure" },
	{ 126, "exec", "command found but not executable" },
	{ 127, "exec", "command not found" },
	{ 128, "failure", "invalid argument to exit" },
	{ 255, "failure", "exit status out of range" },
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
	for (size_t i = 0; i < BOX_ARRAY_LEN(fixed); i++)
		if (fixed[i].code == code) {
			m->kind = fixed[i].kind;
			snprintf(m->text, sizeof(m->text), "%s", fixed[i].text);
			return;
		}
	if (code > 128 && code < 128 + NSIG && box_signame(code - 128)) {
		m->kind = "signal";
		m->signal = code - 128;
		/* a wait status of a death by that signal, without a core */
		box_fmt_status(m->text, sizeof(m->text), m->signal);
		if (m->signal == SIGINT)
			strcat(m->text, ", usually Ctrl-C");
		return;
	}
	box_fmt_status(m->text, sizeof(m->text), code << 8);
	for (size_t i = 0; i < BOX_ARRAY_LEN(sysexits); i++)
		if (sysexits[i].code == code) {
			m->kind = "sysexits";
			snprintf(m->text, sizeof(m->text), "%s: %s",
				sysexits[i].name, sysexits[i].text);
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
	struct box_json j;
	box_json_begin(&j, out);
	box_json_i(&j, "code", code);
	box_json_s(&j, "kind", m.kind);
	box_json_s(&j, "meaning", m.text);
	if (m.signal) {
		box_json_i(&j, "signal", m.signal);
		char name[24];
		snprintf(name, sizeof(name), "SIG%s", box_signame(m.signal));
		box_json_s(&j, "signame", name);
	}
	box_json_s(&j, "convention", conv);
	box_json_end(&j);
	box_buf_addc(out, '\n');
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
	int code;             /* shell-style code before mapping */
	int status;           /* wait status when the command ran */
	int err;              /* exec errno, 0 when it ran */
	char what[120];       /* the failed step: "execute", or more exact */
};

struct child {
	pid_t pid;            /* > 0 until reaped */
	int status;
	const struct box_loop *loop;
};

/* The command shares exitcode's process group, so a terminal's ^C, ^\ or
 * hangup reached it already: only a signal sent to exitcode is passed on. */
static void on_signal(void *ctx, int sig)
{
	struct child *c = ctx;

	if (c->pid <= 0)
		return;
	if (sig != SIGCHLD && !c->loop->sig_by_kernel)
		kill(c->pid, sig);
	else if (waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->pid = 0;
}

static void run_one(struct box_loop *l, struct child *c, char **argv, struct outcome *o)
{
	struct box_spawn sp = { .argv = argv, .fd_in = -1, .fd_out = -1,
		.fd_err = -1, .pgroup = -1, .inherit_fds = 1, .pdeathsig = SIGTERM };
	struct box_spawn_error e;

	memset(o, 0, sizeof(*o));
	c->pid = box_spawn(&sp, &e);
	if (c->pid < 0) {
		if (!e.err)
			box_fatal_errno("unable to fork");
		o->err = e.err;
		memcpy(o->what, e.what, sizeof(o->what));
		o->code = box_exec_fail_code(e.err);
		o->result = o->code == 127 ? "not_found" : "not_executable";
		return;
	}
	while (c->pid > 0) {
		box_loop_begin(l);
		box_loop_signals(l);
		box_loop_wait(l);
	}
	o->status = c->status;
	o->code = box_status_code(c->status);
	o->result = WIFSIGNALED(c->status) ? "killed" : "exited";
}

static void report_json(char **argv, const struct outcome *o, int final, int alt)
{
	struct box_buf b = { 0 };
	struct box_json j;

	box_json_begin(&j, &b);
	box_json_s(&j, "command", argv[0]);
	box_json_open(&j, "argv", '[');
	for (int i = 0; argv[i]; i++)
		box_json_s(&j, NULL, argv[i]);
	box_json_close(&j);
	box_json_s(&j, "result", o->result);
	if (o->err) {
		box_json_null(&j, "exit");
		box_json_null(&j, "signal");
		box_json_null(&j, "signum");
		box_json_b(&j, "core_dumped", 0);
		box_json_s(&j, "error", strerror(o->err));
	} else {
		box_json_status(&j, o->status);
		box_json_null(&j, "error");
	}
	if (alt)
		box_json_i(&j, "alternative", alt);
	box_json_i(&j, "status", final);
	box_json_end(&j);
	box_buf_addc(&b, '\n');
	box_write_all(2, b.p, b.len);
	box_buf_free(&b);
}

/* "not found" and "not executable" are exitcode's answer, as the exit
 * statuses 127 and 126 are, so they are said in those words. */
static const char *exec_failure(const struct outcome *o)
{
	return o->code == 127 ? "command not found" : "not executable";
}

static void report(char **argv, const struct outcome *o, int final, int alt, int json)
{
	struct box_buf b = { 0 };
	char how[160];

	if (json) {
		report_json(argv, o, final, alt);
		return;
	}
	if (o->err && strcmp(o->what, "execute"))   /* e.g. its #! interpreter is missing */
		box_buf_printf(&b, "%s: unable to %s: %s", argv[0], o->what, strerror(o->err));
	else if (o->err)
		box_buf_printf(&b, "%s: %s (%s)", argv[0], exec_failure(o), strerror(o->err));
	else
		box_buf_printf(&b, "%s %s", argv[0], box_fmt_status(how, sizeof(how), o->status));
	if (final != o->code)
		box_buf_printf(&b, " (status %d mapped to %d)", o->code, final);
	if (alt)
		box_buf_printf(&b, " [alternative %d]", alt);
	box_warn("%s", b.p);
	box_buf_free(&b);
}

static int run_chain(char ***cmds, int ncmds, const int map[256], int json)
{
	struct box_loop l = { 0 };
	struct child c = { .loop = &l };
	struct outcome o;
	sigset_t set;
	int i;

	/* inherited SIG_IGN for SIGCHLD would make the kernel reap the
	 * command before its status could be read */
	box_signal(SIGCHLD, SIG_DFL);
	box_sigset(&set, SIGCHLD, BOX_FORWARDED, 0);
	box_loop_open_signals(&l, &set, on_signal, &c);
	for (i = 0; i < ncmds; i++) {
		run_one(&l, &c, cmds[i], &o);
		if (!o.err || i == ncmds - 1)
			break;
		if (!json)
			box_warn("%s: %s (%s), trying the next alternative", cmds[i][0],
				exec_failure(&o), strerror(o.err));
	}
	box_loop_free(&l);
	int final = map[o.code] >= 0 ? map[o.code] : o.code;
	report(cmds[i], &o, final, ncmds > 1 ? i + 1 : 0, json);
	return final;
}

enum { OPT_DEFAULT_SIGNALS = 256 };

static const struct box_opt opts[] = {
	{ "json", 'j', 'j', 0 },
	{ "default-signals", OPT_DEFAULT_SIGNALS, 0, 0 },
	{ "list", 'l', 'l', 0 },
	{ "map", 'm', 'm', 1 },
	{ "fallback", 'f', 'f', 1 },
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
		case OPT_DEFAULT_SIGNALS: box_sig_forget_ignored(); break;
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
