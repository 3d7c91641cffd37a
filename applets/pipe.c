/* pipe: run a pipeline without a shell. Each stage is one command string,
 * split into words (quotes and backslashes, no expansion) and executed
 * with a PATH lookup; stages are connected child to child, so the data
 * never passes through pipe itself. It reports how every stage ended,
 * can apply pipefail, forgive the SIGPIPE death of an early stage, feed
 * the first stage, collect or tag stderr, and time the pipeline out. */
#include "../libbox/box.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
	"pipe [-tsp] [-i STRING | -I FILE] [-o FILE] [-e FILE] [--sigpipe-ok] "
	"[--timeout DUR] STAGE [STAGE...]";

static const char help[] =
	"Run STAGEs as a pipeline, without a shell: each STAGE is one command\n"
	"string (quotes and backslashes, no expansion), its stdout connected to\n"
	"the next stage's stdin.\n"
	"\n"
	"  -i, --input STRING       feed STRING (exactly, no newline added) to the\n"
	"                           first stage's stdin\n"
	"  -I, --input-file FILE    the first stage reads FILE\n"
	"  -o, --output FILE        the last stage writes to FILE (truncated)\n"
	"  -e, --errors FILE        every stage's stderr goes to FILE (truncated)\n"
	"  -t, --tag                prefix each stderr line with its stage:\n"
	"                           \"[2 grep] message\"\n"
	"  -s, --status             print every stage's status on stderr at the\n"
	"                           end: \"pipe: status 0 141 0\"\n"
	"  -p, --pipefail           exit with the rightmost non-zero status\n"
	"      --default-signals    run the stages with every signal at default, even\n"
	"                           those ignored when pipe started (nohup)\n"
	"      --sigpipe-ok         a stage other than the last killed by SIGPIPE\n"
	"                           counts as success\n"
	"      --timeout DUR        after DUR send SIGTERM to the pipeline's process\n"
	"                           group, SIGKILL 1s later (0: no timeout)\n"
	"\n"
	"Exit status: the last stage's (128+N when killed by signal N), or with -p\n"
	"the rightmost non-zero one; 124 timed out; 137 timed out and killed;\n"
	"125 usage or own failure; a stage that cannot be executed has status\n"
	"126, or 127 when not found.\n";

#define PIPE_FAIL 125
#define PIPE_TIMED_OUT 124
#define KILL_GRACE_NS BOX_NSEC
/* -t: a line longer than this is passed on in pieces */
#define TAG_LINE_MAX 8192

struct stage {
	char **argv;
	const char *name;    /* basename of argv[0], for -t */
	pid_t pid;           /* > 0 while running */
	int status;          /* shell-style code once it ended */
	int signal;          /* the signal that killed it, or 0 */
	int tag_fd;          /* -t: read end of its stderr pipe, or -1 */
	char *line;          /* -t: the partial line read so far */
	size_t line_len;
};

struct pipeline {
	struct stage *stages;
	int n, running;
	int in_fd, out_fd, err_fd;   /* -I, -o, -e, or -1 */
	const char *feed;            /* -i */
	size_t feed_len, feed_off;
	int feed_fd;                 /* parent's write end for -i, or -1 */
	int tag, show_status, pipefail, sigpipe_ok;
	int tag_out;                 /* -t: where tagged lines go */
	int64_t timeout_ns;
	pid_t pgid;                  /* --timeout: the stages' group, 0 before */
	const struct box_loop *loop;
	int own_failure, timed_out, killed;
};

static void parse_stages(struct pipeline *p, char **args, int n)
{
	p->stages = box_xcalloc((size_t)n, sizeof(*p->stages));
	p->n = n;
	for (int i = 0; i < n; i++) {
		struct stage *s = &p->stages[i];
		const char *err;
		if (box_split(args[i], &s->argv, &err) < 0)
			box_usage("stage %d: %s", i + 1, err);
		if (!s->argv[0])
			box_usage("stage %d is empty", i + 1);
		s->name = box_basename(s->argv[0]);
		s->tag_fd = -1;
	}
}

static void report_spawn_failure(int i, const struct stage *s,
	const struct box_spawn_error *e)
{
	char text[8192];
	box_warn("stage %d: %s", i, box_fmt_spawn_error(text, sizeof(text), s->argv[0], e));
}

