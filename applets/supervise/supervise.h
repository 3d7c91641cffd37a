/* supervise: what the config reader, the daemon, the logs and the client
 * share. */
#ifndef SUPERVISE_H
#define SUPERVISE_H

#include "../../libbox/box.h"

#include <time.h>

/* ---- INI reader (config.c) ------------------------------------------- */

struct ini_kv {
	char *key, *value;
	int line;
};

struct ini_section {
	char *name;
	const char *file;        /* owned by struct ini's file list */
	int line;
	struct ini_kv *kv;
	int nkv;
};

struct ini {
	struct ini_section *sec;
	int nsec;
	char **files;
	int nfiles;
};

/* Parses supervisord's INI dialect from buf into ini (sections are
 * appended). 0, or -1 with "FILE:LINE: message" in *err. */
int ini_parse_buf(struct ini *ini, const char *buf, size_t len, const char *file,
	struct box_buf *err);
void ini_free(struct ini *ini);

/* ---- configuration (config.c) ---------------------------------------- */

enum { AR_FALSE, AR_TRUE, AR_UNEXPECTED };
enum { LOG_NONE, LOG_FILE, LOG_INHERIT };

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
	int umask;                     /* -1: inherit */
	char **env;                    /* "K=V" */
	int nenv;
	int redirect_stderr;
	int logkind[2];
	char *logfile[2];
	long long maxbytes[2];
	int backups[2];
	long long memory_max, cpu_max, nofile_max;   /* 0: unset */
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
	struct pconf **procs;
	int nprocs;
};

int config_load(const char *path, struct config *c, struct box_buf *err);
void config_free(struct config *c);
/* The first of supervisord's default locations that exists, or NULL. */
char *config_search(void);
/* A program with supervisord's defaults for every key. */
struct pconf *pconf_new(void);
void pconf_free(struct pconf *p);
int parse_bool(const char *s, int *out);

/* ---- logs (log.c) ---------------------------------------------------- */

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

/* ---- daemon (daemon.c) ------------------------------------------------ */

int supervise_daemon(struct config *c, int foreground, int single);
/* How supervise was invoked: reload starts over through it without /proc. */
extern const char *supervise_argv0;

/* ---- client (ctl.c) --------------------------------------------------- */

int ctl_main(int argc, char **argv);

#endif
