/* Mail over SMTP without a local sendmail: one plain-text message to a
 * server that relays it (EHLO or HELO, MAIL FROM, RCPT TO, DATA, QUIT),
 * every reply checked, and a failure named by the step it happened in. */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int box_smtp_parse_server(const char *spec, char *host, size_t hostsize, const char **port)
{
	const char *end;

	*port = NULL;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close == spec + 1 || (close[1] && close[1] != ':'))
			return BOX_PARSE_INVALID;
		if (close[1])
			*port = close + 2;
		spec++;
		end = close;
	} else {
		const char *colon = strchr(spec, ':');
		if (!*spec || colon == spec || (colon && strchr(colon + 1, ':')))
			return BOX_PARSE_INVALID;
		if (colon)
			*port = colon + 1;
		end = colon ? colon : spec + strlen(spec);
	}
	snprintf(host, hostsize, "%.*s", (int)(end - spec), spec);
	long long v;
	if (*port && box_parse_ll(*port, 1, 65535, &v) != BOX_PARSE_OK)
		return BOX_PARSE_RANGE;
	return BOX_PARSE_OK;
}

int box_smtp_valid_address(const char *a)
{
	const char *at = strchr(a, '@');
	if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) > 254)
		return 0;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("<>()[],;:\\\"", *p))
			return 0;
	return 1;
}

static void strip_cr(char *s)
{
	size_t n = strlen(s);
	if (n && s[n - 1] == '\r')
		s[n - 1] = 0;
}

int box_smtp_read_auth(const char *path, char **user, char **pass, char *err,
	size_t errsize)
{
	struct box_buf b = { 0 };
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	*user = *pass = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			box_close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		snprintf(err, errsize, "%s: not a regular file", path);
	else if (st.st_mode & 077)
		snprintf(err, errsize, "%s: permissions %04o are too open: the password "
			"must not be readable by group or others (chmod 600)",
			path, (unsigned)(st.st_mode & 07777));
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		snprintf(err, errsize, "%s: owned by uid %u, neither you nor root", path,
			(unsigned)st.st_uid);
	else if (st.st_size > 4096)
		snprintf(err, errsize, "%s: longer than 4096 bytes", path);
	else if (box_read_fd_all(fd, &b) < 0)
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
	else
		err[0] = 0;
	box_close(fd);
	if (err[0]) {
		box_buf_free(&b);
		return -1;
	}
	/* two lines, LF or CRLF */
	box_buf_addc(&b, 0);
	char *u = b.p, *nl = strchr(u, '\n'), *p = nl ? nl + 1 : NULL;
	if (nl) {
		*nl = 0;
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (nl && nl[1] && strspn(nl + 1, "\r\n") != strlen(nl + 1))
			p = NULL;     /* more than two lines */
	}
	strip_cr(u);
	if (p)
		strip_cr(p);
	if (!p || !*u || !*p || strlen(u) > 255 || strlen(p) > 255) {
		snprintf(err, errsize, "%s: expected the user name on the first line and the "
			"password on the second (each 1-255 bytes)", path);
		memset(b.p, 0, b.len);
		box_buf_free(&b);
		return -1;
	}
	*user = box_xstrdup(u);
	*pass = box_xstrdup(p);
	memset(b.p, 0, b.len);
	box_buf_free(&b);
	return 0;
}

int box_smtp_parse_reply(const char *line, size_t len, int *complete)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9' || (len > 3 && line[3] != ' ' && line[3] != '-'))
		return -1;
	*complete = len == 3 || line[3] == ' ';
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* ---- the conversation ---------------------------------------------------- */

struct smtp {
	const struct box_mail *m;
	int fd;
	char in[4096];
	size_t inlen;
	char *err;
	size_t errsize;
	int code;               /* the last reply's code; 0 when none came (a
	                         * failure then was the connection's) */
	unsigned char *state;   /* per recipient: RCPT_... */
	int fatal;              /* failed for good without a 5xx (AUTH not
	                         * offered): no other attempt */
	pid_t helper;           /* the TLS helper, or 0 */
	char *helper_cmd;
	int ehlo;               /* reading the EHLO reply: note its AUTH line */
	char auth[256];         /* the mechanisms the server offers */
};

