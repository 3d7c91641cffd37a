/* runner: what the files of applets/runner/ share. runner.c is the
 * applet (options, setup, the loop, the exit status); input.c reads the
 * records jobs are made of, as they arrive, and expands a template with
 * them; jobs.c makes jobs of them (each record on each host), starts,
 * times out, reaps and frees them; sink.c captures a job's output; remote.c is
 * the ssh side (the marker that tells "unreachable" from "exited 255");
 * output.c prints a finished job (plain, tagged, JSON, joblog);
 * summary.c the end of the run. */
#ifndef RUNNER_H
#define RUNNER_H

#include "../../libbox/box.h"

#include <sys/resource.h>

/* How long a job may take to die after SIGTERM before it gets SIGKILL. */
#define KILL_GRACE_NS BOX_NSEC

enum { WAITING, RUNNING, FINISHED };
enum { IN_RECORD, IN_WAIT, IN_END };   /* what input_next found */
enum { OK, FAILED, TIMED_OUT, UNREACHABLE, OUTCOMES };

struct spill_seg {           /* a piece of a stream in the run's spill file */
	off_t off;
	size_t len;
};

struct sink {                /* one captured output stream of a job */
	int fd;              /* the pipe's read end, -1 once closed */
	struct spill_seg *seg;  /* what went to the spill file, in order, */
	size_t nseg, cseg;   /* then mem */
	int spill_full;      /* no (more) spill file: what follows is in mem */
	struct box_buf mem;
	size_t bytes;
};

/* Where jobs come from: the operands or a ::: list (items), then -f
 * files read CHUNK bytes at a time when a job needs a record. */
struct input {
	char **items;
	size_t nitems, item;
	char **paths;        /* -f files, each opened when its turn comes */
	size_t nfiles, file;
	int fd, regular;     /* the file being read; regular: never waits */
	int at_eof, failed;
	int commands;        /* records are commands: file lines are trimmed,
	                        blank ones and # comments skipped */
	char sep;            /* '\n', or '\0' with -0 */
	struct box_buf buf;  /* read ahead: the records from pos on */
	size_t pos, scanned;
	long long records;   /* records taken so far, skipped ones too */
};

struct job {
	struct runner *r;    /* the run it belongs to, for the loop's handlers */
	long long seq;       /* 1-based, in input order: see jobs.c */
	char *cmd;           /* the command line as /bin/sh would run it */
	char **argv;         /* a template's words, run without a shell, or NULL */
	char *arg;           /* a template's value for {}, or NULL */
	const char *host;    /* NULL: run here */
	int slot;            /* {%}: 1 to -j, while running */
	int state, tries, outcome;
	pid_t pid;           /* also the job's process group */
	int status;          /* wait status, or exit code << 8 for exec failures */
	int timed_out, killed, sentinel_pending;
	int64_t start_ns, end_ns, start_wall_ns, deadline_ns, kill_at_ns;
	struct sink out[2];  /* stdout, stderr */
	struct job *next;    /* in the retry queue */
	struct job *later;   /* with -k: the next job in input order */
};

struct runner {
	struct input in;
	char *tpl;           /* the template, or NULL: records are commands */
	int tpl_direct;      /* it has no shell syntax: its words run directly */
	char **hosts;
	size_t nhosts;
	char *record;        /* the record whose jobs are being made */
	size_t record_host;  /* the host its next job runs on */
	long long record_no;
	int maxjobs, nrunning, want_input;
	struct job **running;
	int *free_slots, nfree;
	struct job *retry_head, *retry_tail;
	struct job *unprinted, *last_made;  /* -k: jobs not printed yet, in order */
	struct job **failed; /* for the summary: what did not end ok */
	size_t nfailed, failed_cap;
	long long count[OUTCOMES], not_started;
	int input_left;      /* runner stopped before the end of its input */
	int keep_order, verbose, tag, json, halt, retries;
	int64_t delay_ns, timeout_ns, next_start_ns, t0;
	char **ssh_argv;
	int ssh_argc;
	int ssh_stdin;         /* ssh's standard input: a pipe kept open */
	int connect_timeout;   /* seconds; 0: the default, -1: none */
	int retry_unreachable; /* --retries only for unreachable hosts */
	char sentinel[40];
	int devnull, joblog;
	char *which_name;      /* the program last found in PATH, */
	char which_path[4096]; /* and where: searched once, not per job */
	long long *done_seq;   /* --resume: jobs the joblog has as done, sorted */
	size_t ndone;
	long long skipped;
	struct box_loop loop;
	int halting, interrupted, own_error, stdout_broken;
	struct rlimit nofile;  /* restored in jobs when raised for runner */
	int nofile_raised;
};

extern const char *const outcome_text[OUTCOMES];

/* input.c */
void input_open(struct input *in, char **paths, size_t n);
int input_next(struct input *in, char **record);
int input_fd(const struct input *in);
void input_fill(struct input *in);
long long input_total(const struct input *in);
char *template_make(char **words, size_t n, int *direct);
char *template_expand(const char *tpl, int direct, const struct job *j, char ***argv);

/* jobs.c */
int stopping(struct runner *r);
int more_to_start(struct runner *r);
void start_ready(struct runner *r);
void stop_all(struct runner *r, int sig);
void reap(struct runner *r);
/* Reaps j if it has exited (both its pipes are at EOF). */
void reap_job(struct runner *r, struct job *j);
void check_deadlines(struct runner *r);
int64_t next_deadline(struct runner *r);
void job_msg(struct runner *r, struct job *j, const char *what);
void end_jobs(struct runner *r);

/* sink.c */
void sink_reset(struct sink *s);
void sink_free(struct sink *s);
void sink_add(struct runner *r, struct job *j, int which, const char *data, size_t n);
int sink_read(struct runner *r, struct job *j, int which);
typedef void sink_fn(void *ctx, const char *p, size_t n);
int sink_each(const struct sink *s, sink_fn *fn, void *ctx);

/* remote.c */
void make_sentinel(struct runner *r);
void set_connect_timeout(struct runner *r, const char *arg);
void remote_setup(struct runner *r, char **hosts, size_t n);
void find_sentinel(struct runner *r, struct job *j);
char **remote_argv(struct runner *r, struct job *j, char **remote);

/* output.c */
void open_joblog(struct runner *r, const char *path, int append);
void read_joblog(struct runner *r, const char *path, int failed_too);
int already_done(const struct runner *r, long long seq);
void log_job(struct runner *r, struct job *j);
void print_job(struct runner *r, struct job *j);

/* summary.c */
int summarize(struct runner *r);

#endif
