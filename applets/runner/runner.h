/* runner: what the files of applets/runner/ share. runner.c is the
 * applet (options, setup, the loop, the exit status); jobs.c starts,
 * times out and reaps jobs; sink.c captures a job's output; remote.c is
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
enum { OK, FAILED, TIMED_OUT, UNREACHABLE, OUTCOMES };

struct sink {                /* one captured output stream of a job */
	int fd;              /* the pipe's read end, -1 once closed */
	int spill;           /* temp file holding the output, or -1 */
	int spill_full;      /* no (more) temp file: what follows is in mem */
	struct box_buf mem;
	size_t bytes;
};

struct job {
	struct runner *r;    /* the run it belongs to, for the loop's handlers */
	int seq;             /* 1-based, in input order */
	const char *cmd;
	const char *host;    /* NULL: run here */
	int state, tries, outcome;
	pid_t pid;           /* also the job's process group */
	int status;          /* wait status, or exit code << 8 for exec failures */
	int timed_out, killed, sentinel_pending;
	int64_t start_ns, end_ns, start_wall_ns, deadline_ns, kill_at_ns;
	struct sink out[2];  /* stdout, stderr */
};

struct runner {
	struct job *jobs;
	int njobs, maxjobs, nrunning, next_new, next_print;
	struct job **running;
	int *retry_q, retry_head, retry_len;
	int keep_order, verbose, tag, json, halt, retries;
	int64_t delay_ns, timeout_ns, next_start_ns, t0;
	char **ssh_argv;
	int ssh_argc;
	int ssh_stdin;         /* ssh's standard input: a pipe kept open */
	int connect_timeout;   /* seconds; 0: the default, -1: none */
	int retry_unreachable; /* --retries only for unreachable hosts */
	char sentinel[40];
	int devnull, joblog;
	struct box_loop loop;
	int halting, interrupted, own_error, stdout_broken;
	struct rlimit nofile;  /* restored in jobs when raised for runner */
	int nofile_raised;
};

extern const char *const outcome_text[OUTCOMES];

/* jobs.c */
int stopping(struct runner *r);
int more_to_start(struct runner *r);
void start_ready(struct runner *r);
void stop_all(struct runner *r, int sig);
void reap(struct runner *r);
void check_deadlines(struct runner *r);
int64_t next_deadline(struct runner *r);
void job_msg(struct runner *r, struct job *j, const char *what);

/* sink.c */
void sink_reset(struct sink *s);
void sink_free(struct sink *s);
void sink_add(struct runner *r, struct job *j, int which, const char *data, size_t n);
int sink_read(struct runner *r, struct job *j, int which);

/* remote.c */
void make_sentinel(struct runner *r);
void set_connect_timeout(struct runner *r, const char *arg);
void remote_setup(struct runner *r, char **hosts, size_t n);
void find_sentinel(struct runner *r, struct job *j);
char **remote_argv(struct runner *r, struct job *j, char **remote);

/* output.c */
void open_joblog(struct runner *r, const char *path);
void log_job(struct runner *r, struct job *j);
void print_job(struct runner *r, struct job *j);
void print_ready(struct runner *r, struct job *j);

/* summary.c */
int summarize(struct runner *r);

#endif