static int smtp_lost(struct smtp *s, const char *step, int err);

/* A recipient's state across attempts. */
enum { RCPT_PENDING, RCPT_ACCEPTED, RCPT_DELIVERED, RCPT_REFUSED, RCPT_LATER };

/* "STEP: reason" into the caller's buffer; returns -1. */
static int smtp_fail(struct smtp *s, const char *step, const char *fmt, ...) BOX_PRINTF(3, 4);
static int smtp_fail(struct smtp *s, const char *step, const char *fmt, ...)
{
	char why[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(s->err, s->errsize, "%s: %s", step, why);
	return -1;
}

/* Waits for one fd until the step's deadline: 0, or -1 with the step
 * failed as "no reply within 30s" (what). */
static int smtp_wait(struct smtp *s, const char *step, short events, int64_t deadline,
	const char *what)
{
	struct pollfd pfd = { .fd = s->fd, .events = events };
	char d[32];
	if (box_poll_until(&pfd, 1, deadline) != 0)
		return 0;
	return smtp_fail(s, step, "%s within %s", what,
		box_fmt_duration(d, sizeof(d), s->m->timeout));
}

static int smtp_send(struct smtp *s, const char *step, const char *data, size_t n)
{
	int64_t deadline = box_now_ns() + s->m->timeout;
	while (n) {
		ssize_t w = send(s->fd, data, n, MSG_NOSIGNAL);
		if (w > 0) {
			data += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return smtp_lost(s, step, errno);
		if (smtp_wait(s, step, POLLOUT, deadline, "cannot send") < 0)
			return -1;
	}
	return 0;
}

/* ---- the TLS helper -------------------------------------------------------- */

/* Appends v as one shell word: single-quoted, a ' as '\''. */
static void add_shell_word(struct box_buf *b, const char *v)
{
	box_buf_addc(b, '\'');
	for (; *v; v++)
		if (*v == '\'')
			box_buf_adds(b, "'\\''");
		else
			box_buf_addc(b, *v);
	box_buf_addc(b, '\'');
}

/* The helper's command line: %h, %p, %a and %% replaced. */
static char *helper_command(const char *tmpl, const char *host, const char *port)
{
	struct box_buf b = { 0 };
	char *addr = box_xasprintf(strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	for (const char *t = tmpl; *t; t++) {
		if (*t != '%' || !t[1]) {
			box_buf_addc(&b, *t);
			continue;
		}
		switch (*++t) {
		case 'h': add_shell_word(&b, host); break;
		case 'p': add_shell_word(&b, port); break;
		case 'a': add_shell_word(&b, addr); break;
		case '%': box_buf_addc(&b, '%'); break;
		default: box_buf_addc(&b, '%'); box_buf_addc(&b, *t); break;
		}
	}
	free(addr);
	box_buf_addc(&b, 0);
	return b.p;
}

/* openssl s_client, quiet (only the session on stdout), failing on a
 * certificate it cannot verify or that names another host. */
static const char *default_helper(int tls, const char *host)
{
	unsigned char a[16];
	int ip = inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
	if (tls == BOX_SMTP_STARTTLS)
		return ip ? "openssl s_client -quiet -verify_return_error -verify_ip %h "
				"-starttls smtp -connect %a" :
			"openssl s_client -quiet -verify_return_error -verify_hostname %h "
				"-starttls smtp -connect %a";
	return ip ? "openssl s_client -quiet -verify_return_error -verify_ip %h -connect %a" :
		"openssl s_client -quiet -verify_return_error -verify_hostname %h -connect %a";
}

/* Starts the helper on one end of a socket pair, the session on the
 * other: 0, or -1 with the step failed. */
static int helper_start(struct smtp *s, const char *step, const char *host, const char *port)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return smtp_fail(s, step, "socketpair: %s", strerror(errno));
	free(s->helper_cmd);
	s->helper_cmd = helper_command(s->m->tls_helper ? s->m->tls_helper :
		default_helper(s->m->tls, host), host, port);
	char *argv[] = { "sh", "-c", s->helper_cmd, NULL };
	struct box_spawn sp = {
		.argv = argv, .file = "/bin/sh", .fd_in = sv[1], .fd_out = sv[1], .fd_err = -1,
		.pgroup = -1, .pdeathsig = SIGTERM,
	};
	struct box_spawn_error e;
	pid_t pid = box_spawn(&sp, &e);
	box_close(sv[1]);
	if (pid < 0) {
		char why[300];
		box_close(sv[0]);
		if (!e.err)
			return smtp_fail(s, step, "cannot start the TLS helper: %s", strerror(errno));
		return smtp_fail(s, step, "%s", box_fmt_spawn_error(why, sizeof(why), "/bin/sh", &e));
	}
	s->helper = pid;
	s->fd = sv[0];
	fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* Closes the session and reaps the helper: it is given a second to end
 * by itself (after QUIT the server has closed, or it is telling why it
 * failed), then terminated. Returns how it ended, in buf. */
static const char *helper_end(struct smtp *s, char *buf, size_t size)
{
	int status = 0;
	box_close(s->fd);
	s->fd = -1;
#ifdef SYS_pidfd_open
	int pfd = (int)syscall(SYS_pidfd_open, s->helper, 0);
	if (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		box_poll_until(&p, 1, box_now_ns() + BOX_NSEC);
		box_close(pfd);
	}
#endif
	if (box_waitpid(s->helper, &status, WNOHANG) == 0) {
		kill(s->helper, SIGTERM);
		box_waitpid(s->helper, &status, 0);
	}
	s->helper = 0;
	char st[64];
	snprintf(buf, size, "%s: %s", box_fmt_status(st, sizeof(st), status), s->helper_cmd);
	return buf;
}

/* The connection failed (err) or was closed (0): through a helper, the
 * helper's end says more (it ends when its own connection fails). */
static int smtp_lost(struct smtp *s, const char *step, int err)
{
	if (s->helper) {
		char why[512];
		return smtp_fail(s, step, "connection closed by the TLS helper, which %s",
			helper_end(s, why, sizeof(why)));
	}
	if (err)
		return smtp_fail(s, step, "%s", strerror(err));
	return smtp_fail(s, step, "connection closed by the server");
}

/* A reply's bound in bytes, all its lines: RFC 5321's lines are at most
 * 512 octets, and an EHLO reply of a real server has a few dozen. */
#define SMTP_REPLY_MAX (64 * 1024)

/* Reads a reply (all lines of a multi-line one) within the timeout and
 * SMTP_REPLY_MAX, however fast the server sends; returns its code and
 * leaves the last line's text in `text`. */
static int smtp_reply(struct smtp *s, const char *step, char *text, size_t size)
{
	int64_t deadline = box_now_ns() + s->m->timeout;
	size_t total = 0;
	char d[32];

	for (;;) {
		char *nl = memchr(s->in, '\n', s->inlen);
		if (nl) {
			size_t len = (size_t)(nl - s->in) + 1, tl = len - 1;
			int complete;
			total += len;
			if (tl && s->in[tl - 1] == '\r')
				tl--;
			snprintf(text, size, "%.*s", (int)tl, s->in);
			int code = box_smtp_parse_reply(s->in, tl, &complete);
			if (s->ehlo && code == 250 && tl > 8 && !strncasecmp(s->in + 4, "AUTH", 4) &&
			    (s->in[8] == ' ' || s->in[8] == '='))
				snprintf(s->auth, sizeof(s->auth), " %.*s ", (int)(tl - 9), s->in + 9);
			memmove(s->in, s->in + len, s->inlen - len);
			s->inlen -= len;
			if (code < 0)
				return smtp_fail(s, step, "malformed reply '%s'", text);
			if (complete)
				return code;
			if (total > SMTP_REPLY_MAX)
				return smtp_fail(s, step, "reply longer than %d bytes", SMTP_REPLY_MAX);
			if (box_now_ns() >= deadline)
				return smtp_fail(s, step, "no reply within %s",
					box_fmt_duration(d, sizeof(d), s->m->timeout));
			continue;
		}
		if (s->inlen == sizeof(s->in))
			return smtp_fail(s, step, "reply line too long");
		if (smtp_wait(s, step, POLLIN, deadline, "no reply") < 0)
			return -1;
		ssize_t got = box_read(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen);
		if (got < 0 && errno == EAGAIN)
			continue;
		if (got <= 0)
			return smtp_lost(s, step, got < 0 ? errno : 0);
		s->inlen += (size_t)got;
	}
}

/* Sends a command (NULL: none) and checks the reply's class. */
static int smtp_cmd(struct smtp *s, const char *step, const char *cmd, int want, int *code)
{
	char text[512];
	s->code = 0;
	if (cmd) {
		char *line = box_xasprintf("%s\r\n", cmd);
		int r = smtp_send(s, step, line, strlen(line));
		free(line);
		if (r < 0)
			return -1;
	}
	int c = smtp_reply(s, step, text, sizeof(text));
	if (c < 0)
		return -1;
	s->code = c;
	if (code)
		*code = c;
	if (c / 100 != want)
		return smtp_fail(s, step, "%s", text);
	return 0;
}

static int smtp_connect(struct smtp *s)
{
	const char *spec = s->m->server, *port;
	char host[256], step[300];

	snprintf(step, sizeof(step), "connect to %s", spec);
	if (box_smtp_parse_server(spec, host, sizeof(host), &port) != BOX_PARSE_OK)
		return smtp_fail(s, step, "expected HOST[:PORT] or [ADDR]:PORT");
	if (s->m->tls)
		return helper_start(s, step, host, port ? port :
			s->m->tls == BOX_SMTP_TLS ? "465" : "25");

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int e = getaddrinfo(host, port ? port : "25", &hints, &res);
	if (e)
		return smtp_fail(s, step, "%s", gai_strerror(e));
	int64_t deadline = box_now_ns() + s->m->timeout;
	int err = ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			ai->ai_protocol);
		if (s->fd < 0) {
			err = errno;
			continue;
		}
		if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (errno == EINPROGRESS) {
			struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
			socklen_t len = sizeof(err);
			if (box_poll_until(&pfd, 1, deadline) == 0)
				err = ETIMEDOUT;
			else if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && !err)
				break;
		}
		box_close(s->fd);
		s->fd = -1;
	}
	freeaddrinfo(res);
	if (s->fd < 0)
		return smtp_fail(s, step, "%s", strerror(err));
	return 0;
}

