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
	const char *longname;  /* NULL for short-only */
	int key;           /* returned by box_getopt; a char for short options */
	char shortname;    /* 0 for long-only */
	char arg;          /* 0 none, 1 required, 2 optional (long "=V" only) */
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
/* An output file (-o, -e), created 0666 & ~umask, truncated or appended
 * to; never through a symbolic link, whose target whoever can write the
 * directory would choose. */
int box_xopen_output(const char *path, int append);
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

/* Splits one line (up to a newline) of a table such as /proc/net/route
 * into at most max blank-separated fields, copied into buf; returns how
 * many. */
int box_fields(const char *line, char *buf, size_t size, char **field, int max);
/* The whole string as hexadecimal ("0x" allowed), no sign: BOX_PARSE_* */
int box_parse_hex(const char *s, unsigned long *out);
/* Strict: the whole string, decimal, optional sign, no blanks. */
int box_parse_ll(const char *s, long long min, long long max, long long *out);
/* Calls box_usage("invalid WHAT 'S': ...") on failure. */
long long box_xparse_ll(const char *what, const char *s, long long min, long long max);
/* strtod without its 6 KB in a static binary: leading blanks, a sign,
 * decimal digits with '.' and an e exponent, hex with a p exponent, inf
 * and infinity (not nan). Correctly rounded for up to 15 significant
 * digits times a power of ten up to 22 (then off by an ulp or so); ERANGE
 * in errno on overflow and underflow. *end is where the number stopped
 * (s when there was none, and 0 is returned). */
double box_strtod(const char *s, char **end);

/* Durations in nanoseconds: "1.5" (seconds), "200ms", "2s", "5m", "1h",
 * "1d", also "us" and "ns". Negative values and empty strings are
 * invalid; the result is at most BOX_DURATION_MAX. A part of a
 * nanosecond rounds up, as GNU timeout's durations do ("0.5ns" is 1). */
#define BOX_NSEC 1000000000LL
#define BOX_DURATION_MAX (100LL * 365 * 86400 * BOX_NSEC)
int box_parse_duration(const char *s, int64_t *ns);
int64_t box_xparse_duration(const char *what, const char *s);

/* Every signal 1-64 has a name that does not depend on the libc: the
 * classic ones from <signal.h>, the real-time ones as glibc and bash's
 * `kill -l` count them (34 RTMIN, 35 RTMIN+1 ... 50 RTMAX-14 ... 64
 * RTMAX; 32 and 33, which libc keeps for itself, RT32 and RT33).
 * box_signum accepts "TERM", "SIGTERM", "term", "15", "RTMIN+2",
 * "RTMAX-3", "RT33"; -1 when unknown. box_signame returns "TERM",
 * "RTMIN+2", or NULL outside 1-64. */
int box_signum(const char *s);
const char *box_signame(int sig);
int box_xsignum(const char *what, const char *s);
/* Iterates the classic names: returns the signal of index i (0-based)
 * or 0 at the end. */
int box_signal_at(int i, const char **name);

/* A signal ignored when procbox started (nohup, trap '', a shell's
 * background job) stays ignored for the commands it runs and is not the
 * applets' to act on, as bash and nohup do it. main calls box_sig_init
 * once, before any applet runs, to record them; an ignored SIGCHLD is
 * the exception: procbox needs it, so it is set back to default. */
void box_sig_init(void);
int box_sig_ignored_at_start(int sig);
/* --default-signals (GNU env's --default-signal): as if every signal had
 * been at default when procbox started; call before box_sigfd_open. */
void box_sig_forget_ignored(void);
/* The applet takes sig even if it was ignored at start, as GNU timeout
 * catches the signals it forwards: at default here (until the applet
 * asks for it) and in the commands it starts. */
void box_sig_take(int sig);
/* Removes from set the signals ignored at start that are still ignored
 * now (an applet may claim one on purpose by setting a disposition first). */
void box_sig_drop_ignored(sigset_t *set);
/* Every signal procbox changed back to SIG_DFL, through the kernel, or to
 * SIG_IGN for one ignored at start; all == 1: those ignored at start to
 * SIG_DFL too. Makes only system calls: safe in box_spawn's child. */
void box_sig_defaults(int all);
/* sigaction and signal for procbox's own code: they note which signals
 * procbox changed, so that box_sig_defaults resets those alone (the rest
 * are as procbox found them, and exec resets a caught one). */
