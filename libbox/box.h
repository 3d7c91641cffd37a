/* libbox: what two or more procbox applets share.
 *
 * One header, one .c file per topic. Names are box_*; box_x* variants
 * print a message and exit on failure instead of returning an error. */
#ifndef BOX_H
#define BOX_H

#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BOX_NORETURN __attribute__((noreturn))
#define BOX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define BOX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- applet table (applets/procbox.c) --------------------------------- */

struct applet {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *usage;   /* one line: "exitcode [-j] [-m MAP] -- CMD [ARG...]" */
	const char *help;    /* the rest of --help, options one per line */
	int usage_code;      /* exit status for a bad option or argument */
	int fail_code;       /* exit status for the applet's own failures */
};

/* The applet running now; error messages are prefixed with its name. */
extern const struct applet *box_applet;

/* ---- errors (err.c) ---------------------------------------------------- */

/* Every message is "APPLET: text\n", written with one write(2) so lines
 * from several processes never interleave. The _errno variants append
 * ": strerror(errno)". */
void box_warn(const char *fmt, ...) BOX_PRINTF(1, 2);
void box_warn_errno(const char *fmt, ...) BOX_PRINTF(1, 2);
void box_vwarn(int err, const char *fmt, va_list ap);
BOX_NORETURN void box_die(int code, const char *fmt, ...) BOX_PRINTF(2, 3);
BOX_NORETURN void box_die_errno(int code, const char *fmt, ...) BOX_PRINTF(2, 3);
/* Exit with the applet's fail_code. */
BOX_NORETURN void box_fatal(const char *fmt, ...) BOX_PRINTF(1, 2);
BOX_NORETURN void box_fatal_errno(const char *fmt, ...) BOX_PRINTF(1, 2);
/* "APPLET: text" then "usage: USAGE" on stderr, exit with usage_code. */
BOX_NORETURN void box_usage(const char *fmt, ...) BOX_PRINTF(1, 2);

/* ---- options (opt.c) ---------------------------------------------------- */

/* A small getopt_long replacement with the behaviour every applet wants:
 * short options cluster (-jk), "-jN" and "-j N" both work, long options
 * take "--name=V" or "--name V", "--" ends options, the first non-option
 * ends options (commands come after), unknown options and missing
 * arguments call box_usage(). */
struct box_opt {
	int key;           /* returned by box_getopt; a char for short options */
	char shortname;    /* 0 for long-only */
	const char *longname;  /* NULL for short-only */
	int arg;           /* 0 none, 1 required, 2 optional (long "=V" only) */
};

struct box_getopt {
	int argc;
	char **argv;
	int ind;           /* next argv index; after the loop, first operand */
	char *arg;         /* argument of the option just returned, or NULL */
	const char *cluster;  /* inside "-abc": the rest */
	int dashdash;      /* options ended with "--" */
};

void box_getopt_init(struct box_getopt *g, int argc, char **argv);
/* Returns the key of the next option, or -1 at the end of options. */
int box_getopt(struct box_getopt *g, const struct box_opt *opts);

/* ---- allocation (alloc.c) ---------------------------------------------- */

void *box_xmalloc(size_t n);
void *box_xcalloc(size_t n, size_t size);
void *box_xrealloc(void *p, size_t n);
char *box_xstrdup(const char *s);
char *box_xasprintf(const char *fmt, ...) BOX_PRINTF(1, 2);

/* A growable byte buffer, always NUL-terminated. */
struct box_buf {
	char *p;
	size_t len, cap;
};
void box_buf_add(struct box_buf *b, const void *data, size_t n);
void box_buf_adds(struct box_buf *b, const char *s);
void box_buf_addc(struct box_buf *b, char c);
void box_buf_printf(struct box_buf *b, const char *fmt, ...) BOX_PRINTF(2, 3);
void box_buf_free(struct box_buf *b);

/* Growable arrays: box_grow makes room for need elements of size bytes
 * (doubling), BOX_PUSH appends one and yields a pointer to it:
 *	*BOX_PUSH(v, n, cap) = x;	(v a pointer, n and cap size_t) */
void *box_grow(void *p, size_t *cap, size_t need, size_t size);
#define BOX_PUSH(v, n, cap) \
	((v) = box_grow((v), &(cap), (n) + 1, sizeof(*(v))), &(v)[(n)++])

/* ---- EINTR-safe I/O (io.c) ---------------------------------------------- */

