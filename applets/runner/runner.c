/* runner: run many commands, in order or N at a time, locally or on many
 * hosts over OpenSSH, with each job's output kept together, per-job
 * timeouts that kill the whole process group, retries, a GNU parallel
 * joblog, JSON records and a summary of what failed. Commands, or the
 * arguments of a command template, come from the operands, a ::: list or
 * files and pipes read as jobs need them.
 *
 * One event loop: a poll over every running job's stdout and stderr pipes
 * and a signal fd (SIGCHLD, SIGINT, SIGTERM, SIGHUP), woken at the nearest
 * deadline (a timeout, a kill grace, the next -d start). What each
 * mechanism does and where it lives is said in runner.h. */
#include "runner.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"runner [-j N] [-k] [-d DUR] [-v] [--tag] [--timeout DUR] [--retries N] [--halt] "
	"[--joblog FILE [--resume|--resume-failed]] [--json] [-H HOST,...] [-h FILE] [--ssh CMD] [--connect-timeout DUR] "
	"[--retry-unreachable] [-0] [-f FILE]... [CMD...] [::: ARG...]";

static const char help[] =
	"Run each CMD (a shell command string); output is kept together per job.\n"
	"A CMD without shell syntax is executed directly, anything else by /bin/sh -c.\n"
	"With an input (-f or :::), CMD... is a template, run once for each input\n"
	"line or ARG: {} is replaced by it, quoted for the shell or as one argument\n"
	"(appended when CMD has no {}); {.} without extension, {/} base name,\n"
	"{//} directory, {/.} base name without extension, {#} job number, {%} slot.\n"
	"Without CMD, each input line is a command.\n"
	"\n"
	"  -f, --file FILE    read the input from FILE ('-': stdin) as it arrives;\n"
	"                     commands are trimmed, blank and # lines skipped\n"
	"  -a, --arg-file FILE  the same as -f\n"
	"  -0, --null         input records end with a NUL byte, not a newline\n"
	"  -j, --jobs N       run N jobs at once (default 1; 0: one per core;\n"
	"                     N%: that share of the cores; +N, -N: cores plus, minus N)\n"
	"  -k, --keep-order   print output in input order, not completion order\n"
	"  -d, --delay DUR    wait DUR between job starts\n"
	"  -v, --verbose      say on stderr what starts when\n"
	"      --tag          prefix each output line with the host, argument or command\n"
	"      --timeout DUR  kill a job's process group after DUR (TERM, then KILL)\n"
	"      --retries N    run a failed job up to N more times\n"
	"      --halt         start nothing new after the first failed job\n"
	"      --joblog FILE  log every job in GNU parallel's joblog format\n"
	"      --resume       skip the jobs the joblog already has; add to it\n"
	"      --resume-failed  skip only the jobs it has as succeeded\n"
	"      --default-signals  run jobs with every signal at default, even those\n"
	"                     ignored when runner started (nohup)\n"
	"      --json         one JSON object per job on stdout, output included\n"
	"  -H, --hosts H,...  run every command on every host over ssh; a host is\n"
	"                     [USER@]HOST[:PORT] or [USER@][ADDRESS]:PORT\n"
	"  -h, --host-file FILE  read hosts from FILE, one per line\n"
	"      --ssh CMD      the ssh command (default: ssh); BatchMode is always on\n"
	"      --connect-timeout DUR  a host that does not answer within DUR is\n"
	"                     unreachable (default 10s; 0: as ssh decides)\n"
	"      --retry-unreachable  retry only unreachable hosts (--retries N, or once)\n"
	"\n"
	"Exit status: 0 all jobs succeeded; 1-100 the number of failed jobs;\n"
	"101 more than 100 failed; 255 usage or runner's own failure.\n";

#define MAX_JOBS_AT_ONCE 10000

/* ---- arguments ------------------------------------------------------- */

struct list {
	char **v;
	size_t n, cap;
};

/* One entry per line; blank lines and # comments skipped, blanks trimmed
 * at both ends. The text stays allocated for the run. */