int box_sigaction(int sig, const struct sigaction *sa, struct sigaction *old);
void box_signal(int sig, void (*handler)(int));
/* Whether procbox has a handler set for some signal now. */
int box_sig_any_caught(void);

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
 * caught), but those box_sig_drop_ignored drops; box_sigfd_read returns
 * the next pending signal number, 0 when none is pending, -1 on error. */
int box_sigfd_open(const sigset_t *set);
int box_sigfd_read(int fd);
/* The same; *by_kernel (when not NULL) is set when the kernel sent it,
 * as a terminal's ^C, ^\ and hangup are: the whole foreground process
 * group got it, so a wrapper need not pass it on. */
int box_sigfd_next(int fd, int *by_kernel);
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
	int sig_by_kernel;       /* the signal being handled came from the kernel */
};

/* What a wrapper (exitcode, pipe, timer) passes on to its command: the
 * signals a caller uses to stop, reload or poke it. */
#define BOX_FORWARDED SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2
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
	char *const *argv;       /* argv[0] is looked up in PATH, */
	const char *file;        /* unless this names the file to run */
	char *const *envp;       /* NULL: inherit environ */
	int fd_in, fd_out, fd_err;  /* -1: inherit */
	const int *keep_fds;     /* extra fds to pass (besides 0-2), -1 ends */
	/* 0: every fd but 0-2 and keep_fds is closed on exec, a daemon's
	 * clean start (daemon(7): daemonize, supervise). 1: the command
	 * inherits the fds procbox inherited, as env, timeout and xargs pass
	 * them (exitcode, timer, pipe, runner); only procbox's own fds, all
	 * opened close-on-exec, are closed. */
	int inherit_fds;
	/* 0: signals ignored when procbox started stay ignored (see
	 * box_sig_init), every other one is at default. 1: all at default,
	 * as GNU env's --default-signal and daemon(7) want it. */
	int default_signals;
	/* A signal the command gets when the applet dies, however it dies
	 * (PR_SET_PDEATHSIG where the kernel has it), so that a wrapper
	 * killed with SIGKILL leaves nothing running; 0: none. */
	int pdeathsig;
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
	/* "execute"; "execute its interpreter /x" or "execute its ELF
	 * interpreter" when the file exists but that does not (err is
	 * ENOENT); or the setup step's description. Printed as "CMD: unable
	 * to WHAT: strerror(err)". */
	char what[120];
};

/* Starts a child with default signal dispositions (but those ignored at
 * start stay ignored unless default_signals), an empty signal mask and
 * every fd but 0-2 (and keep_fds) closed on exec unless inherit_fds.
 * argv[0] is run as POSIX execvp runs it, the same with every libc:
 * looked up in PATH (the parent's, even with envp), and a file the kernel
 * cannot execute (ENOEXEC: a script without #!) runs as "/bin/sh FILE
 * ARGS...", with no limit on the argument count but the kernel's.
 * The child shares the parent's memory until it execs (clone with
 * CLONE_VM|CLONE_VFORK: no page tables copied), so the parent knows
 * exactly whether the program started, and the setup hook may only make
 * system calls: no allocation, no stdio, no environ changes (build envp
 * instead), no libc id or rlimit wrappers (box_become_user, prlimit).
 * Returns the pid; on an exec or setup failure returns -1 with *e filled
 * (the child already reaped) and errno set; on a clone or allocation
 * failure returns -1 with e->err == 0. */
pid_t box_spawn(const struct box_spawn *sp, struct box_spawn_error *e);
/* box_spawn's exec of file (argv[0] or a path to it) in the calling
 * process, for a forked child (it allocates): returns only on failure,
 * -1 with *e filled as box_spawn fills it. */
int box_execvp(const char *file, char *const *argv, struct box_spawn_error *e);
/* The file box_spawn would run for file: itself when it has a '/', else
 * the first regular file of that name in PATH that may be executed, in
 * out. For a caller that runs one program many times (runner), to search
 * PATH once; -1 when nothing is found (the exec then says why). */
int box_which(const char *file, char *out, size_t size);
/* 127 for ENOENT (not found), 126 for anything else (cannot execute). */
int box_exec_fail_code(int err);
/* Marks every fd >= from close-on-exec (close_range or a loop). */
void box_cloexec_from(int from);
/* Closes every fd >= from. */
void box_close_from(int from);
/* Child side: default dispositions for every catchable signal, even
 * those ignored at start (daemon(7)), empty mask. */
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
/* Appends RFC 4648 base64 of n bytes, padded with '='. */
void box_base64(struct box_buf *b, const void *data, size_t n);

