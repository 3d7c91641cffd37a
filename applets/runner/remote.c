/* runner's ssh side: the hosts ([user@]host[:port], checked before
 * anything runs), the ssh command line (the host after "--", so ssh
 * never takes it for an option), the remote wrapper that stops the
 * command when its connection goes, and the marker that tells
 * "unreachable" from "exited 255".
 *
 * Stopping. Without a terminal, sshd does not signal a command whose
 * connection closed: it runs on until it writes. With ssh -tt the
 * terminal's hangup would stop it, but a forced terminal merges stderr
 * into stdout, turns \n into \r\n, makes programs prompt and page, and
 * a command that ignores SIGHUP (nohup) still survives. So runner keeps
 * ssh's standard input open (a pipe nobody writes to), and on the host a
 * wrapper runs the command in the background with /dev/null as input and
 * a watcher beside it that waits for end of file on the connection's
 * input. That comes when the connection closes (ssh killed by a timeout
 * or an interrupt, or runner gone); the watcher then sends SIGTERM, and
 * SIGKILL a second later, to the session's process group (sshd makes
 * each session a process group of its own). When the command ends by
 * itself only the watcher is killed, so what the command left running
 * on purpose stays.
 *
 * The marker. ssh exits 255 both when it could not connect and when the
 * remote command exited 255; the wrapper prints a marker line before it
 * runs the command, so 255 without the marker means the command never
 * started. */
#include "runner.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Where the remote shell's start marker must show up, at the latest. */
#define SENTINEL_WINDOW (1 << 16)

/* ssh's ConnectTimeout when --connect-timeout is not given, as pdsh's. */
#define DEFAULT_CONNECT_TIMEOUT 10

void make_sentinel(struct runner *r)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)box_wall_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)box_now_ns();
	snprintf(r->sentinel, sizeof(r->sentinel), "procbox-runner-%016llx",
		(unsigned long long)v);
}

/* --connect-timeout: whole seconds, rounded up; 0 means no limit. */
void set_connect_timeout(struct runner *r, const char *arg)
{
	int64_t s = (box_xparse_duration("connect timeout", arg) + BOX_NSEC - 1) / BOX_NSEC;
	r->connect_timeout = !s ? -1 : s > INT_MAX ? INT_MAX : (int)s;
}

/* ---- hosts ---------------------------------------------------------------- */

struct dest {
	char *user, *host, *port;   /* user and port NULL when not given */
};

/* Bytes a host or user name never holds: blanks, control characters and
 * what a shell would interpret if ssh handed the name to one (%h and %u
 * in a ProxyCommand). */
static int bad_name(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || strchr("'\"`$\\;&<>|(){}", *s))
			return 1;
	return 0;
}

/* Splits spec, a writable copy of [user@]host[:port] or
 * [user@][address]:port, in place. Returns NULL or what is wrong. */
static const char *parse_dest(char *spec, struct dest *d)
{
	char *at = strrchr(spec, '@'), *h = spec, *colon;

	d->user = d->port = NULL;
	if (*spec == '-')
		return "begins with '-'";
	if (at) {
		*at = 0;
		d->user = spec;
		h = at + 1;
		if (!*d->user)
			return "empty user name";
	}
	if (*h == '[') {
		char *close = strchr(h, ']');
		if (!close || (close[1] && close[1] != ':'))
			return "expected [ADDRESS] or [ADDRESS]:PORT";
		*close = 0;
		if (close[1])
			d->port = close + 2;
		h++;
	} else if ((colon = strchr(h, ':')) && !strchr(colon + 1, ':')) {
		*colon = 0;     /* one colon: host:port; more: an IPv6 address */
		d->port = colon + 1;
	}
	d->host = h;
	if (!*h)
		return "no host name";
	if (*h == '-')
		return "the host name begins with '-'";
	if ((d->user && bad_name(d->user)) || bad_name(h) || strchr(h, '[') || strchr(h, ']'))
		return "a blank, a control character or a shell metacharacter in it";
	if (d->port) {
		char *end;
		long p = strtol(d->port, &end, 10);
		if (!*d->port || *end || *d->port < '0' || *d->port > '9' || p < 1 || p > 65535)
			return "invalid port (1-65535)";
	}
	return NULL;
}

/* Every host is checked before a job starts: a bad one is a usage error.
 * ssh's standard input is the read end of a pipe whose write end runner
 * holds until it exits, so the remote wrapper sees end of file only when
 * the connection or runner goes. */
void remote_setup(struct runner *r, char **hosts, size_t n)
{
	int fd[2];

	for (size_t i = 0; i < n; i++) {
		struct dest d;
		char *copy = box_xstrdup(hosts[i]);
		const char *err = parse_dest(copy, &d);
		free(copy);
		if (err)
			box_usage("invalid host '%s': %s", hosts[i], err);
	}
	box_xpipe(fd);
	r->ssh_stdin = fd[0];
}

/* ---- the remote command ------------------------------------------------------ */

/* The remote side, the same for every login shell: it holds no quote,
 * backslash, ! or newline, and runs the command with /dev/null as input
 * in the background, a watcher beside it that stops the session's
 * process group when the connection's input ends. $1 is the command, $2
 * "b" when $1 is written with printf %b escapes. %s runs the command:
 * the login shell itself where it is a POSIX shell (eval), else "$SHELL
 * -c" under /bin/sh. */
