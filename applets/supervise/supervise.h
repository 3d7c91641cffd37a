/* supervise: what the configuration, the process state machine, the
 * control server, its verbs, the logs and the client share. */
#ifndef SUPERVISE_H
#define SUPERVISE_H

#include "../../libbox/box.h"

#include <time.h>

/* ---- configuration (config.c) ---------------------------------------- */

enum autorestart { AR_FALSE, AR_TRUE, AR_UNEXPECTED };
enum logkind { LOG_NONE, LOG_FILE, LOG_INHERIT };

struct stream_conf {            /* stdout_* or stderr_* */
	int kind;                   /* enum logkind */
	char *logfile;
	long long maxbytes;
	int backups;
};

struct env_list {               /* "K=V" */
	char **v;
	size_t n, cap;
};

struct pconf {
	char *name, *group, *command;
	char **argv;
	int priority, group_priority;
	int autostart, autorestart;
	unsigned char exitcodes[32];   /* bitmap of expected exit codes */
	int64_t startsecs, stopwaitsecs, backoff_max;   /* ns */
	int startretries;              /* -1: forever */
	int stopsignal, stopasgroup, killasgroup;
	char *user, *directory;
	/* user=, looked up when the config loads: a restart never depends
	 * on NSS (files, descriptors) being usable at that moment */
	struct box_user *uinfo;
	int umask;                     /* -1: inherit */
	struct env_list env;
	int redirect_stderr;
	struct stream_conf out[2];     /* stdout, stderr */
	long long memory_max, cpu_max, nofile_max, pids_max;   /* 0: unset */
	/* cpu_max above: > 0 seconds of CPU time (RLIMIT_CPU), < 0 -N for N%
	 * of a CPU (cgroup v2 cpu.max) */
	int ready_fd;                  /* -1: none */
	char *fingerprint;             /* every setting, to detect changes */
};

struct config {
	char *file;
	char *logfile, *pidfile, *childlogdir, *directory;
	long long log_maxbytes;
	int log_backups, nodaemon, umask, minfds;
	char *sock, *sock_owner, *serverurl;
	int sock_mode;
	struct box_user *user;         /* [supervisord] user=, or NULL */
	struct pconf **procs;
	size_t nprocs, procs_cap;
};

int config_load(const char *path, struct config *c, struct box_buf *err);
void config_free(struct config *c);
/* conf, or the first of supervisord's default locations that exists:
 * loaded, or the applet dies (usage with the text none when there is no
 * file, status 2 when it is invalid). */
void config_xload(const char *conf, struct config *c, const char *none);
/* Where ctl connects, from conf or the default search: [supervisorctl]
 * serverurl unix://PATH, else [unix_http_server] file. Only those sections
 * are read, leniently (see supervise.1); dies as config_xload when there
 * is no file, or no socket in it. */
char *config_xsocket(const char *conf, const char *none);
/* A program with supervisord's defaults for every key. */
struct pconf *pconf_new(void);
void pconf_free(struct pconf *p);
/* true, false or unexpected: 0 with *out an enum autorestart, or -1. */
int parse_autorestart(const char *s, int *out);

/* ---- logs (log.c) ---------------------------------------------------- */

/* AUTO logs go in this subdirectory of childlogdir, made 0700 by the
 * writer: childlogdir is often /tmp, where names can be guessed. */
#define LOG_AUTO_DIR "supervise-logs"

/* A log file written by the writer thread (log.c); the loop only queues. */
struct logfile;
struct logw {
	char *path;              /* NULL: no log file */
	struct logfile *f;
};