/* The first stage's stdin: -I's file, the read end of the -i pipe, or
 * pipe's own stdin (-1). */
static int first_input(struct pipeline *p)
{
	int fds[2];

	if (!p->feed)
		return p->in_fd;
	box_xpipe(fds);
	p->feed_fd = fds[1];
	box_set_nonblock(p->feed_fd, 1);
	if (!p->feed_len) {
		box_close(p->feed_fd);
		p->feed_fd = -1;
	}
	return fds[0];
}

/* Starts stage i reading from in; returns the read end of its stdout
 * pipe (the next stage's input), or -1 for the last stage. Every fd the
 * parent does not need any more is closed before it returns. When pipe
 * itself fails (no fds, no processes) it says so and sets own_failure. */
static int start_stage(struct pipeline *p, int i, int in)
{
	struct stage *s = &p->stages[i];
	struct box_spawn sp = { .argv = s->argv, .fd_in = in, .fd_out = p->out_fd,
		.fd_err = p->err_fd, .pgroup = p->timeout_ns ? p->pgid : -1, .inherit_fds = 1,
		.pdeathsig = SIGTERM };
	struct box_spawn_error e = { 0 };
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };

	s->pid = -1;
	if ((i < p->n - 1 && pipe2(out, O_CLOEXEC) < 0) ||
	    (p->tag && pipe2(err, O_CLOEXEC) < 0))
		goto fail;
	if (out[1] >= 0)
		sp.fd_out = out[1];
	if (err[1] >= 0)
		sp.fd_err = err[1];
	s->pid = box_spawn(&sp, &e);
fail:
	box_close(in);
	box_close(out[1]);
	box_close(err[1]);
	if (s->pid > 0) {
		p->running++;
		if (sp.pgroup == 0)
			p->pgid = s->pid;
		if (p->tag) {
			s->tag_fd = err[0];
			box_set_nonblock(s->tag_fd, 1);
			s->line = box_xmalloc(TAG_LINE_MAX);
		}
		return out[0];
	}
	box_close(err[0]);
	s->pid = 0;
	if (e.err) {
		report_spawn_failure(i + 1, s, &e);
		s->status = box_exec_fail_code(e.err);
		return out[0];
	}
	box_warn_errno("stage %d: unable to start", i + 1);
	s->status = PIPE_FAIL;
	p->own_failure = 1;
	box_close(out[0]);
	return -1;
}

/* Stages that could not be started for pipe's own reasons have status
 * 125; the ones already running finish with their input or output gone. */
static void start_pipeline(struct pipeline *p)
{
	int in = first_input(p);

	for (int i = 0; i < p->n; i++) {
		if (p->own_failure)
			p->stages[i].status = PIPE_FAIL;
		else
			in = start_stage(p, i, in);
	}
	box_close(p->out_fd);
	box_close(p->err_fd);
	p->out_fd = p->err_fd = -1;
}

static void signal_stages(struct pipeline *p, int sig)
{
	if (p->pgid > 0) {
		kill(-p->pgid, sig);
		return;
	}
	/* the last stage first: it must not see end-of-file from an earlier
	 * stage's death and end normally before its own signal arrives */
	for (int i = p->n - 1; i >= 0; i--)
		if (p->stages[i].pid > 0)
			kill(p->stages[i].pid, sig);
}

static void reap(struct pipeline *p)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < p->n; i++) {
			struct stage *s = &p->stages[i];
			if (s->pid != pid)
				continue;
			s->pid = 0;
			s->status = box_status_code(status);
			s->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
			p->running--;
		}
	}
}

static void stop_feeding(struct pipeline *p)
{
	box_close(p->feed_fd);
	p->feed_fd = -1;
}

static void feed(struct pipeline *p)
{
	ssize_t w = write(p->feed_fd, p->feed + p->feed_off, p->feed_len - p->feed_off);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			stop_feeding(p);   /* EPIPE: the first stage stopped reading */
		return;
	}
	p->feed_off += (size_t)w;
	if (p->feed_off == p->feed_len)
		stop_feeding(p);
}