/* ---- the message ----------------------------------------------------------- */

/* RFC 5322 wants header lines of at most 78 characters where it can:
 * words are put on continuation lines (CRLF, space) to keep to that. */
#define SMTP_FOLD 78
/* and every line of the message at most 998 octets */
#define SMTP_LINE_MAX 998

/* Appends word to a header being folded; col is the current line's
 * length. A word that does not fit starts a continuation line, unless it
 * is the first (the value would start with a space). */
static void fold_word(struct box_buf *m, size_t *col, int first, const char *sep,
	const char *w, size_t n)
{
	size_t sl = strlen(sep);
	if (!first && *col + sl + n > SMTP_FOLD) {
		box_buf_adds(m, "\r\n ");
		*col = 1;
	} else {
		box_buf_adds(m, sep);
		*col += sl;
	}
	box_buf_add(m, w, n);
	*col += n;
}

/* Bytes of a UTF-8 character starting at p (1 for a byte that starts
 * none), at most n. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		(*p & 0xf8) == 0xf0 ? 4 : 1;
	if (len > n)
		return 1;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 1;
	return len;
}

/* Subject: ASCII folded at its spaces; otherwise RFC 2047 encoded words
 * of at most 75 characters, each holding whole UTF-8 characters, one per
 * line. */
static void add_subject(struct box_buf *m, const char *subj)
{
	const unsigned char *p = (const unsigned char *)subj;
	size_t n = strlen(subj), col = strlen("Subject:");
	int plain = 1;

	for (size_t i = 0; i < n; i++)
		plain &= p[i] >= ' ' && p[i] < 0x7f;
	box_buf_adds(m, "Subject:");
	if (plain) {
		/* a word longer than a line stays whole: up to 998 is allowed */
		const char *w = subj;
		while (*w) {
			size_t sp = strspn(w, " "), len = strcspn(w + sp, " ");
			if (!len)
				break;
			fold_word(m, &col, w == subj, " ", w + sp, len);
			w += sp + len;
		}
	} else {
		/* "=?UTF-8?B?" + 56 base64 characters + "?=": 68, which fits
		 * after "Subject: " too; 42 bytes */
		for (size_t i = 0; i < n;) {
			size_t take = 0;
			while (i + take < n) {
				size_t c = utf8_len(p + i + take, n - i - take);
				if (take + c > 42)
					break;
				take += c;
			}
			struct box_buf w = { 0 };
			box_buf_adds(&w, "=?UTF-8?B?");
			box_base64(&w, p + i, take);
			box_buf_adds(&w, "?=");
			/* encoded words on one line would need a space between them,
			 * which decoders drop: each on its own continuation line */
			if (i) {
				box_buf_adds(m, "\r\n ");
				col = 1;
				box_buf_add(m, w.p, w.len);
				col += w.len;
			} else {
				fold_word(m, &col, 1, " ", w.p, w.len);
			}
			box_buf_free(&w);
			i += take;
		}
	}
	box_buf_adds(m, "\r\n");
}