/* Wait status -> shell-style code: the exit status, or 128 + signal. */
int box_status_code(int status);
/* waitpid with EINTR retried. */
pid_t box_waitpid(pid_t pid, int *status, int flags);

/* ---- waiting between threads (futex.c) ------------------------------------ */

/* Sleeps while *word is val, at most timeout ns (-1: no limit): -1 when
 * that ran out, else 0 (woken, *word not val, or a signal). */
int box_futex_wait(int *word, int val, int64_t timeout);
void box_futex_wake(int *word, int n);
/* A lock: an int, 0 when free. */
void box_lock(int *l);
void box_unlock(int *l);
/* A condition: an int. box_cond_wait lets l go, sleeps until woken (or
 * spuriously, as any condition variable; at most timeout ns, -1 none:
 * -1 when it ran out) and takes l again. */
int box_cond_wait(int *cond, int *l, int64_t timeout);
void box_cond_wake(int *cond, int all);

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

/* Appends s as a JSON string literal (quotes included); a byte that is not
 * part of valid UTF-8 becomes \udcXX (XX the byte, PEP 383's surrogate
 * escape), so that the bytes can be had back: in Python,
 * os.fsencode(json.loads(...)). */
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
void box_json_sn(struct box_json *j, const char *key, const char *s, size_t n);  /* NULs kept */
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
 * and exec and last until every process holding the fd has exited. Locks
 * are taken on read-only descriptors: whoever holds one cannot write. */

/* 1 when fd and path name the same file (same device and inode). */
int box_same_file(int fd, const char *path);
/* Opens path read-only (created 0644 when create is set) and takes an exclusive
 * lock without waiting; retries when the name was replaced meanwhile.
 * 0 with *fd set, or -1 with errno (EWOULDBLOCK: someone holds it). */
int box_lock_path(const char *path, int create, int *fd);
/* The pid on the first line of the file, or 0 when there is none. */
pid_t box_pid_read(int fd);

/* A pidfile that is never seen empty or partial: prepare (before fork)
 * creates PATH.XXXXXX locked and takes the lock of the current PATH;
 * commit (in the process that will hold it) writes the pid and renames or
 * links it into place and closes wfd; fd is then the locked pidfile, read
 * only. abort removes what is ours. prepare returns -1 with errno
 * EWOULDBLOCK when PATH is locked. */
struct box_pidfile {
	char *path, *tmp;
	int fd;         /* the new pidfile, read-only, locked */
	int wfd;        /* the same file writable, until commit */
	int oldfd;      /* the previous pidfile, locked, or -1 */
};
int box_pidfile_prepare(struct box_pidfile *pf, const char *path);
int box_pidfile_commit(struct box_pidfile *pf, pid_t pid);
void box_pidfile_abort(struct box_pidfile *pf);

/* The state of a pidfile's lock: RUNNING (locked) or STALE (unlocked)
 * with *fd the pidfile open read-only, or ABSENT, or -1 with errno; *pid
 * from its content (0: none). */
enum { BOX_PIDFILE_RUNNING, BOX_PIDFILE_STALE, BOX_PIDFILE_ABSENT };
int box_pidfile_check(const char *path, pid_t *pid, int *fd);
/* The processes whose open file holds the lock on fd's file (as their
 * /proc/PID/fdinfo shows), at most max of them into pids: how many. */
int box_lock_holders(int fd, pid_t *pids, int max);
/* Waits for an exclusive lock on fd until the monotonic deadline (ns, -1 =
 * forever): 0, or -1 with errno (ETIMEDOUT). Uses SIGALRM meanwhile. */
int box_lock_wait(int fd, int64_t deadline_ns);

/* ---- detaching a daemon (detach.c) --------------------------------------- */