static const char wrapper[] =
	"echo %s;exec 3<&0 </dev/null;"
	"case $2 in b) c=$(printf %%bx \"$1\");set -- \"${c%%x}\";;esac;"
	"%s 3<&- & p=$!;"
	"{ while read x;do :;done;trap \"\" TERM;kill -TERM 0;sleep 1;kill -KILL 0;}"
	" <&3 >/dev/null 2>&1 & w=$!;"
	"exec 3<&-;wait $p 2>/dev/null;s=$?;kill $w 2>/dev/null;exit $s";

/* Bytes that cannot stand as they are inside single quotes in every
 * login shell: the quote itself, backslash (fish), ! and newline (csh),
 * and control characters. */
static int needs_escape(unsigned char c)
{
	return c < ' ' || c == 0x7f || c == '\'' || c == '\\' || c == '!';
}

/* 'CMD' as it goes to the wrapper: as it is, or escaped and flagged. */
static void add_command(struct box_buf *b, const char *cmd)
{
	int escaped = 0;

	box_buf_addc(b, '\'');
	for (const char *p = cmd; *p; p++) {
		if (needs_escape((unsigned char)*p)) {
			box_buf_printf(b, "\\0%03o", (unsigned char)*p);
			escaped = 1;
		} else {
			box_buf_addc(b, *p);
		}
	}
	box_buf_adds(b, escaped ? "' b" : "'");
}

/* What the login shell gets. csh, tcsh and fish (and zsh) have $status:
 * they run the wrapper under /bin/sh; POSIX shells evaluate it
 * themselves, so the command runs in the shell ssh started, its startup
 * files read once. Both parts parse in every one of these shells. */
static void add_remote(struct runner *r, struct box_buf *b, const char *cmd)
{
	box_buf_adds(b, "test -n \"$status\" && exec /bin/sh -c '");
	box_buf_printf(b, wrapper, r->sentinel, "\"${SHELL:-/bin/sh}\" -c \"$1\"");
	box_buf_adds(b, "' sh ");
	add_command(b, cmd);
	box_buf_adds(b, ";set -- ");
	add_command(b, cmd);
	box_buf_adds(b, ";eval '");
	box_buf_printf(b, wrapper, r->sentinel, "eval \"unset c;set --;$1\"");
	box_buf_addc(b, '\'');
}

/* [--ssh words | ssh] [-p PORT] [-l USER] -o BatchMode=yes
 * [-o ConnectTimeout=N] -- HOST WRAPPER. What the returned argv points
 * to, apart from runner's own words, lives in *remote, for the caller to
 * free. */
char **remote_argv(struct runner *r, struct job *j, char **remote)
{
	char **argv = box_xcalloc((size_t)r->ssh_argc + 12, sizeof(char *));
	size_t hostlen = strlen(j->host) + 1;
	struct box_buf b = { 0 };
	struct dest d;
	int n = r->ssh_argc;

	/* the host's parts, then the connect timeout, then the wrapper */
	box_buf_add(&b, j->host, hostlen);
	size_t timeout_at = b.len;
	if (r->connect_timeout >= 0) {
		box_buf_printf(&b, "ConnectTimeout=%d",
			r->connect_timeout ? r->connect_timeout : DEFAULT_CONNECT_TIMEOUT);
		box_buf_addc(&b, 0);
	}
	size_t wrapper_at = b.len;
	add_remote(r, &b, j->cmd);
	parse_dest(b.p, &d);     /* checked by remote_setup */

	memcpy(argv, r->ssh_argv, (size_t)n * sizeof(char *));
	if (d.port) {
		argv[n++] = "-p";
		argv[n++] = d.port;
	}
	if (d.user) {
		argv[n++] = "-l";
		argv[n++] = d.user;
	}
	argv[n++] = "-o";
	argv[n++] = "BatchMode=yes";
	if (r->connect_timeout >= 0) {
		argv[n++] = "-o";
		argv[n++] = b.p + timeout_at;
	}
	argv[n++] = "--";
	argv[n++] = d.host;
	argv[n] = b.p + wrapper_at;
	*remote = b.p;
	return argv;
}

/* ---- the marker ------------------------------------------------------------- */

/* Whatever a login script printed before the marker is kept; the marker
 * line is removed. A line ending in \r\n (ssh -tt in --ssh) counts too. */
void find_sentinel(struct runner *r, struct job *j)
{
	struct sink *s = &j->out[0];
	size_t n = strlen(r->sentinel);
	char *p = s->mem.p, *end = p + s->mem.len, *hit;

	while ((hit = memmem(p, (size_t)(end - p), r->sentinel, n))) {
		size_t eol = hit + n < end && hit[n] == '\r';
		if (hit + n + eol >= end)
			return;    /* the rest of the line is still to come */
		if ((hit == s->mem.p || hit[-1] == '\n') && hit[n + eol] == '\n') {
			size_t line = n + eol + 1;
			memmove(hit, hit + line, (size_t)(end - hit) - line);
			s->mem.len -= line;
			s->mem.p[s->mem.len] = 0;
			s->bytes -= line;
			j->sentinel_pending = 0;
			return;
		}
		p = hit + 1;
	}
	if (s->mem.len > SENTINEL_WINDOW)
		j->sentinel_pending = 0;
}