static int valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t c = utf8_len(p + i, n - i);
		if (c == 1 && p[i] >= 0x80)
			return 0;
		i += c;
	}
	return 1;
}

/* Whether the body must be encoded: 8-bit bytes, control characters
 * other than tab, or lines longer than SMTP allows. */
static int needs_qp(const char *body)
{
	size_t col = 0;
	for (const unsigned char *p = (const unsigned char *)body; *p; p++) {
		if (*p == '\n') {
			col = 0;
			continue;
		}
		if (*p >= 0x7f || (*p < ' ' && *p != '\t') || ++col > SMTP_LINE_MAX)
			return 1;
	}
	return 0;
}

/* RFC 2045 quoted-printable: lines of at most 76 characters, soft line
 * breaks ("=" at the end) where a line of the body is longer, "=XX" for
 * '=', 8-bit and control bytes, and for a space or tab that would end a
 * line. A line that starts with '.' gets the usual dot-stuffing. */
static void add_qp_body(struct box_buf *b, const char *body)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)body;
	size_t col = 0;

	while (*p) {
		if (*p == '\n') {
			box_buf_adds(b, "\r\n");
			col = 0;
			p++;
			continue;
		}
		int last = p[1] == '\n' || !p[1];
		int lit = (*p >= 33 && *p <= 126 && *p != '=') ||
			((*p == ' ' || *p == '\t') && !last);
		size_t w = lit ? 1 : 3;
		/* room for the soft break's "=" unless this ends the line */
		if (col + w > (last ? 76 : 75)) {
			box_buf_adds(b, "=\r\n");
			col = 0;
		}
		if (!col && *p == '.')
			box_buf_addc(b, '.');
		if (lit) {
			box_buf_addc(b, (char)*p);
		} else {
			box_buf_addc(b, '=');
			box_buf_addc(b, hex[*p >> 4]);
			box_buf_addc(b, hex[*p & 15]);
		}
		col += w;
		p++;
	}
	if (col)
		box_buf_adds(b, "\r\n");
}