ssize_t box_read(int fd, void *buf, size_t n);          /* one read, EINTR retried */
ssize_t box_read_full(int fd, void *buf, size_t n);     /* until n or EOF */
ssize_t box_write_all(int fd, const void *buf, size_t n); /* all or -1 */
int box_write_str(int fd, const char *s);
/* Reads a whole fd / file into *out (NUL-terminated); 0 or -1 with errno. */
int box_read_fd_all(int fd, struct box_buf *out);
int box_read_file(const char *path, struct box_buf *out);
void box_set_cloexec(int fd, int on);
void box_set_nonblock(int fd, int on);
/* open() with O_CLOEXEC, EINTR retried. */
int box_open(const char *path, int flags, mode_t mode);
void box_close(int fd);   /* close, keeping errno */

/* ---- die-on-failure wrappers and system helpers (xwrap.c) --------------- */

/* "unable to open PATH: reason", "unable to create a pipe: ...", "unable
 * to fork: ..." and the applet's fail_code. */
int box_xopen(const char *path, int flags, mode_t mode);   /* O_CLOEXEC */
void box_xpipe(int fd[2]);                                 /* O_CLOEXEC */
pid_t box_xfork(void);
/* Raises the soft RLIMIT_NOFILE to want (0: the hard limit), as far as
 * the hard limit allows; returns the soft limit in force. */
unsigned long box_raise_nofile(unsigned long want);
/* An octal mode or umask, 0-07777: BOX_PARSE_* */
int box_parse_mode(const char *s, mode_t *out);

/* ---- path names (path.c) ---------------------------------------------------- */

const char *box_basename(const char *path);        /* "a/b" -> "b" */
char *box_xdirname(const char *path);              /* "a/b" -> "a", "b" -> "." */
char *box_xpath_join(const char *dir, const char *name);

/* ---- numbers, durations, signals (parse.c, signal.c) -------------------- */

enum { BOX_PARSE_OK = 0, BOX_PARSE_INVALID = -1, BOX_PARSE_RANGE = -2 };

/* Strict: the whole string, decimal, optional sign, no blanks. */
int box_parse_ll(const char *s, long long min, long long max, long long *out);
/* Calls box_usage("invalid WHAT 'S': ...") on failure. */
long long box_xparse_ll(const char *what, const char *s, long long min, long long max);

/* Durations in nanoseconds: "1.5" (seconds), "200ms", "2s", "5m", "1h",
 * "1d", also "us" and "ns". Negative values and empty strings are
 * invalid; the result is at most BOX_DURATION_MAX. */
#define BOX_NSEC 1000000000LL
#define BOX_DURATION_MAX (100LL * 365 * 86400 * BOX_NSEC)
int box_parse_duration(const char *s, int64_t *ns);
int64_t box_xparse_duration(const char *what, const char *s);

/* Signal names come from <signal.h> of this platform. box_signum accepts
 * "TERM", "SIGTERM", "term", "15", "RTMIN+2"; -1 when unknown.
 * box_signame returns "TERM" ("RTMIN+2", or NULL when unknown). */
int box_signum(const char *s);
const char *box_signame(int sig);
int box_xsignum(const char *what, const char *s);
/* Iterates names: returns the signal of index i (0-based) or 0 at the end. */
int box_signal_at(int i, const char **name);

/* ---- the command-string word splitter (split.c) ------------------------- */

/* Splits a command string into words like a shell without expansion:
 * blanks separate words, '...' is literal, "..." allows \" \\ \$ \` and
 * \newline, a backslash outside quotes quotes the next character.
 * Returns the number of words and a NULL-terminated, malloc'd vector in
 * *argv (one allocation: free(*argv) frees it all), or -1 with a static
 * message in *err ("unterminated single quote at offset 4"). */
int box_split(const char *s, char ***argv, const char **err);
/* True when s has nothing a shell would treat specially (so it can be
 * split and executed directly): no $ ` ; & | < > ( ) * ? [ ~ # = { } !
 * outside quotes, and no quotes, backslashes or newlines either. */
int box_is_simple_command(const char *s);

/* ---- time and the event loop (time.c) ----------------------------------- */

int64_t box_now_ns(void);            /* CLOCK_MONOTONIC */
int64_t box_wall_ns(void);           /* CLOCK_REALTIME */
/* poll() until an fd is ready or the monotonic deadline (ns, -1 = none)
 * passes; EINTR retried with the remaining time. Returns poll's value. */
int box_poll_until(struct pollfd *fds, nfds_t n, int64_t deadline_ns);