static void read_lines(const char *path, struct list *l)
{
	struct box_buf b = { 0 };
	int r = strcmp(path, "-") ? box_read_file(path, &b) : box_read_fd_all(0, &b);
	if (r < 0)
		box_fatal_errno("unable to read %s", strcmp(path, "-") ? path : "standard input");
	for (char *line = b.p, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		char *end = line + strlen(line);
		while (end > line && strchr(" \t\r", end[-1]))
			*--end = 0;
		if (*line && *line != '#')
			*BOX_PUSH(l->v, l->n, l->cap) = line;
	}
}

static void add_hosts(char *spec, struct list *hosts)
{
	size_t before = hosts->n;
	for (char *h = strtok(spec, ", \t"); h; h = strtok(NULL, ", \t"))
		*BOX_PUSH(hosts->v, hosts->n, hosts->cap) = h;
	if (hosts->n == before)
		box_usage("no host in -H '%s'", spec);
}

/* The words of --ssh CMD, or plain ssh. */
static void set_ssh(struct runner *r, const char *ssh)
{
	const char *err;

	r->ssh_argc = box_split(ssh ? ssh : "ssh", &r->ssh_argv, &err);
	if (r->ssh_argc < 0)
		box_usage("invalid --ssh '%s': %s", ssh, err);
	if (!r->ssh_argc)
		box_usage("empty --ssh command");
}

/* -j: N, or as GNU parallel has it N% of the cores (rounded up), +N and
 * -N cores; 0 is one per core (parallel's 0 is "as many as possible"). */
static int job_count(const char *s)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t len = strlen(s);
	long long n;

	if (cores < 1)
		cores = 1;
	if (len && s[len - 1] == '%') {
		long long pct = 0, div = 1;
		const char *p = s;
		for (; *p >= '0' && *p <= '9' && pct < 1000000; p++)
			pct = pct * 10 + (*p - '0');
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9' && div < 1000000; p++, div *= 10)
				pct = pct * 10 + (*p - '0');
		if (p == s || p != s + len - 1 || p[-1] == '.')
			box_usage("invalid job count '%s': expected N, N%%, +N or -N", s);
		n = (cores * pct + 100 * div - 1) / (100 * div);
	} else if (*s == '+' || *s == '-') {
		n = cores + box_xparse_ll("job count", s, -MAX_JOBS_AT_ONCE, MAX_JOBS_AT_ONCE);
	} else {
		n = box_xparse_ll("job count", s, 0, MAX_JOBS_AT_ONCE);
		if (!n)
			n = cores;
	}
	return n < 1 ? 1 : n > MAX_JOBS_AT_ONCE ? MAX_JOBS_AT_ONCE : (int)n;
}

/* Operands, before a ::: list, are commands; with an input (a ::: list or
 * -f files) they are a template instead, and the input its arguments.
 * Standard input is read when -f - says so, or with -0 and no other
 * input: never just because it is not a terminal, as parallel does,
 * since operands alone are commands. */
static void set_input(struct runner *r, int argc, char **argv, struct list *files)
{
	struct input *in = &r->in;
	int ncmd = 0;

	while (ncmd < argc && strcmp(argv[ncmd], ":::"))
		ncmd++;
	int list = ncmd < argc;
	in->items = list ? argv + ncmd + 1 : argv;
	in->nitems = (size_t)(list ? argc - ncmd - 1 : argc);
	for (size_t i = 0; list && i < in->nitems; i++)
		if (!strcmp(in->items[i], ":::"))
			box_usage("more than one ::: list (runner takes one input)");
	if (list && files->n)
		box_usage("both -f and a ::: list (runner takes one input)");
	if (!list && !files->n && !in->sep)
		*BOX_PUSH(files->v, files->n, files->cap) = "-";
	if (!argc && !files->n)
		box_usage("no command given");
	if (ncmd && (list || files->n)) {
		r->tpl = template_make(argv, (size_t)ncmd, &r->tpl_direct);
		if (!list)
			in->nitems = 0;
	} else {
		for (size_t i = 0; i < in->nitems; i++)
			if (!in->items[i][strspn(in->items[i], " \t\n")])
				box_usage("empty command");
		in->commands = 1;
	}
	input_open(in, files->v, files->n);
}

