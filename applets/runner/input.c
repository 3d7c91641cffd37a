/* runner's input: the records jobs are made of, taken one at a time when
 * a job is about to start. A record is an operand, an item of a ::: list,
 * or a line (a NUL-terminated record with -0) of a -f file. Files are read
 * CHUNK bytes at a time, and only when no whole record is left in what was
 * read, so a pipe's lines start jobs as they arrive and memory holds one
 * chunk (or the longest record) whatever the length of the input.
 *
 * With a template (CMD operands and an input source, as in GNU parallel)
 * a record is one job's argument: template_expand puts it in place of the
 * replacement strings, quoted for /bin/sh in the command line, and as
 * exactly one word of the argv that runs when the template itself needs
 * no shell. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 65536

/* ---- reading records ----------------------------------------------------- */

/* A file that cannot be read is an error before anything runs; each is
 * opened when its turn comes, so that a FIFO's writer may come later. */
void input_open(struct input *in, char **paths, size_t n)
{
	in->paths = paths;
	in->nfiles = n;
	in->fd = -1;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (!strcmp(paths[i], "-"))
			continue;
		if (stat(paths[i], &st) < 0 || access(paths[i], R_OK) < 0)
			box_fatal_errno("unable to read %s", paths[i]);
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			box_fatal_errno("unable to read %s", paths[i]);
		}
	}
}

static const char *input_name(const struct input *in)
{
	const char *path = in->paths[in->file];
	return strcmp(path, "-") ? path : "standard input";
}

/* Without waiting for a FIFO's writer to come: runner still answers
 * signals meanwhile, and poll waits for the writer's data. */
static void open_file(struct input *in)
{
	const char *path = in->paths[in->file];
	struct stat st;

	in->fd = strcmp(path, "-") ? box_open(path, O_RDONLY | O_NONBLOCK, 0) : 0;
	if (in->fd < 0 || fstat(in->fd, &st) < 0) {
		box_warn_errno("unable to read %s", input_name(in));
		in->failed = 1;
		return;
	}
	in->regular = S_ISREG(st.st_mode);
}

/* The fd to wait on when input_next said IN_WAIT. */
int input_fd(const struct input *in)
{
	return in->fd;
}

/* Reads once from the current file: what a read returns, at most CHUNK
 * bytes, after the record not yet complete. */
void input_fill(struct input *in)
{
	struct box_buf *b = &in->buf;

	if (in->pos) {
		memmove(b->p, b->p + in->pos, b->len - in->pos);
		b->len -= in->pos;
		in->scanned -= in->pos;
		in->pos = 0;
	}
	if (b->cap < b->len + CHUNK + 1) {
		b->cap = b->len + CHUNK + 1;
		b->p = box_xrealloc(b->p, b->cap);
	}
	ssize_t n = box_read(input_fd(in), b->p + b->len, CHUNK);
	if (n > 0)
		b->len += (size_t)n;
	b->p[b->len] = 0;
	if (n > 0 || (n < 0 && errno == EAGAIN))
		return;
	if (n < 0) {
		box_warn_errno("unable to read %s", input_name(in));
		in->failed = 1;
	}
	in->at_eof = 1;
}

static void next_file(struct input *in)
{
	if (in->fd > 0)
		close(in->fd);
	in->fd = -1;
	in->file++;
	in->at_eof = 0;
	in->buf.len = in->pos = in->scanned = 0;
}

/* A command line of a file: blanks around it removed; NULL for a blank
 * line or a # comment. */
static char *command_of(char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	char *end = line + strlen(line);
	while (end > line && strchr(" \t\r", end[-1]))
		*--end = 0;
	return *line && *line != '#' ? line : NULL;
}

/* The next record (valid until the next call), IN_WAIT when the file
 * being read is not regular and has no whole record yet (wait for
 * input_fd to be readable, then input_fill), or IN_END. */
int input_next(struct input *in, char **record)
{
	for (;;) {
		if (in->item < in->nitems) {
			in->records++;
			*record = in->items[in->item++];
			return IN_RECORD;
		}
		if (in->file < in->nfiles && in->fd < 0)
			open_file(in);
		if (in->file >= in->nfiles || in->failed)
			return IN_END;
		size_t len = in->buf.len;
		char *p, *sep = NULL;
		if (in->scanned < len)
			sep = memchr(in->buf.p + in->scanned, in->sep, len - in->scanned);
		if (sep || (in->at_eof && in->pos < len)) {
			char *stop = sep ? sep : in->buf.p + len;
			p = in->buf.p + in->pos;
			*stop = 0;
			in->pos = in->scanned = (size_t)(stop - in->buf.p) + (sep != NULL);
			in->records++;
			if (in->commands && !(p = command_of(p)))
				continue;
			*record = p;
			return IN_RECORD;
		}
		in->scanned = len;
		if (in->at_eof)
			next_file(in);
		else if (in->regular)
			input_fill(in);
		else
			return IN_WAIT;
	}
}

/* How many records there are in all, once that is known; else -1. */
long long input_total(const struct input *in)
{
	if (in->file < in->nfiles && !in->failed)
		return -1;
	return in->records + (long long)(in->nitems - in->item);
}

/* ---- templates ------------------------------------------------------------ */

/* GNU parallel's replacement strings for one input source. */
enum { V_ARG, V_NOEXT, V_BASE, V_DIR, V_BASE_NOEXT, V_SEQ, V_SLOT, VALUES };
static const char *const value_name[VALUES] = {
	"{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}",
};