/* Signals as an fd: signalfd where the kernel has it, a self-pipe
 * otherwise. The signals in set are blocked (or, for the self-pipe,
 * caught); box_sigfd_read returns the next pending signal number, 0 when
 * none is pending, -1 on error. */
int box_sigfd_open(const sigset_t *set);
int box_sigfd_read(int fd);
/* Restores the signals of the set to default and unblocks them. */
void box_sigfd_close(int fd, const sigset_t *set);

/* A set of the signals listed, ended by 0: box_sigset(&s, SIGINT, SIGTERM, 0) */
void box_sigset(sigset_t *set, ...);
/* The earlier of two monotonic deadlines, where -1 means none. */
int64_t box_earliest(int64_t a, int64_t b);

/* ---- the event loop (loop.c) -------------------------------------------- */

/* Every waiting applet runs the same turn, as s6-supervise does:
 *
 *	box_loop_begin(&l);                      forget last turn's fds
 *	box_loop_signals(&l);                    the signal fd, if opened
 *	box_loop_fd(&l, fd, POLLIN, handler, x); what the state waits for
 *	box_loop_deadline(&l, t);                the nearest one is kept
 *	box_loop_wait(&l);                       one poll, then the handlers
 *
 * Handlers run in the order their fds were added and must not add fds.
 * A handler that ends what another slot of the same turn points to marks
 * it, and the applet frees it after the turn. */
typedef void box_loop_fn(void *ctx, int fd, short revents);
struct box_loop_slot {
	box_loop_fn *fn;
	void *ctx;
};
struct box_loop {
	struct pollfd *pfd;
	struct box_loop_slot *slot;
	size_t n, cap;
	int64_t deadline;        /* CLOCK_MONOTONIC ns, -1 = none */
	int sigfd;               /* from box_loop_open_signals */
	void (*on_signal)(void *ctx, int sig);
	void *sigctx;
};
/* Blocks the signals of set and delivers them through an fd; each
 * pending signal is passed to fn when box_loop_signals added the fd to
 * the turn. Dies when no signal fd can be made. */
void box_loop_open_signals(struct box_loop *l, const sigset_t *set,
	void (*fn)(void *ctx, int sig), void *ctx);
void box_loop_begin(struct box_loop *l);
void box_loop_signals(struct box_loop *l);
void box_loop_fd(struct box_loop *l, int fd, short events, box_loop_fn *fn, void *ctx);
void box_loop_deadline(struct box_loop *l, int64_t t);   /* -1 is ignored */
/* Polls until an fd is ready or the deadline passes, runs the handlers of
 * the ready fds; returns how many were ready (0: the deadline). Dies when
 * poll fails. */
int box_loop_wait(struct box_loop *l);
void box_loop_free(struct box_loop *l);

/* ---- spawning (spawn.c) -------------------------------------------------- */

struct box_spawn {
	char *const *argv;       /* argv[0] is looked up in PATH */
	char *const *envp;       /* NULL: inherit environ */
	int fd_in, fd_out, fd_err;  /* -1: inherit */
	const int *keep_fds;     /* extra fds to pass (besides 0-2), -1 ends */
	int pgroup;              /* -1 inherit, 0 new group, >0 join group */
	int setsid;              /* start a new session */
	/* Runs in the child after the fds are set up and before exec, in the
	 * parent's memory (see below); returns 0, or sets errno and returns a
	 * short description of the step ("chdir to /x"); the failure is
	 * reported like an exec failure. */
	const char *(*setup)(void *ctx);
	void *ctx;
};

struct box_spawn_error {
	int err;                 /* errno of the failed exec or setup step */
	char what[120];          /* "execute" or the setup step's description */
};

/* Starts a child with default signal dispositions, an empty signal mask
 * and every fd but 0-2 (and keep_fds) closed on exec. The child shares the
 * parent's memory until it execs (clone with CLONE_VM|CLONE_VFORK: no page
 * tables copied), so the parent knows exactly whether the program started,
 * and the setup hook may only make system calls: no allocation, no stdio,
 * no environ changes (build envp instead), no libc id or rlimit wrappers
 * (box_become_user, prlimit). Returns the pid; on an exec or setup failure
 * returns -1 with *e filled (the child already reaped) and errno set; on a
 * clone failure returns -1 with e->err == 0. */
pid_t box_spawn(const struct box_spawn *sp, struct box_spawn_error *e);
/* 127 for ENOENT (not found), 126 for anything else (cannot execute). */
int box_exec_fail_code(int err);
/* Marks every fd >= from close-on-exec (close_range or a loop). */
void box_cloexec_from(int from);
/* Closes every fd >= from. */
void box_close_from(int from);
/* Child side: default dispositions for every catchable signal, empty mask. */
void box_reset_signals(void);