/* One slot per job at once (for {%}), the lowest handed out first. */
static void make_slots(struct runner *r)
{
	long long known = input_total(&r->in) * (long long)(r->nhosts ? r->nhosts : 1);

	if (known >= 0 && known < r->maxjobs)
		r->maxjobs = known ? (int)known : 1;
	r->running = box_xcalloc((size_t)r->maxjobs, sizeof(*r->running));
	r->free_slots = box_xcalloc((size_t)r->maxjobs, sizeof(int));
	for (int i = 0; i < r->maxjobs; i++)
		r->free_slots[r->nfree++] = r->maxjobs - i;
}

/* Every running job holds two pipe ends; more than the soft limit allows
 * is asked of the hard limit, and jobs get the old limit back. */
static void ensure_fds(struct runner *r)
{
	unsigned long need = 2 * (unsigned long)r->maxjobs + 32;

	if (getrlimit(RLIMIT_NOFILE, &r->nofile) < 0 || r->nofile.rlim_cur >= need)
		return;
	unsigned long got = box_raise_nofile(need);
	if (got < need)
		box_fatal("unable to run %d jobs at once: the open file limit is %lu",
			r->maxjobs, got);
	r->nofile_raised = 1;
}

/* ---- the loop --------------------------------------------------------- */

static void on_signal(void *ctx, int sig)
{
	struct runner *r = ctx;

	if (sig == SIGCHLD) {
		reap(r);
		return;
	}
	/* a second interrupt does not wait for the grace period */
	stop_all(r, r->interrupted ? SIGKILL : sig);
	r->interrupted = sig;
}

static void on_input(void *ctx, int fd, short revents)
{
	struct runner *r = ctx;

	(void)fd;
	(void)revents;
	input_fill(&r->in);
	if (r->in.failed)
		r->own_error = 1;
}

static void on_output(void *ctx, int fd, short revents)
{
	struct job *j = ctx;

	(void)revents;
	for (int k = 0; k < 2; k++) {
		if (j->out[k].fd != fd)
			continue;
		/* both pipes at EOF: the job is exiting and may be reaped now,
		 * without waiting for its SIGCHLD (j may be gone after it) */
		if (!sink_read(j->r, j, k) && j->out[!k].fd < 0 && j->state == RUNNING)
			reap_job(j->r, j);
		return;
	}
}

/* Start what may start, wait for output, input when a slot waits for it,
 * a signal or the nearest deadline, and act on it, until no job runs and
 * none is left to start. The signal fd comes last: a job's output is read
 * before it is reaped. */
static void run_jobs(struct runner *r)
{
	struct box_loop *l = &r->loop;

	for (;;) {
		if (r->own_error && !r->interrupted) {
			r->interrupted = SIGTERM;
			stop_all(r, SIGTERM);
		}
		start_ready(r);
		if (!r->nrunning && !more_to_start(r))
			break;
		box_loop_begin(l);
		for (int i = 0; i < r->nrunning; i++)
			for (int k = 0; k < 2; k++)
				box_loop_fd(l, r->running[i]->out[k].fd, POLLIN, on_output,
					r->running[i]);
		if (r->want_input)
			box_loop_fd(l, input_fd(&r->in), POLLIN, on_input, r);
		box_loop_signals(l);
		box_loop_deadline(l, next_deadline(r));
		box_loop_wait(l);
		check_deadlines(r);
	}
	box_loop_free(l);
}

/* ---- the applet -------------------------------------------------------- */

enum { OPT_TAG = 256, OPT_TIMEOUT, OPT_RETRIES, OPT_HALT, OPT_JOBLOG, OPT_JSON, OPT_SSH,
	OPT_DEFAULT_SIGNALS, OPT_CONNECT_TIMEOUT, OPT_RETRY_UNREACHABLE, OPT_RESUME,
	OPT_RESUME_FAILED };