/* Headers, then the body with CRLF line ends and dot-stuffing, then the
 * terminating ".". The message is 7-bit: a body with 8-bit bytes or long
 * lines goes quoted-printable, so no relay has to convert or bounce it;
 * one that is not UTF-8 (a mount path in another encoding) is labelled
 * unknown-8bit (RFC 1428), its bytes kept. */
static void build_message(struct box_buf *b, const struct box_mail *m)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	time_t now = time(NULL);
	struct tm tm;
	size_t col;

	/* UTC: no time zone database needed, and mail clients show local time */
	gmtime_r(&now, &tm);
	box_buf_printf(b, "Date: %.3s, %02d %.3s %d %02d:%02d:%02d +0000\r\n",
		days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon, tm.tm_year + 1900,
		tm.tm_hour, tm.tm_min, tm.tm_sec);
	box_buf_printf(b, "From: <%s>\r\nTo:", m->from);
	col = strlen("To:");
	for (size_t i = 0; i < m->nto; i++) {
		char *a = box_xasprintf("<%s>%s", m->to[i], i + 1 < m->nto ? "," : "");
		fold_word(b, &col, i == 0, " ", a, strlen(a));
		free(a);
	}
	box_buf_adds(b, "\r\n");
	add_subject(b, m->subject);
	box_buf_printf(b, "Message-ID: <%lld.%ld.%s@%s>\r\n", (long long)box_wall_ns(),
		(long)getpid(), box_applet ? box_applet->name : "procbox", m->helo);
	if (m->headers)
		box_buf_adds(b, m->headers);
	int qp = needs_qp(m->body);
	box_buf_printf(b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=%s\r\n"
		"Content-Transfer-Encoding: %s\r\n\r\n",
		valid_utf8(m->body) ? "UTF-8" : "unknown-8bit", qp ? "quoted-printable" : "7bit");
	if (qp) {
		add_qp_body(b, m->body);
	} else {
		for (const char *line = m->body; *line;) {
			const char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			if (line[0] == '.')
				box_buf_addc(b, '.');
			box_buf_add(b, line, len);
			box_buf_adds(b, "\r\n");
			line += len + (nl != NULL);
		}
	}
	box_buf_adds(b, ".\r\n");
}