/* daemon(7)'s detach, the one way: daemonize detaches the command it
 * executes, supervise detaches itself and goes on running. The caller
 * forks a session leader, which forks the daemon: in a new session it
 * does not lead, so it can never get a terminal back. The daemon resets
 * its signals, commits the pidfile with its own pid (before privileges
 * go), sets the umask, drops privileges and changes directory (as the
 * user), in that order. Its stdio stays the caller's until it is up, so a
 * setup error it prints still reaches the caller's terminal.
 *
 * The caller learns the truth through a pipe, one record per write, and
 * exits only when every writer is done: "up" (the daemon's pid), or the
 * step that failed with its errno and the exit status to use. Each
 * applet may add records of its own (the session leader's outcome of
 * daemonize's --wait-ready).
 *
 *	supervise (goes on in C; in the foreground with .stay = 1):
 *	  box_pidfile_prepare(&pf, path)       refuse while locked
 *	  struct box_detach d = { .pidfile = &pf, .umask = 022, .dir = dir };
 *	  if (box_detach(&d) > 0)
 *		box_detach_exit(&d);               the caller: 0, or how it failed
 *	  ...setup; box_fatal still reaches the caller's stderr...
 *	  box_detach_up(&d);                   stdio to /dev/null, caller exits 0
 *
 *	daemonize (execs CMD): box_detach, box_detach_stdio, its own fds,
 *	  box_detach_exec; the caller box_detach_wait, then its messages. */
struct box_detach_msg {
	int kind;                /* BOX_DETACH_UP, _FAIL, or the applet's own */
	int code;                /* FAIL: the caller's exit status */
	int err;                 /* FAIL: errno of the step */
	int status;              /* the applet's records: a wait status, say */
	pid_t pid;               /* the sender */
	char what[200];          /* FAIL: the step, "change directory to /x" */
};
/* BOX_DETACH_NOTE and above are the applet's own kinds. */
enum { BOX_DETACH_UP = 1, BOX_DETACH_FAIL, BOX_DETACH_NOTE };

struct box_detach {
	struct box_pidfile *pidfile;   /* prepared; committed by the daemon */
	int umask;                     /* 0 as daemon(7) says; -1 keeps it */
	const struct box_user *user;   /* NULL: stay who we are */
	const char *dir;               /* NULL: stay (daemon(7) says "/") */
	int stdio[3];                  /* what 0-2 become; below 3: /dev/null */
	int busy_code;                 /* exit status when another daemon locked
	                                  the pidfile first; 0: fail_code */
	/* Set: no fork, the same steps in this process (supervise -n); a
	 * failed step dies here, box_detach_up does nothing. */
	int stay;
	/* Runs in the session leader, after the second fork, before it
	 * exits; may box_detach_send. NULL: the leader exits at once. */
	void (*leader)(struct box_detach *d);
	void *ctx;
	/* set by box_detach and box_detach_wait */
	pid_t pid;                     /* the daemon, once known */
	int report;                    /* the pipe: read end in the caller */
	struct box_detach_msg fail;    /* the failed step (kind 0: none) */
	struct box_detach_msg note;    /* the last of the applet's records */
};
/* Returns the session leader's pid in the caller and 0 in the daemon;
 * dies (in the caller) when it cannot create the pipe or fork. With
 * stay, returns 0 after the daemon's steps (signals left alone). */
pid_t box_detach(struct box_detach *d);
/* The daemon (and the leader): one record to the caller. */
void box_detach_send(struct box_detach *d, const struct box_detach_msg *m);
/* The daemon: tells the caller "unable to STEP: strerror(errno)" and
 * that it should exit with code, then _exits with code. */
BOX_NORETURN void box_detach_fail(struct box_detach *d, int code, const char *fmt, ...)
	BOX_PRINTF(3, 4);
/* The daemon: 0-2 to d->stdio (or /dev/null); fails like box_detach_fail. */
void box_detach_stdio(struct box_detach *d);
/* The daemon: box_detach_stdio, "up", and the pipe closed: the caller
 * exits 0 now. */
void box_detach_up(struct box_detach *d);
/* The daemon: "up", then execvp; when that fails, the caller is told
 * "unable to execute ARGV0" with 126 or 127. */
BOX_NORETURN void box_detach_exec(struct box_detach *d, const char *path, char *const argv[]);
/* The caller: reads every record until the leader and the daemon are
 * done. 0 when the daemon is up (d->pid); -1 when not: d->fail says why
 * (kind 0: it died without a record, having said why on the stderr it
 * shares with the caller), and the pidfile is removed. */
int box_detach_wait(struct box_detach *d);
/* The caller with nothing more to do: box_detach_wait (unless done),
 * then _exit 0 when up; else print d->fail and exit with its code, or
 * with the applet's fail_code when the daemon died without a record. */
BOX_NORETURN void box_detach_exit(struct box_detach *d);

/* ---- mail over SMTP (smtp.c) ------------------------------------------------ */