/* ---- formatting (fmt.c) -------------------------------------------------- */

/* "exited with status 3", "killed by SIGSEGV (Segmentation fault), core
 * dumped": the one wording of a wait status. */
const char *box_fmt_status(char *buf, size_t n, int status);
/* "unable to execute CMD: reason", or for a setup step "unable to chdir
 * to /x for CMD: reason". */
const char *box_fmt_spawn_error(char *buf, size_t n, const char *cmd,
	const struct box_spawn_error *e);
/* "5s", "300ms", "250us", "7ns": exact, in the largest unit that is. */
const char *box_fmt_duration(char *buf, size_t n, int64_t ns);

/* Wait status -> shell-style code: the exit status, or 128 + signal. */
int box_status_code(int status);
/* waitpid with EINTR retried. */
pid_t box_waitpid(pid_t pid, int *status, int flags);

/* ---- users (user.c) ------------------------------------------------------ */

struct box_user {
	uid_t uid;
	gid_t gid;               /* the user's primary group, or GROUP */
	char *name, *home;
	gid_t *groups;           /* supplementary groups, as initgroups sets */
	int ngroups;
};
/* USER[:GROUP], names or numeric ids, with the user's group list.
 * -1 with *err "unknown user/group". */
int box_lookup_user(const char *spec, struct box_user *u, const char **err);
void box_user_free(struct box_user *u);
/* setgroups, setgid, setuid (checked irreversible), as bare system calls:
 * safe in box_spawn's setup hook. NULL on success, else the failed step
 * (errno set). */
const char *box_become_user(const struct box_user *u);
/* box_become_user, then HOME, USER and LOGNAME set in environ. */
const char *box_drop_privileges(const struct box_user *u);

/* An environment for box_spawn's envp: environ's entries with some
 * replaced or added, built in the parent. */
struct box_env {
	char **v;                /* NULL-terminated */
	size_t n, cap;
	char **owned;            /* strings made by box_env_set */
	size_t nowned;
};
void box_env_init(struct box_env *env);
/* "NAME=VALUE", replacing NAME if present; kv is not copied. */
void box_env_put(struct box_env *env, char *kv);
void box_env_set(struct box_env *env, const char *name, const char *value);
void box_env_free(struct box_env *env);

/* ---- JSON output (json.c) ------------------------------------------------ */

/* Appends s as a JSON string literal (quotes included); bytes that are not
 * valid UTF-8 become U+FFFD. */
void box_json_str(struct box_buf *b, const char *s);
void box_json_strn(struct box_buf *b, const char *s, size_t n);

/* The writer: commas and nesting kept for you; key is NULL inside arrays.
 *	box_json_begin(&j, &buf);            {
 *	box_json_s(&j, "name", s);            "name":"..."   (NULL: null)
 *	box_json_open(&j, "argv", '[');       ,"argv":[
 *	box_json_s(&j, NULL, a); ...
 *	box_json_close(&j);                   ]
 *	box_json_end(&j);                     }  (closes whatever is open) */
struct box_json {
	struct box_buf *b;
	unsigned more;           /* bit d: level d has a member already */
	int depth;
	char close[16];
};
void box_json_begin(struct box_json *j, struct box_buf *b);
void box_json_end(struct box_json *j);
void box_json_open(struct box_json *j, const char *key, char brace);
void box_json_close(struct box_json *j);
void box_json_s(struct box_json *j, const char *key, const char *s);
void box_json_i(struct box_json *j, const char *key, long long v);
void box_json_b(struct box_json *j, const char *key, int v);
void box_json_null(struct box_json *j, const char *key);
void box_json_raw(struct box_json *j, const char *key, const char *raw);
void box_json_f(struct box_json *j, const char *key, const char *fmt, double v);
/* A wait status, the one encoding: "exit":N or null, "signal":"SIGTERM"
 * or null, "signum":N or null, "core_dumped":bool. */
void box_json_status(struct box_json *j, int status);

/* ---- pidfiles and lock files (pidfile.c) ---------------------------------- */

/* flock(2) locks: held by the open file description, so they survive fork
 * and exec and last until every process holding the fd has exited. */

