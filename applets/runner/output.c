/* What runner prints of a finished job: its output as it was captured
 * (tagged with --tag), or one JSON object (--json), and its joblog line. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void emit(struct runner *r, int fd, const char *p, size_t n)
{
	if (fd == 1 && r->stdout_broken)
		return;
	if (box_write_all(fd, p, n) >= 0 || fd != 1)
		return;
	box_warn_errno("unable to write to standard output");
	r->stdout_broken = 1;
	r->own_error = 1;
}

/* Copies text to fd with "TAG\t" in front of every line. *bol says whether
 * the next byte starts a line, across chunks. */
static void emit_tagged(struct runner *r, int fd, const char *tag, const char *p,
	size_t n, int *bol)
{
	struct box_buf b = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (*bol) {
			box_buf_adds(&b, tag);
			box_buf_addc(&b, '\t');
		}
		box_buf_addc(&b, p[i]);
		*bol = p[i] == '\n';
	}
	emit(r, fd, b.p, b.len);
	box_buf_free(&b);
}

static void emit_chunk(struct runner *r, struct job *j, int fd, const char *p, size_t n, int *bol)
{
	if (r->tag)
		emit_tagged(r, fd, j->host ? j->host : j->arg ? j->arg : j->cmd, p, n, bol);
	else
		emit(r, fd, p, n);
}

struct printing {
	struct runner *r;
	struct job *j;
	int fd, bol;
};

static void print_piece(void *ctx, const char *p, size_t n)
{
	struct printing *pr = ctx;
	emit_chunk(pr->r, pr->j, pr->fd, p, n, &pr->bol);
}

static void print_output(struct runner *r, struct job *j)
{
	for (int i = 0; i < 2; i++) {
		struct printing pr = { r, j, i + 1, 1 };
		if (sink_each(&j->out[i], print_piece, &pr) < 0)
			box_warn_errno("unable to read back the output of job %lld", j->seq);
	}
}

static const char *const outcome_name[OUTCOMES] = { "ok", "failed", "timed_out", "unreachable" };

static void gather(void *ctx, const char *p, size_t n)
{
	box_buf_add(ctx, p, n);
}

/* A stream as a JSON string: it may hold NUL bytes, so by its length. */
static void json_output(struct box_json *js, const char *key, const struct sink *s)
{
	struct box_buf all = { 0 };
	if (sink_each(s, gather, &all) < 0)
		box_warn_errno("unable to read back an output");
	box_json_sn(js, key, all.p ? all.p : "", all.len);
	box_buf_free(&all);
}

static void print_json(struct runner *r, struct job *j)
{
	struct box_buf b = { 0 };
	struct box_json js;
	int64_t d = j->end_ns - j->start_ns;

	box_json_begin(&js, &b);
	box_json_i(&js, "seq", j->seq);
	box_json_s(&js, "host", j->host);
	box_json_s(&js, "command", j->cmd);
	box_json_s(&js, "result", outcome_name[j->outcome]);
	box_json_status(&js, j->status);
	box_json_i(&js, "tries", j->tries);
	/* whole milliseconds and microseconds, printed exactly */
	box_json_f(&js, "start", "%.3f", (double)(j->start_wall_ns / 1000000) / 1e3);
	box_json_f(&js, "duration", "%.6f", (double)(d / 1000) / 1e6);
	box_json_i(&js, "stdout_bytes", (long long)j->out[0].bytes);
	box_json_i(&js, "stderr_bytes", (long long)j->out[1].bytes);
	json_output(&js, "stdout", &j->out[0]);
	json_output(&js, "stderr", &j->out[1]);
	box_json_end(&js);
	box_buf_addc(&b, '\n');
	emit(r, 1, b.p, b.len);
	box_buf_free(&b);
}

void print_job(struct runner *r, struct job *j)
{
	if (r->json)
		print_json(r, j);
	else
		print_output(r, j);
	sink_free(&j->out[0]);
	sink_free(&j->out[1]);
}

/* Made new (never through a symlink), or appended to when resuming, as
 * GNU parallel does. */