/* One plain-text message, relayed by an SMTP server without a local
 * sendmail. Date, From, To, Subject (RFC 2047 when not ASCII), Message-ID
 * and the MIME headers are written for you; the body's lines end in LF
 * and are sent with CRLF and dot-stuffing. */
struct box_mail {
	const char *server;      /* HOST[:PORT] or [ADDR]:PORT, port 25 by default */
	int64_t timeout;         /* for connecting, each send and each reply */
	const char *helo;        /* our host name: EHLO and the Message-ID */
	const char *from;
	const char *const *to;
	size_t nto;
	const char *subject;
	const char *headers;     /* more "Name: value\r\n" lines, or NULL */
	const char *body;
	/* TLS, through a helper program, as libc has none: BOX_SMTP_PLAIN;
	 * BOX_SMTP_STARTTLS, where the helper speaks the plain part (greeting,
	 * EHLO, STARTTLS) and hands over the encrypted session, as openssl
	 * s_client -starttls smtp does; BOX_SMTP_TLS, TLS from the first
	 * byte (port 465), the greeting coming through the helper. */
	int tls;
	/* The helper, run with /bin/sh -c, its stdin and stdout the session:
	 * %h the host, %p the port, %a HOST:PORT ([ADDR]:PORT for IPv6), each
	 * shell-quoted, %% a '%'. NULL: openssl s_client, verifying the
	 * server's certificate and name against the system's CAs. */
	const char *tls_helper;
	/* AUTH PLAIN, or LOGIN when the server offers only that, when set. */
	const char *auth_user, *auth_pass;
	/* Attempts after the first when the server says "later" (4xx) or the
	 * connection fails, retry_delay (30 s when 0) apart, doubling. */
	int retries;
	int64_t retry_delay;
	/* A recipient the server rejected ("RCPT TO <a@b>: 550 ..."), a
	 * failed attempt that will be made again, or a QUIT that failed after
	 * the message was accepted; may be NULL. */
	void (*warn)(void *ctx, const char *msg);
	void *ctx;
};
enum { BOX_SMTP_PLAIN, BOX_SMTP_STARTTLS, BOX_SMTP_TLS };
/* 0 when every recipient got the message, N > 0 when N were rejected (the
 * others got it), -1 when it was not delivered: err holds "STEP: reason",
 * e.g. "connect to 127.0.0.1:25: Connection refused", "greeting: no reply
 * within 30s", "end of DATA: connection closed by the server". */
int box_smtp_send(const struct box_mail *m, char *err, size_t errsize);
/* One reply line without its CRLF: the code (200-599) and whether it ends
 * the reply ("250 ok" and "250" do, "250-more" does not); -1 when it is
 * malformed. */
int box_smtp_parse_reply(const char *line, size_t len, int *complete);
/* Splits a server spec into host and port text (*port NULL when none is
 * given): BOX_PARSE_OK, BOX_PARSE_INVALID for the form, BOX_PARSE_RANGE
 * for a port outside 1-65535. */
int box_smtp_parse_server(const char *spec, char *host, size_t hostsize, const char **port);
/* local@domain, with nothing a header or command line would need quoted. */
int box_smtp_valid_address(const char *a);
/* The AUTH secret: the user name on the first line of path, the password
 * on the second, as busybox sendmail reads them. A file that group or
 * others may read or write, or that someone else owns, is refused (the
 * password would not be secret). 0, or -1 with err "PATH: reason". */
int box_smtp_read_auth(const char *path, char **user, char **pass, char *err,
	size_t errsize);

/* ---- the mount table (mounts.c) ------------------------------------------- */

/* One line of /proc/self/mountinfo; the strings are valid during the
 * call only. */
struct box_mount {
	unsigned long long id;   /* the mount's id (statx STATX_MNT_ID) */
	dev_t dev;               /* st_dev of what it mounts */
	char *root;              /* the mounted directory inside its filesystem */
	char *dir;               /* where it is mounted */
	char *type, *source;
};
/* Returns nonzero to stop. */
typedef int box_mount_fn(void *ctx, const struct box_mount *m);
/* Calls fn for every mount, in the kernel's order (a later mount on the
 * same directory hides an earlier one); -1 when there is no mountinfo or
 * nothing in it. */
int box_mountinfo(box_mount_fn *fn, void *ctx);
/* The mtab/mountinfo escapes (\ooo) undone in place; the next field of a
 * blank-separated line. */