/* 1 when fd and path name the same file (same device and inode). */
int box_same_file(int fd, const char *path);
/* Opens path (created 0644 when create is set) and takes an exclusive
 * lock without waiting; retries when the name was replaced meanwhile.
 * 0 with *fd set, or -1 with errno (EWOULDBLOCK: someone holds it). */
int box_lock_path(const char *path, int create, int *fd);
/* The pid on the first line of the file, or 0 when there is none. */
pid_t box_pid_read(int fd);

/* A pidfile that is never seen empty or partial: prepare (before fork)
 * creates PATH.XXXXXX locked and takes the lock of the current PATH;
 * commit (in the process that will hold it) writes the pid and renames or
 * links it into place; fd is then the locked pidfile. abort removes what
 * is ours. prepare returns -1 with errno EWOULDBLOCK when PATH is locked. */
struct box_pidfile {
	char *path, *tmp;
	int fd;         /* the new pidfile, locked */
	int oldfd;      /* the previous pidfile, locked, or -1 */
};
int box_pidfile_prepare(struct box_pidfile *pf, const char *path);
int box_pidfile_commit(struct box_pidfile *pf, pid_t pid);
void box_pidfile_abort(struct box_pidfile *pf);

/* The state of a pidfile, decided by its lock; *pid from its content. */
enum { BOX_PIDFILE_RUNNING, BOX_PIDFILE_STALE, BOX_PIDFILE_ABSENT };
int box_pidfile_check(const char *path, pid_t *pid);
/* Waits for an exclusive lock on fd until the monotonic deadline (ns, -1 =
 * forever): 0, or -1 with errno (ETIMEDOUT). Uses SIGALRM meanwhile. */
int box_lock_wait(int fd, int64_t deadline_ns);

/* ---- watching paths: inotify, else polling (watch.c) --------------------- */

/* Watches a set of directories or files and says which of them changed,
 * as events through fn. Each watched path carries the caller's name for it
 * (dirsync: a directory's path below SRC, "" for the top):
 *	BOX_WATCH_CHANGED  something in it or about it changed (an entry
 *	                   created, deleted, moved, written, attributes)
 *	BOX_WATCH_MOVED    the watched path itself was moved away: names
 *	                   below it are stale
 *	BOX_WATCH_GONE     the watched path itself was deleted or unmounted,
 *	                   or its watch ended; the name is forgotten after it
 *	BOX_WATCH_RESCAN   events were lost (queue overflow): look at
 *	                   everything again; name is NULL
 * name is NULL, too, for a late event of a path already forgotten.
 *
 * Without inotify (none to be had, or poll_only) or once a path cannot be
 * watched (out of watches: ENOSPC), the watch polls: it has no fd, adding
 * paths does nothing, and box_watch_due says when interval has passed
 * since the first turn after the last tick; the caller then looks at
 * everything again. A loop turn:
 *	box_watch_turn(&w, &l);      the inotify fd, or the next tick
 *	box_loop_wait(&l);           events are delivered to fn
 *	if (box_watch_due(&w)) ...   polling: time to look again */
enum { BOX_WATCH_CHANGED, BOX_WATCH_MOVED, BOX_WATCH_GONE, BOX_WATCH_RESCAN };
/* What box_watch_add listens for. */
enum {
	BOX_WATCH_CONTENT = 1,   /* any change in it or of it */
	BOX_WATCH_ARRIVALS = 2,  /* entries created or moved in, attributes */
	BOX_WATCH_DIR = 4,       /* only if it is a directory */
};
typedef void box_watch_fn(void *ctx, int event, const char *name);
struct box_watch {
	int fd;                  /* inotify; -1 when polling */
	int polling;
	int64_t interval, next;  /* polling: ns between ticks, next tick or -1 */
	char **name;             /* watch descriptor -> the caller's name */
	size_t nname;
	box_watch_fn *fn;
	void *ctx;
};
/* 0, or -1 with errno when inotify is missing (the watch then polls). */
int box_watch_open(struct box_watch *w, int64_t interval, int poll_only,
	box_watch_fn *fn, void *ctx);
/* Watches path as name (copied); with fd >= 0, the file open on fd
 * whatever its path is now (path is the fallback without /proc). -1 with
 * errno when it cannot, and the watch polls from then on. */
int box_watch_add(struct box_watch *w, int fd, const char *path, const char *name, int what);
/* Delivers every queued event; returns how many there were. */
size_t box_watch_read(struct box_watch *w);
void box_watch_turn(struct box_watch *w, struct box_loop *l);
int box_watch_due(struct box_watch *w);
void box_watch_close(struct box_watch *w);

#endif