void open_joblog(struct runner *r, const char *path, int append)
{
	struct stat st;

	r->joblog = box_xopen_output(path, append);
	if (!append || (fstat(r->joblog, &st) == 0 && st.st_size == 0))
		box_write_str(r->joblog,
			"Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n");
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* A joblog line: its Seq, and whether Exitval and Signal are both 0.
 * -1 when it is not a joblog line. */
static int joblog_line(char *line, long long *seq, int *ok)
{
	char *f[9], *end;
	size_t n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < 9; p++)
		if (*p == '\t') {
			*p = 0;
			f[n++] = p + 1;
		}
	if (n < 9 || !*f[0] || *f[0] < '0' || *f[0] > '9')
		return -1;
	errno = 0;
	*seq = strtoll(f[0], &end, 10);
	if (*end || errno)
		return -1;
	for (int i = 1; i < 6; i++)
		if (!*f[i])
			return -1;
	strtoll(f[6], &end, 10);
	if (!*f[6] || *end)
		return -1;
	strtoll(f[7], &end, 10);
	if (!*f[7] || *end)
		return -1;
	*ok = !strcmp(f[6], "0") && !strcmp(f[7], "0");
	return 0;
}

/* --resume (failed_too 0): every job the joblog names is done;
 * --resume-failed: only those it has with Exitval 0 and Signal 0, so the
 * others run again, as GNU parallel reads it. The first line is the
 * header; a missing joblog is an empty one. */
void read_joblog(struct runner *r, const char *path, int failed_too)
{
	struct box_buf b = { 0 };
	size_t cap = 0, lineno = 1;

	if (box_read_file(path, &b) < 0) {
		if (errno == ENOENT)
			return;
		box_die_errno(255, "unable to read the joblog %s", path);
	}
	box_buf_addc(&b, 0);   /* a spare byte for the last line's end */
	b.len--;
	char *end = b.p + b.len, *p = b.len ? memchr(b.p, '\n', b.len) : NULL;
	while (p && ++p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		long long seq;
		int ok;
		lineno++;
		if (!eol)
			eol = end;
		*eol = 0;
		if (joblog_line(p, &seq, &ok) < 0)
			box_die(255, "%s:%zu: not a joblog line", path, lineno);
		if (ok || !failed_too)
			*BOX_PUSH(r->done_seq, r->ndone, cap) = seq;
		p = eol;
	}
	box_buf_free(&b);
	if (r->ndone)
		qsort(r->done_seq, r->ndone, sizeof(*r->done_seq), cmp_ll);
}

int already_done(const struct runner *r, long long seq)
{
	return r->ndone && bsearch(&seq, r->done_seq, r->ndone, sizeof(seq), cmp_ll);
}

/* GNU parallel's joblog: Seq Host Starttime JobRuntime Send Receive
 * Exitval Signal Command; a timed-out job has Exitval -1. A newline in
 * the command is written as a NUL byte, as parallel writes it, so every
 * job stays one line that parallel --resume can read. */
void log_job(struct runner *r, struct job *j)
{
	struct box_buf b = { 0 };
	int64_t d = j->end_ns - j->start_ns;
	int st = j->status;
	int exitval = j->timed_out ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 0;
	/* a program that catches the timeout's SIGTERM (ssh does) and exits
	 * is still logged with the signal that stopped it */
	int sig = WIFSIGNALED(st) ? WTERMSIG(st) : j->timed_out ? SIGTERM : 0;

	if (r->joblog < 0)
		return;
	box_buf_printf(&b, "%lld\t%s\t%lld.%03lld\t%6lld.%03lld\t0\t%zu\t%d\t%d\t",
		(long long)j->seq, j->host ? j->host : ":",
		(long long)(j->start_wall_ns / BOX_NSEC),
		(long long)(j->start_wall_ns % BOX_NSEC / 1000000),
		(long long)(d / BOX_NSEC), (long long)(d % BOX_NSEC / 1000000),
		j->out[0].bytes + j->out[1].bytes, exitval, sig);
	for (const char *c = j->cmd; *c; c++)
		box_buf_addc(&b, *c == '\n' ? 0 : *c);
	box_buf_addc(&b, '\n');
	if (box_write_all(r->joblog, b.p, b.len) < 0) {
		box_warn_errno("unable to write the joblog");
		close(r->joblog);
		r->joblog = -1;
	}
	box_buf_free(&b);
}