void box_mount_unescape(char *s);
char *box_mount_field(char **p);

/* ---- watching paths: inotify, else polling (watch.c) --------------------- */

/* Watches a set of directories or files and says which of them changed,
 * as events through fn. Each watched path carries the caller's name for it
 * (dirsync: a directory's path below SRC, "" for the top):
 *	BOX_WATCH_CHANGED  something in it or about it changed (an entry
 *	                   created, written, attributes)
 *	BOX_WATCH_REMOVED  an entry (child) was deleted or moved out of it
 *	BOX_WATCH_NEWDIR   a directory (child) was created or moved into it
 *	BOX_WATCH_MOVED    the watched path itself was moved away: names
 *	                   below it are stale
 *	BOX_WATCH_GONE     the watched path itself was deleted or unmounted,
 *	                   or its watch ended; the name is forgotten after it
 *	BOX_WATCH_RESCAN   events were lost (queue overflow): look at
 *	                   everything again; name is NULL
 * name is NULL, too, for a late event of a path already forgotten; child
 * is the entry's name inside the watched directory, or NULL.
 *
 * Without inotify (none to be had, or poll_only) or once a path cannot be
 * watched (out of watches: ENOSPC), the watch polls: it has no fd, adding
 * paths does nothing, and box_watch_due says when interval has passed
 * since the first turn after the last tick; the caller then looks at
 * everything again. A loop turn:
 *	box_watch_turn(&w, &l);      the inotify fd, or the next tick
 *	box_loop_wait(&l);           events are delivered to fn
 *	if (box_watch_due(&w)) ...   polling: time to look again */
enum { BOX_WATCH_CHANGED, BOX_WATCH_REMOVED, BOX_WATCH_NEWDIR, BOX_WATCH_MOVED,
	BOX_WATCH_GONE, BOX_WATCH_RESCAN };
/* What box_watch_add listens for. */
enum {
	BOX_WATCH_CONTENT = 1,   /* any change in it or of it */
	BOX_WATCH_ARRIVALS = 2,  /* entries created or moved in, attributes */
	BOX_WATCH_DIR = 4,       /* only if it is a directory */
};
typedef void box_watch_fn(void *ctx, int event, const char *name, const char *child);
struct box_watch_slot {
	int wd;                  /* -1: free */
	char *name;
};
struct box_watch {
	int fd;                  /* inotify; -1 when polling */
	int polling;
	int64_t interval, next;  /* polling: ns between ticks, next tick or -1 */
	struct box_watch_slot *slot;  /* watch descriptor -> the caller's name, */
	size_t nslot, used;      /* open addressing: as big as the live watches */
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

/* ---- glob patterns (glob.c) ------------------------------------------------ */

/* rsync's wildmatch: *, ** (any run, '/' too), ?, [a-z] [!x] [^x]
 * [[:alpha:]] and the other POSIX classes of the C locale, \x. Matching
 * takes O(pattern x text) time for any pattern: no backtracking. */
struct box_glob {
	uint64_t *mask;		/* per byte, the tokens that take it */
	uint64_t *stars;	/* the tokens that stay (* and **) */
	uint64_t *on, *next;	/* the tokens reached while matching */
	size_t ntok, words;	/* a bit per token and one for the end */
	int never;		/* malformed under BOX_GLOB_STRICT */
};

enum {
	/* compile: a malformed class or a trailing backslash makes the whole
	 * pattern match nothing (rsync), not stand for itself (glob(3)) */
	BOX_GLOB_STRICT = 1,
	/* exec: the pattern may also start after any '/' of the text */
	BOX_GLOB_AFTER_SLASH = 2,
};

void box_glob_compile(struct box_glob *g, const char *pattern, int flags);
/* 1 when the pattern matches texts, a NULL-terminated list of strings
 * read as one. Not reentrant for one g (it holds the scratch space). */
int box_glob_exec(const struct box_glob *g, const char *const *texts, int flags);
void box_glob_free(struct box_glob *g);
/* Work done by box_glob_exec, in words of token bits: tests bound it. */
extern unsigned long box_glob_steps;
/* Compiles and matches once; a malformed class is a literal '['. */
int box_glob_match(const char *pattern, const char *s);
/* The existing paths a pattern names, wildcards in any component, sorted
 * as glob(3) sorts them; hidden names only for a component that starts
 * with '.'. Returns how many; *paths is malloc'd (each path too). */
size_t box_glob(const char *pattern, char ***paths);

#endif