static int value_at(const char *p, size_t *len)
{
	if (*p != '{')
		return -1;
	for (int k = 0; k < VALUES; k++) {
		*len = strlen(value_name[k]);
		if (!strncmp(p, value_name[k], *len))
			return k;
	}
	return -1;
}

/* The CMD operands joined by blanks, as parallel joins them, with " {}"
 * added when they name no value; *direct when nothing but the values
 * would make it shell syntax. */
char *template_make(char **words, size_t n, int *direct)
{
	struct box_buf t = { 0 }, probe = { 0 };
	int named = 0;
	size_t len;

	for (size_t i = 0; i < n; i++) {
		if (i)
			box_buf_addc(&t, ' ');
		box_buf_adds(&t, words[i]);
	}
	for (const char *p = t.p; *p;) {
		if (value_at(p, &len) >= 0) {
			named = 1;
			box_buf_addc(&probe, 'x');
			p += len;
		} else {
			box_buf_addc(&probe, *p++);
		}
	}
	if (!named) {
		box_buf_adds(&t, " {}");
		box_buf_adds(&probe, " x");
	}
	*direct = box_is_simple_command(probe.p);
	box_buf_free(&probe);
	return t.p;
}

/* s without the extension of its last component: parallel's
 * s:\.[^/.]*$:: */
static size_t without_ext(const char *s, size_t n)
{
	const char *dot = memrchr(s, '.', n);
	return dot && !memchr(dot, '/', n - (size_t)(dot - s)) ? (size_t)(dot - s) : n;
}

/* File::Basename's dirname, which parallel's {//} is: "a/b" "a", "a"
 * ".", "/a" "/", "a/b/" "a", "" ".". */
static void dirname_of(struct box_buf *v, const char *s)
{
	size_t n = strlen(s);

	for (int pass = 0;; pass++) {
		size_t d = n;
		while (d && s[d - 1] != '/')
			d--;
		int no_base = d == n;
		if (!d) {
			s = "./";
			d = 2;
		}
		while (d > 1 && s[d - 1] == '/')
			d--;
		if (pass || !no_base) {
			box_buf_add(v, s, d);
			return;
		}
		n = d;
	}
}

static void value_of(struct box_buf *v, int k, const struct job *j)
{
	const char *arg = j->arg, *slash = strrchr(arg, '/');
	const char *base = slash ? slash + 1 : arg;

	switch (k) {
	case V_ARG: box_buf_adds(v, arg); break;
	case V_NOEXT: box_buf_add(v, arg, without_ext(arg, strlen(arg))); break;
	case V_BASE: box_buf_adds(v, base); break;
	case V_DIR: dirname_of(v, arg); break;
	case V_BASE_NOEXT: box_buf_add(v, base, without_ext(base, strlen(base))); break;
	case V_SEQ: box_buf_printf(v, "%lld", j->seq); break;
	case V_SLOT: box_buf_printf(v, "%d", j->slot); break;
	}
}

/* Quoted for /bin/sh exactly as GNU parallel quotes for Bourne shells, so
 * the joblog shows the same command: as it is when every byte is one of
 * -_.+/ and alphanumerics, else in '...' with ' as '"'"'. */
static void sh_quote(struct box_buf *b, const char *s, size_t n)
{
	static const char safe[] = "-_.+/abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	struct box_buf q = { 0 };
	size_t i = 0;

	while (i < n && memchr(safe, s[i], sizeof(safe) - 1))
		i++;
	if (n && i == n) {
		box_buf_add(b, s, n);
		return;
	}
	box_buf_addc(&q, '\'');
	for (i = 0; i < n; i++) {
		if (s[i] == '\'')
			box_buf_adds(&q, "'\"'\"'");
		else
			box_buf_addc(&q, s[i]);
	}
	box_buf_addc(&q, '\'');
	char *p = q.p;
	size_t len = q.len;
	if (len > 2 && !strncmp(p, "''", 2)) {
		p += 2;
		len -= 2;
	}
	if (len > 2 && !strncmp(p + len - 2, "''", 2))
		len -= 2;
	box_buf_add(b, p, len);
	box_buf_free(&q);
}

/* The job's command line; with a direct template also *argv, its words
 * (one allocation), each value inside one word, never split. */
char *template_expand(const char *tpl, int direct, const struct job *j, char ***argv)
{
	struct box_buf cmd = { 0 }, words = { 0 }, v = { 0 };
	size_t nwords = 0, len;
	int in_word = 0, k;

	for (const char *p = tpl; *p;) {
		if ((k = value_at(p, &len)) < 0) {
			char c = *p++;
			box_buf_addc(&cmd, c);
			if (c != ' ' && c != '\t') {
				box_buf_addc(&words, c);
				in_word = 1;
			} else if (in_word) {
				box_buf_addc(&words, 0);
				nwords++;
				in_word = 0;
			}
			continue;
		}
		p += len;
		v.len = 0;
		value_of(&v, k, j);
		sh_quote(&cmd, v.p ? v.p : "", v.len);
		box_buf_add(&words, v.p ? v.p : "", v.len);
		in_word = 1;
	}
	if (in_word) {
		box_buf_addc(&words, 0);
		nwords++;
	}
	*argv = NULL;
	if (direct && nwords) {
		char **w = box_xmalloc((nwords + 1) * sizeof(char *) + words.len);
		char *s = memcpy(w + nwords + 1, words.p, words.len);
		for (size_t i = 0; i < nwords; i++, s += strlen(s) + 1)
			w[i] = s;
		w[nwords] = NULL;
		*argv = w;
	}
	box_buf_free(&words);
	box_buf_free(&v);
	return cmd.p;
}