static void tag_line(struct box_buf *b, int i, const struct stage *s,
	const char *text, size_t n)
{
	box_buf_printf(b, "[%d %s] ", i + 1, s->name);
	box_buf_add(b, text, n);
	box_buf_addc(b, '\n');
}

/* Reads what stage i wrote to stderr and passes on every complete line,
 * tagged, in one write; at EOF (or with flush) the partial line too. */
static void pump_tag(struct pipeline *p, int i, int flush)
{
	struct stage *s = &p->stages[i];
	struct box_buf b = { 0 };
	int eof = 0;

	/* until the pipe is empty, so that a stage's end (and its last
	 * partial line) is seen in the turn it happened, before lines that
	 * later stages wrote after it; a few reads at most, to stay fair */
	for (int reads = 0; flush || reads < 4; reads++) {
		ssize_t r = box_read(s->tag_fd, s->line + s->line_len,
			TAG_LINE_MAX - s->line_len);
		if (r <= 0) {
			eof = r == 0 || errno != EAGAIN;
			break;
		}
		s->line_len += (size_t)r;
		char *start = s->line, *end = s->line + s->line_len, *nl;
		while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
			tag_line(&b, i, s, start, (size_t)(nl - start));
			start = nl + 1;
		}
		s->line_len = (size_t)(end - start);
		memmove(s->line, start, s->line_len);
		if (s->line_len == TAG_LINE_MAX) {
			tag_line(&b, i, s, s->line, s->line_len);
			s->line_len = 0;
		}
	}
	if ((eof || flush) && s->line_len) {
		tag_line(&b, i, s, s->line, s->line_len);
		s->line_len = 0;
	}
	if (b.len)
		box_write_all(p->tag_out, b.p, b.len);
	box_buf_free(&b);
	if (eof || flush) {
		box_close(s->tag_fd);
		s->tag_fd = -1;
	}
}

/* On the deadline: SIGTERM first, SIGKILL after a grace period. */
static int64_t on_deadline(struct pipeline *p)
{
	if (!p->timed_out) {
		p->timed_out = 1;
		signal_stages(p, SIGTERM);
		signal_stages(p, SIGCONT);
		return box_now_ns() + KILL_GRACE_NS;
	}
	p->killed = 1;
	signal_stages(p, SIGKILL);
	return -1;
}

/* Stages in pipe's own process group got a terminal's ^C, ^\ or hangup
 * already; with --timeout they have a group of their own and get it here. */
static void on_signal(void *ctx, int sig)
{
	struct pipeline *p = ctx;

	if (sig == SIGCHLD)
		reap(p);
	else if (p->pgid > 0 || !p->loop->sig_by_kernel)
		signal_stages(p, sig);
}

static void on_feed(void *ctx, int fd, short revents)
{
	(void)fd, (void)revents;
	feed(ctx);
}

static void on_tag(void *ctx, int fd, short revents)
{
	struct pipeline *p = ctx;

	(void)revents;
	for (int i = 0; i < p->n; i++)
		if (p->stages[i].tag_fd == fd)
			pump_tag(p, i, 0);
}

/* One poll over the -i pipe, the -t pipes and the signal fd, with the
 * timeout as its deadline, until every stage has been reaped. */
static void run(struct pipeline *p, struct box_loop *l)
{
	int64_t deadline = p->timeout_ns ? box_now_ns() + p->timeout_ns : -1;

	while (p->running > 0) {
		box_loop_begin(l);
		box_loop_fd(l, p->feed_fd, POLLOUT, on_feed, p);
		for (int i = 0; i < p->n; i++)
			box_loop_fd(l, p->stages[i].tag_fd, POLLIN, on_tag, p);
		box_loop_signals(l);
		box_loop_deadline(l, deadline);
		if (box_loop_wait(l) == 0)
			deadline = on_deadline(p);
	}
	/* what a stage wrote before it ended is in its pipe now; a background
	 * grandchild holding the pipe open must not keep pipe waiting */
	for (int i = 0; i < p->n; i++)
		if (p->stages[i].tag_fd >= 0)
			pump_tag(p, i, 1);
	stop_feeding(p);
}