static void smtp_warn(const struct box_mail *m, const char *msg)
{
	if (m->warn)
		m->warn(m->ctx, msg);
}

/* What EHLO names: RFC 5321 wants a domain name or an address literal.
 * A host name without a dot is neither: then the connection's own
 * address, "[192.0.2.1]" or "[IPv6:2001:db8::1]". */
static void helo_name(struct smtp *s, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char addr[INET6_ADDRSTRLEN];

	snprintf(out, size, "%s", s->m->helo);
	if (strchr(s->m->helo, '.') || getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr)))
		snprintf(out, size, "[%s]", addr);
	else if (ss.ss_family == AF_INET6 &&
		 inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr)))
		snprintf(out, size, "[IPv6:%s]", addr);
}

/* EHLO, or HELO for a server that refuses it. Through a STARTTLS helper
 * the greeting was read before the encryption started, and EHLO is what
 * RFC 3207 wants first on the encrypted session; a helper that passes
 * the greeting on all the same has it taken as such. */
static int smtp_greet(struct smtp *s)
{
	int code = 0;
	char name[300];
	if (s->m->tls != BOX_SMTP_STARTTLS && smtp_cmd(s, "greeting", NULL, 2, NULL) < 0)
		return -1;
	helo_name(s, name, sizeof(name));
	char *cmd = box_xasprintf("EHLO %s", name);
	s->auth[0] = 0;
	s->ehlo = 1;
	int r = smtp_cmd(s, "EHLO", cmd, 2, &code);
	if (r == 0 && code == 220)
		r = smtp_cmd(s, "EHLO", NULL, 2, &code);
	s->ehlo = 0;
	free(cmd);
	if (r < 0 && code / 100 == 5) {
		cmd = box_xasprintf("HELO %s", name);
		r = smtp_cmd(s, "HELO", cmd, 2, NULL);
		free(cmd);
	}
	return r;
}