void logw_open(struct logw *w, const char *path, long long maxbytes, int backups);
/* Queues n bytes; beyond the queue's limit they are dropped and counted. */
void logw_write(struct logw *w, const char *p, size_t n);
/* Wakes the writer for what was queued: the loop calls it before it waits. */
void logw_kick(void);
void logw_reopen(struct logw *w);
/* Detaches the file; the writer finishes its queue, then closes it. */
void logw_close(struct logw *w);
/* Bytes lost so far: queue full, disk full, or the file unwritable. */
unsigned long long logw_dropped(const struct logw *w);
/* Waits up to wait_ns for every queue to be written: 0, or -1 if not. */
int logw_flush(int64_t wait_ns);
/* The writer's complaints: an fd for poll, and the reader that logs them. */
int logw_notes_fd(void);
void logw_notes_read(void);

/* The daemon's own log: supervisord's line format, also on stderr when in
 * the foreground. */
extern struct logw main_log;
extern int main_log_stderr;
/* Sees every line of the daemon's log (for `maintail -f`). */
extern void (*mlog_hook)(const char *p, size_t n);
void mlog(const char *level, const char *fmt, ...) BOX_PRINTF(2, 3);

/* ---- processes (proc.c) ------------------------------------------------ */

enum proc_state { ST_STOPPED, ST_STARTING, ST_RUNNING, ST_BACKOFF, ST_STOPPING,
	ST_EXITED, ST_FATAL, ST_NSTATES };
extern const char *const proc_state_name[ST_NSTATES];

/* What happens to a process; proc_event runs the state's action. */
enum proc_event {
	EV_START,       /* start requested (ctl start, update, autostart) */
	EV_STOP,        /* stop requested (ctl stop, update, shutdown) */
	EV_TIMER,       /* the state's deadline passed */
	EV_EXIT,        /* the process ended (its status is in p->status) */
	EV_READY,       /* it wrote a line to ready_fd */
	EV_NEVENTS
};

struct proc {
	struct pconf *c;
	int id;
	enum proc_state state;
	pid_t pid;
	int64_t deadline;           /* monotonic ns, -1: none */
	time_t start_wall, stop_wall;
	int64_t start_ns;           /* monotonic: the last start */
	int backoff, status;        /* status: last wait status, -1 none */
	int spawn_errno;            /* the last start failed to spawn: why */
	char spawnerr[200];         /* why it is BACKOFF or FATAL */
	int rd[2], wr[2];           /* output pipes (stdout, stderr), -1 */
	int ready_rd, ready_wr;
	struct logw log[2];
	int removing;               /* retired by update: freed once stopped */
	int start_pending;          /* started once its group's old one is gone */
	int cgroup;                 /* runs in its own cgroup (cgroup.c) */
	int oom;                    /* its last end was the OOM killer's */
};

/* -1: refused (start: already started; stop: not running), else 0. */
int proc_event(struct proc *p, enum proc_event ev);
struct proc *proc_new(struct pconf *c);
struct proc *proc_by_id(int id);
/* "name", or "group:name" when they differ. */
const char *namespec(const struct proc *p, char *buf, size_t n);
/* Not running and not about to be stopped. */
int proc_settled(const struct proc *p);
/* The turn's fds and deadline of every process; after the wait, the
 * deadlines that passed. */
void procs_watch(struct box_loop *l);
void procs_run_timers(void);
/* Waits for every child that ended (SIGCHLD). */
void procs_reap(void);
/* After a turn: frees retired processes that stopped, starts pending ones
 * whose group is gone. */
void procs_retire_and_replace(void);
void procs_reopen_logs(void);
/* At exit: the pipes' last output, then what the programs left behind. */
void procs_drain(void);
void procs_hunt_orphans(void);
/* Shutdown: stops the group of the highest priority that still runs,
 * once the one before it is gone (supervisord's order). */
void procs_stop_next_group(void);

struct pid_list {
	pid_t *v;
	size_t n, cap;
};
/* Appends the pids of a /proc/PID/task/TID/children text ("12 345 ") to
 * l: only numbers ended by a space or newline, never a cut one. */
void pids_parse(const char *s, struct pid_list *l);

/* ---- cgroup v2 limits (cgroup.c) ------------------------------------------ */