static const struct box_opt opts[] = {
	{ "jobs", 'j', 'j', 1 },
	{ "keep-order", 'k', 'k', 0 },
	{ "delay", 'd', 'd', 1 },
	{ "verbose", 'v', 'v', 0 },
	{ "file", 'f', 'f', 1 },
	{ "arg-file", 'a', 'a', 1 },
	{ "null", '0', '0', 0 },
	{ "hosts", 'H', 'H', 1 },
	{ "host-file", 'h', 'h', 1 },
	{ "tag", OPT_TAG, 0, 0 },
	{ "timeout", OPT_TIMEOUT, 0, 1 },
	{ "retries", OPT_RETRIES, 0, 1 },
	{ "halt", OPT_HALT, 0, 0 },
	{ "default-signals", OPT_DEFAULT_SIGNALS, 0, 0 },
	{ "joblog", OPT_JOBLOG, 0, 1 },
	{ "json", OPT_JSON, 0, 0 },
	{ "resume", OPT_RESUME, 0, 0 },
	{ "resume-failed", OPT_RESUME_FAILED, 0, 0 },
	{ "ssh", OPT_SSH, 0, 1 },
	{ "connect-timeout", OPT_CONNECT_TIMEOUT, 0, 1 },
	{ "retry-unreachable", OPT_RETRY_UNREACHABLE, 0, 0 },
	{ 0 },
};

static int runner_main(int argc, char **argv)
{
	struct runner run = { .maxjobs = 1, .joblog = -1, .in.sep = '\n' };
	struct runner *r = &run;
	struct list hosts = { 0 }, files = { 0 };
	const char *joblog = NULL, *ssh = NULL;
	struct box_getopt g;
	int c, resume = 0;

	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, opts)) != -1) {
		switch (c) {
		case 'j': r->maxjobs = job_count(g.arg); break;
		case 'k': r->keep_order = 1; break;
		case 'd': r->delay_ns = box_xparse_duration("delay", g.arg); break;
		case 'v': r->verbose = 1; break;
		case 'f': case 'a': *BOX_PUSH(files.v, files.n, files.cap) = g.arg; break;
		case '0': r->in.sep = 0; break;
		case 'H': add_hosts(g.arg, &hosts); break;
		case 'h': read_lines(g.arg, &hosts); break;
		case OPT_TAG: r->tag = 1; break;
		case OPT_TIMEOUT: r->timeout_ns = box_xparse_duration("timeout", g.arg); break;
		case OPT_RETRIES: r->retries = (int)box_xparse_ll("retry count", g.arg, 0, 1000); break;
		case OPT_HALT: r->halt = 1; break;
		case OPT_DEFAULT_SIGNALS: box_sig_forget_ignored(); break;
		case OPT_JOBLOG: joblog = g.arg; break;
		case OPT_JSON: r->json = 1; break;
		case OPT_RESUME: resume = resume ? resume : 1; break;
		case OPT_RESUME_FAILED: resume = 2; break;
		case OPT_SSH: ssh = g.arg; break;
		case OPT_CONNECT_TIMEOUT: set_connect_timeout(r, g.arg); break;
		case OPT_RETRY_UNREACHABLE: r->retry_unreachable = 1; break;
		}
	}
	set_input(r, argc - g.ind, argv + g.ind, &files);
	if (ssh && !hosts.n)
		box_usage("--ssh needs hosts (-H or -h)");
	if (hosts.n) {
		set_ssh(r, ssh);
		remote_setup(r, hosts.v, hosts.n);
	}
	r->hosts = hosts.v;
	r->nhosts = hosts.n;
	if (resume && !joblog)
		box_usage("--resume and --resume-failed need --joblog");
	if (resume)
		read_joblog(r, joblog, resume == 2);
	if (joblog)
		open_joblog(r, joblog, resume);

	make_slots(r);
	make_sentinel(r);
	ensure_fds(r);
	r->devnull = box_xopen("/dev/null", O_RDONLY, 0);

	sigset_t set;
	/* a signal ignored when runner started (nohup, a shell's background
	 * job) is left ignored: runner does not act on it, and the jobs
	 * inherit it ignored (docs/exit-codes.md) */
	box_sigset(&set, SIGCHLD, SIGINT, SIGTERM, SIGHUP, 0);
	box_loop_open_signals(&r->loop, &set, on_signal, r);
	/* a closed stdout is reported, not a silent death that orphans jobs */
	box_signal(SIGPIPE, SIG_IGN);
	r->t0 = box_now_ns();
	run_jobs(r);
	return summarize(r);
}

const struct applet applet_runner = {
	"runner", runner_main, usage, help, 255, 255,
};