/* Whether the EHLO reply's AUTH line names mechanism. */
static int offers(const struct smtp *s, const char *mech)
{
	char w[32];
	snprintf(w, sizeof(w), " %s ", mech);
	return strcasestr(s->auth, w) != NULL;
}

/* AUTH PLAIN with the initial response (RFC 4954), or AUTH LOGIN: user
 * name and password each sent when the server asks (334). The secret is
 * never in an error message: those quote the server. */
static int smtp_auth(struct smtp *s)
{
	const char *u = s->m->auth_user, *pw = s->m->auth_pass;
	struct box_buf b = { 0 };
	int r, code = 0;

	if (!u)
		return 0;
	if (!s->auth[0]) {
		s->fatal = 1;
		return smtp_fail(s, "AUTH", "the server offers no authentication%s",
			s->m->tls ? "" : " (most offer it only over TLS)");
	}
	if (offers(s, "PLAIN")) {
		size_t ul = strlen(u), pl = strlen(pw);
		char *cred = box_xmalloc(ul + pl + 2);
		cred[0] = 0;
		memcpy(cred + 1, u, ul + 1);
		memcpy(cred + ul + 2, pw, pl);
		box_buf_adds(&b, "AUTH PLAIN ");
		box_base64(&b, cred, ul + pl + 2);
		memset(cred, 0, ul + pl + 2);
		free(cred);
		r = smtp_cmd(s, "AUTH PLAIN", b.p, 2, &code);
	} else if (offers(s, "LOGIN")) {
		r = smtp_cmd(s, "AUTH LOGIN", "AUTH LOGIN", 3, NULL);
		if (r == 0) {
			box_base64(&b, u, strlen(u));
				r = smtp_cmd(s, "AUTH LOGIN", b.p, 3, NULL);
		}
		if (r == 0) {
			memset(b.p, 0, b.len);
			b.len = 0;
			box_base64(&b, pw, strlen(pw));
				r = smtp_cmd(s, "AUTH LOGIN", b.p, 2, &code);
		}
	} else {
		s->fatal = 1;
		return smtp_fail(s, "AUTH", "the server offers neither PLAIN nor LOGIN, only %.*s",
			(int)strlen(s->auth) - 2, s->auth + 1);
	}
	if (b.p)
		memset(b.p, 0, b.len);
	box_buf_free(&b);
	return r;
}

/* RCPT TO for each recipient not delivered yet; one refused for good
 * (5xx) is warned about and the others still get the message, one
 * refused for now (4xx) waits for the next attempt. Returns how many were
 * accepted, or -1 when none was. */
static int smtp_recipients(struct smtp *s)
{
	int accepted = 0;
	for (size_t i = 0; i < s->m->nto; i++) {
		if (s->state[i] != RCPT_PENDING)
			continue;
		char *cmd = box_xasprintf("RCPT TO:<%s>", s->m->to[i]);
		char step[300];
		int code = 0;
		snprintf(step, sizeof(step), "RCPT TO <%s>", s->m->to[i]);
		int r = smtp_cmd(s, step, cmd, 2, &code);
		free(cmd);
		if (r == 0) {
			s->state[i] = RCPT_ACCEPTED;
			accepted++;
		} else if (code >= 400) {
			s->state[i] = code < 500 ? RCPT_LATER : RCPT_REFUSED;
			smtp_warn(s->m, s->err);
		} else {
			return -1;
		}
	}
	if (!accepted)
		return smtp_fail(s, "RCPT TO", "no recipient accepted");
	return accepted;
}