/* The cgroup.procs fd of p's new cgroup with its limits written, or -1:
 * no cgroup limit, or no cgroup v2 of the daemon's own (then setrlimit). */
int cgroup_enter(struct proc *p);
/* p was reaped: was it the OOM killer (p->oom), then its cgroup goes. */
void cgroup_leave(struct proc *p);

/* ---- the daemon (supervise.c) -------------------------------------------- */

struct daemon {
	struct config cfg;
	struct proc **procs;
	size_t nprocs, procs_cap;
	struct box_loop loop;
	int listen_fd, devnull;
	int single;                 /* supervise -- CMD: no configuration file */
	int shutting_down;
	int reloading;              /* shutting down to start again (reload) */
	uid_t sock_uid;             /* [unix_http_server] chown=, or -1 */
	gid_t sock_gid;
};
extern struct daemon sv;
void begin_shutdown(void);
/* Runs the daemon on a loaded configuration (supervise -n -c, supervisord):
 * detaches unless foreground; single is supervise -- CMD. */
int supervise_daemon(struct config *c, int foreground, int single);

/* ---- the control server (server.c) --------------------------------------
 * Request: one line, "VERB ARG...". Reply: "CODE LENGTH\n" and LENGTH
 * bytes of text to print; LENGTH -1 streams until the connection closes. */

/* A start/stop/restart/update a client waits for, one per process. */
enum wait_kind { WAIT_STOP, WAIT_START, WAIT_GONE };
enum wait_phase { WAIT_NOT_ISSUED, WAIT_PENDING, WAIT_DONE };
struct waitent {
	int id;
	enum wait_kind kind;
	enum wait_phase phase;
};

struct client {
	int fd;
	struct box_buf in, out, reply;
	size_t off;
	int code, closing, dead;
	int answered;               /* a request was read */
	int streaming;              /* `tail -f`: the reply never finishes */
	struct waitent *w;
	size_t nw, wcap;
	int follow_id, follow_stream;   /* follow_id -1: none, 0: main log */
	unsigned long long dropped;     /* skipped: the reader fell behind */
	int file_fd;                    /* a log being sent, piece by piece */
	off_t file_off, file_end;       /* file_end -1: to its end, then follow */
	int64_t idle_until;             /* closed if no request by then */
};

void server_open(const char *path, int mode, const char *owner);
/* The turn's fds: the listening socket and every client. */
void server_watch(struct box_loop *l);
/* After a turn: advances clients' pending waits, frees closed clients. */
void server_after_turn(void);
/* Sends the log file fd from byte from to byte end (-1: to its end, then
 * what is pushed for cl->follow_id), a piece at a time; fd may be -1. */
void client_send_file(struct client *cl, int fd, off_t from, off_t end);
/* Output of process id (0: the daemon's log) for the clients following it. */
void server_follow_push(int id, int stream, const char *p, size_t n);
/* At exit: what is queued goes out (best effort), then every client closes. */
void server_close(void);
/* A line of the reply. */
void reply(struct client *cl, const char *fmt, ...) BOX_PRINTF(2, 3);
void reply_finish(struct client *cl);

/* ---- the verbs (verbs.c) --------------------------------------------------- */

void verbs_handle(struct client *cl, char **av, int ac);
/* Advances a client's pending start/stop/restart/update; replies when all
 * is done. */
void verbs_progress(struct client *cl);
/* SIGHUP: update every group from the configuration file. */
void verbs_update_all(void);
/* reload: how to start over (exec of supervise -n -c CONF). */
void verbs_reexec(void);
/* How supervise was invoked: reload starts over through it without /proc. */
extern const char *supervise_argv0;

/* ---- client (ctl.c) --------------------------------------------------- */

int ctl_main(int argc, char **argv);

/* What `version` and supervisord -v print. */
#define SUPERVISE_VERSION "0.1.0"

#endif