static int exit_status(const struct pipeline *p)
{
	if (p->own_failure)
		return PIPE_FAIL;
	if (p->timed_out)
		return p->killed ? 128 + SIGKILL : PIPE_TIMED_OUT;
	if (!p->pipefail)
		return p->stages[p->n - 1].status;
	for (int i = p->n - 1; i >= 0; i--) {
		const struct stage *s = &p->stages[i];
		int forgiven = p->sigpipe_ok && i < p->n - 1 && s->signal == SIGPIPE;
		if (s->status && !forgiven)
			return s->status;
	}
	return 0;
}

static void print_statuses(const struct pipeline *p)
{
	struct box_buf b = { 0 };
	for (int i = 0; i < p->n; i++)
		box_buf_printf(&b, " %d", p->stages[i].status);
	box_warn("status%s", b.p);
	box_buf_free(&b);
}

static void free_stages(struct pipeline *p)
{
	for (int i = 0; i < p->n; i++) {
		free(p->stages[i].argv);
		free(p->stages[i].line);
	}
	free(p->stages);
}

enum { OPT_SIGPIPE_OK = 256, OPT_TIMEOUT, OPT_DEFAULT_SIGNALS };

static const struct box_opt opts[] = {
	{ "input", 'i', 'i', 1 },
	{ "input-file", 'I', 'I', 1 },
	{ "output", 'o', 'o', 1 },
	{ "errors", 'e', 'e', 1 },
	{ "tag", 't', 't', 0 },
	{ "status", 's', 's', 0 },
	{ "pipefail", 'p', 'p', 0 },
	{ "sigpipe-ok", OPT_SIGPIPE_OK, 0, 0 },
	{ "default-signals", OPT_DEFAULT_SIGNALS, 0, 0 },
	{ "timeout", OPT_TIMEOUT, 0, 1 },
	{ 0 },
};

static int pipe_main(int argc, char **argv)
{
	struct pipeline p = { .in_fd = -1, .out_fd = -1, .err_fd = -1, .feed_fd = -1,
		.tag_out = 2 };
	struct box_loop l = { 0 };
	const char *in_file = NULL, *out_file = NULL, *err_file = NULL;
	struct box_getopt g;
	int c;

	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, opts)) != -1) {
		switch (c) {
		case 'i': p.feed = g.arg; break;
		case 'I': in_file = g.arg; break;
		case 'o': out_file = g.arg; break;
		case 'e': err_file = g.arg; break;
		case 't': p.tag = 1; break;
		case 's': p.show_status = 1; break;
		case 'p': p.pipefail = 1; break;
		case OPT_SIGPIPE_OK: p.sigpipe_ok = 1; break;
		case OPT_DEFAULT_SIGNALS: box_sig_forget_ignored(); break;
		case OPT_TIMEOUT: p.timeout_ns = box_xparse_duration("timeout", g.arg); break;
		}
	}
	if (p.feed && in_file)
		box_usage("-i and -I cannot be combined");
	if (g.ind >= argc)
		box_usage("no stage given");
	parse_stages(&p, argv + g.ind, argc - g.ind);
	if (p.feed)
		p.feed_len = strlen(p.feed);

	/* inherited SIG_IGN for SIGCHLD would make the kernel reap stages
	 * before their status could be read */
	box_signal(SIGCHLD, SIG_DFL);
	/* a stage that stops reading -i input must not kill pipe itself */
	box_signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	box_sigset(&set, SIGCHLD, BOX_FORWARDED, 0);
	p.loop = &l;
	box_loop_open_signals(&l, &set, on_signal, &p);

	if (in_file)
		p.in_fd = box_xopen(in_file, O_RDONLY, 0);
	if (out_file)
		p.out_fd = box_xopen_output(out_file, 0);
	if (err_file)
		p.err_fd = box_xopen_output(err_file, 0);
	if (p.tag && p.err_fd >= 0) {
		p.tag_out = p.err_fd;
		p.err_fd = -1;
	}

	start_pipeline(&p);
	run(&p, &l);
	box_loop_free(&l);
	if (p.show_status)
		print_statuses(&p);
	int code = exit_status(&p);
	free_stages(&p);
	return code;
}

const struct applet applet_pipe = {
	"pipe", pipe_main, usage, help, PIPE_FAIL, PIPE_FAIL,
};