static int smtp_data(struct smtp *s)
{
	struct box_buf b = { 0 };
	if (smtp_cmd(s, "DATA", "DATA", 3, NULL) < 0)
		return -1;
	build_message(&b, s->m);
	int r = smtp_send(s, "DATA", b.p, b.len);
	box_buf_free(&b);
	if (r == 0)
		r = smtp_cmd(s, "end of DATA", NULL, 2, NULL);
	return r;
}

/* The steps after connecting: -1 when one failed, else how many
 * recipients were rejected. */
static int smtp_session(struct smtp *s)
{
	if (smtp_greet(s) < 0)
		return -1;
	int r = smtp_auth(s);
	if (r == 0) {
		char *cmd = box_xasprintf("MAIL FROM:<%s>", s->m->from);
		r = smtp_cmd(s, "MAIL FROM", cmd, 2, NULL);
		free(cmd);
	}
	if (r < 0 || smtp_recipients(s) < 0 || smtp_data(s) < 0) {
		/* refused by a reply: the server still listens, and is told
		 * goodbye (its reply does not matter; the failure stays) */
		if (s->code) {
			char keep[1200];
			int code = s->code;
			snprintf(keep, sizeof(keep), "%s", s->err);
			smtp_cmd(s, "QUIT", "QUIT", 2, NULL);
			snprintf(s->err, s->errsize, "%s", keep);
			s->code = code;
		}
		return -1;
	}
	for (size_t i = 0; i < s->m->nto; i++)
		if (s->state[i] == RCPT_ACCEPTED)
			s->state[i] = RCPT_DELIVERED;
	if (smtp_cmd(s, "QUIT", "QUIT", 2, NULL) < 0) {
		char *w = box_xasprintf("%s (the message was accepted)", s->err);
		smtp_warn(s->m, w);
		free(w);
	}
	return 0;
}

/* One connection and transaction. 0: done; 1: failed, worth another
 * attempt (a 4xx reply, a connection that failed or broke); 2: sent, but
 * some recipients were told to come back; -1: failed for good (a 5xx). */
static int smtp_attempt(struct smtp *s)
{
	s->fatal = 0;
	int r = smtp_connect(s);
	if (r == 0) {
		r = smtp_session(s);
		if (s->helper) {
			char st[80];
			helper_end(s, st, sizeof(st));
		} else {
			box_close(s->fd);
			s->fd = -1;
		}
	}
	int later = 0;
	for (size_t i = 0; i < s->m->nto; i++)
		if (s->state[i] == RCPT_ACCEPTED || s->state[i] == RCPT_LATER) {
			later |= s->state[i] == RCPT_LATER;
			s->state[i] = RCPT_PENDING;
		}
	if (r < 0)
		return !s->fatal && (later || s->code < 500) ? 1 : -1;
	return later ? 2 : 0;
}

int box_smtp_send(const struct box_mail *m, char *err, size_t errsize)
{
	struct smtp s = { .m = m, .fd = -1, .err = err, .errsize = errsize };
	int64_t delay = m->retry_delay > 0 ? m->retry_delay : 30 * BOX_NSEC;
	int r, left = 0;

	s.state = box_xcalloc(m->nto + 1, 1);
	for (int attempt = 0;; attempt++) {
		err[0] = 0;
		r = smtp_attempt(&s);
		if (r <= 0 || attempt >= m->retries)
			break;
		char d[32], *w;
		box_fmt_duration(d, sizeof(d), delay);
		if (r == 1)
			w = box_xasprintf("%s; trying again in %s", err, d);
		else
			w = box_xasprintf("some recipients were told to try later; trying again in %s", d);
		smtp_warn(m, w);
		free(w);
		struct timespec ts = { delay / BOX_NSEC, delay % BOX_NSEC };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		delay *= 2;
	}
	for (size_t i = 0; i < m->nto; i++)
		left += s.state[i] != RCPT_DELIVERED;
	free(s.state);
	free(s.helper_cmd);
	if (r == 1 || r == -1)
		return -1;
	if (left == (int)m->nto) {
		snprintf(err, errsize, "RCPT TO: no recipient accepted");
		return -1;
	}
	return left;
}
