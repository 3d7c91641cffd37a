/* Spawning children that start clean, with exact exec-failure reporting. */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void box_reset_signals(void)
{
	sigset_t none;

	box_sig_defaults(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* close_range(2) with flags 0 (close) or CLOSE_RANGE_CLOEXEC (Linux 5.11),
 * else a loop over every possible fd. */
static void box_fds_from(int from, unsigned flags)
{
#if defined(__linux__) && defined(SYS_close_range)
	if (syscall(SYS_close_range, (unsigned)from, ~0U, flags) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = from; fd < max; fd++) {
		if (flags)
			box_set_cloexec(fd, 1);
		else
			close(fd);
	}
}

void box_cloexec_from(int from)
{
	box_fds_from(from, 4U);
}

void box_close_from(int from)
{
	box_fds_from(from, 0);
}

/* ---- exec as POSIX execvp, the same with every libc ---------------------- */

/* PATH when the environment has none: musl's execvp default (glibc's
 * lacks /usr/local/bin), so both builds search the same places. */
#define BOX_DEFAULT_PATH "/usr/local/bin:/bin:/usr/bin"

/* Everything the search needs, prepared by a parent that may allocate:
 * the vector for "/bin/sh FILE ARGS..." is as long as argv, so it cannot
 * live on a child's stack of fixed size (glibc's execvp builds it there
 * and overflows box_spawn's child stack at ~10,000 arguments). */
struct box_exec {
	const char *file;      /* looked up in PATH unless it has a '/' */
	char *const *argv, *const *envp;
	const char *path;      /* the PATH to search */
	char **sh_argv;        /* "sh", FILE, ARGS..., NULL; filled on ENOEXEC */
	char why[120];         /* a cause found for ENOENT, or "" */
};

static int box_exec_prepare(struct box_exec *x, const char *file, char *const *argv,
	char *const *envp)
{
	size_t argc = 0;
	const char *path = getenv("PATH");

	while (argv[argc])
		argc++;
	x->file = file;
	x->argv = argv;
	x->envp = envp ? envp : environ;
	x->path = path ? path : BOX_DEFAULT_PATH;
	x->why[0] = 0;
	x->sh_argv = malloc((argc + 2) * sizeof(*x->sh_argv));
	if (!x->sh_argv)
		return -1;
	x->sh_argv[0] = (char *)"sh";
	x->sh_argv[argc + 1] = NULL;
	return 0;
}

/* Appends len bytes of s to x->why, as far as they fit. */
static void box_why_add(struct box_exec *x, const char *s, size_t len)
{
	size_t n = strlen(x->why);
	while (len-- && n < sizeof(x->why) - 1)
		x->why[n++] = *s++;
	x->why[n] = 0;
}

/* An existing file that execve says does not exist: what is missing is
 * the interpreter its #! line names, or the loader of an ELF program. */
static void box_exec_note_interpreter(struct box_exec *x, const char *file)
{
	static const char elf[] = "execute its ELF interpreter";
	static const char its[] = "execute its interpreter ";
	char head[128];
	int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t got = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (got < 4)
		return;
	head[got] = 0;
	if (!memcmp(head, "\177ELF", 4)) {
		box_why_add(x, elf, sizeof(elf) - 1);
	} else if (!memcmp(head, "#!", 2)) {
		char *interp = head + 2 + strspn(head + 2, " \t");
		box_why_add(x, its, sizeof(its) - 1);
		box_why_add(x, interp, strcspn(interp, " \t\n"));
	}
}

/* execve, and a file the kernel cannot execute (a script without #!)
 * through /bin/sh, as POSIX says execvp does. */
static void box_exec_file(struct box_exec *x, const char *file)
{
	execve(file, x->argv, x->envp);
	int err = errno;
	if (err == ENOEXEC) {
		x->sh_argv[1] = (char *)file;
		for (size_t i = 1; x->argv[i]; i++)
			x->sh_argv[i + 1] = x->argv[i];
		execve("/bin/sh", x->sh_argv, x->envp);
	}
	errno = err;
}

/* Nothing in PATH could be executed, each "not found": if one of the
 * candidates exists after all, what is missing is its interpreter. Only
 * this failure pays for looking, not every miss of a search that finds
 * the program further on. path is a PATH_MAX buffer to build names in. */
static void box_exec_why_missing(struct box_exec *x, char *path)
{
	size_t len = strlen(x->file);
	int err = errno;

	for (const char *dir = x->path, *end; !x->why[0]; dir = end + 1) {
		end = strchrnul(dir, ':');
		size_t n = (size_t)(end - dir);
		if (n + 1 + len < PATH_MAX) {
			memcpy(path, dir, n);
			path[n] = '/';
			memcpy(path + n + (n > 0), x->file, len + 1);
			box_exec_note_interpreter(x, path);
		}
		if (!*end)
			break;
	}
	errno = err;
}

/* The PATH search of POSIX execvp: an EACCES is remembered and the search
 * goes on, as it does past a missing file or directory and the errors of
 * an unreachable NFS directory; any other error ends it. Only system
 * calls and pure string functions: safe in box_spawn's child. */
static void box_exec_search(struct box_exec *x)
{
	const char *file = x->file;
	size_t len = strlen(file);
	char path[PATH_MAX];
	int eacces = 0;

	if (strchr(file, '/')) {
		box_exec_file(x, file);
		if (errno == ENOENT) {
			box_exec_note_interpreter(x, file);
			errno = ENOENT;
		}
		return;
	}
	if (!len || len > NAME_MAX) {
		errno = len ? ENAMETOOLONG : ENOENT;
		return;
	}
	errno = ENOENT;	/* if no entry of PATH is short enough to try */
	for (const char *dir = x->path, *end;; dir = end + 1) {
		end = strchrnul(dir, ':');
		size_t n = (size_t)(end - dir);
		if (n + 1 + len < sizeof(path)) {
			/* an empty entry is the current directory */
			memcpy(path, dir, n);
			path[n] = '/';
			memcpy(path + n + (n > 0), file, len + 1);
			box_exec_file(x, path);
			if (errno == EACCES)
				eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
				 errno != ENODEV && errno != ETIMEDOUT)
				return;
		}
		if (!*end)
			break;
	}
	if (eacces)
		errno = EACCES;
	else if (errno == ENOENT)
		box_exec_why_missing(x, path);
}

/* What failed, for box_spawn_error: the missing interpreter when that is
 * why the file "does not exist". */
static const char *box_exec_what(const struct box_exec *x, int err)
{
	return err == ENOENT && x->why[0] ? x->why : "execute";
}

static void box_spawn_error_set(struct box_spawn_error *e, int err, const char *what)
{
	size_t i;

	for (i = 0; what[i] && i < sizeof(e->what) - 1; i++)
		e->what[i] = what[i];
	e->what[i] = 0;
	e->err = err ? err : EINVAL;
}

int box_which(const char *file, char *out, size_t size)
{
	const char *path = getenv("PATH");
	size_t len = strlen(file);
	struct stat st;

	if (strchr(file, '/') || !len || len > NAME_MAX)
		return -1;
	for (const char *dir = path ? path : BOX_DEFAULT_PATH, *end;; dir = end + 1) {
		end = strchrnul(dir, ':');
		size_t n = (size_t)(end - dir);
		if (n + 2 + len <= size) {
			memcpy(out, dir, n);
			out[n] = '/';
			memcpy(out + n + (n > 0), file, len + 1);
			if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
			    access(out, X_OK) == 0)
				return 0;
		}
		if (!*end)
			return -1;
	}
}

int box_execvp(const char *file, char *const *argv, struct box_spawn_error *e)
{
	struct box_exec x;

	if (box_exec_prepare(&x, file, argv, NULL) == 0)
		box_exec_search(&x);
	box_spawn_error_set(e, errno, box_exec_what(&x, errno));
	free(x.sh_argv);
	errno = e->err;
	return -1;
}

/* ---- the child ----------------------------------------------------------- */

/* The child runs on its own stack in the parent's memory (CLONE_VM), while
 * the parent waits (CLONE_VFORK) until it has exec'd or exited: no page
 * tables are copied, and a failure is reported by writing straight into
 * the parent's box_spawn_error. So the child only makes system calls: no
 * allocation, no stdio, no libc locks, nothing that changes libc state. */
struct box_child_arg {
	const struct box_spawn *sp;
	struct box_spawn_error *e;
	pid_t parent;
	struct box_exec x;
};

static int box_fd_target_ok(int fd, int target)
{
	return fd < 0 || fd == target || fd > 2;
}

static int box_child_fail(struct box_spawn_error *e, int err, const char *what)
{
	box_spawn_error_set(e, err, what);
	_exit(box_exec_fail_code(e->err));
}

static int box_child(void *arg)
{
	struct box_child_arg *a = arg;
	const struct box_spawn *sp = a->sp;
	struct box_spawn_error *e = a->e;
	int src[3] = { sp->fd_in, sp->fd_out, sp->fd_err };
	sigset_t none;

	box_sig_defaults(sp->default_signals);
#ifdef PR_SET_PDEATHSIG
	/* the parent may have died before the signal was asked for */
	if (sp->pdeathsig && (prctl(PR_SET_PDEATHSIG, sp->pdeathsig) < 0 ||
	    getppid() != a->parent))
		return box_child_fail(e, ESRCH, "outlive its parent");
#endif
	if (sp->setsid && setsid() < 0)
		return box_child_fail(e, errno, "create a session");
	if (sp->pgroup >= 0 && setpgid(0, sp->pgroup) < 0)
		return box_child_fail(e, errno, "set the process group");
	/* move sources that sit on another target's number out of the way */
	for (int t = 0; t < 3; t++)
		if (!box_fd_target_ok(src[t], t))
			src[t] = fcntl(src[t], F_DUPFD_CLOEXEC, 3);
	for (int t = 0; t < 3; t++) {
		if (src[t] < 0)
			continue;
		if (src[t] == t)
			box_set_cloexec(t, 0);
		else if (dup2(src[t], t) < 0)
			return box_child_fail(e, errno, "set up standard i/o");
	}
	if (!sp->inherit_fds)
		box_cloexec_from(3);
	for (const int *k = sp->keep_fds; k && *k >= 0; k++)
		box_set_cloexec(*k, 0);
	if (sp->setup) {
		const char *what = sp->setup(sp->ctx);
		if (what)
			return box_child_fail(e, errno, what);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	box_exec_search(&a->x);
	return box_child_fail(e, errno, box_exec_what(&a->x, errno));
}

/* Big enough for the PATH search's buffer and a setup hook. On the
 * parent's own stack, which is where sanitizers expect a stack to be. */
#define BOX_CHILD_STACK (64 * 1024)

pid_t box_spawn(const struct box_spawn *sp, struct box_spawn_error *e)
{
	struct box_child_arg arg = { .sp = sp, .e = e, .parent = sp->pdeathsig ? getpid() : 0 };
	sigset_t all, old;
	pid_t pid;
	int err;

	_Alignas(16) char stack[BOX_CHILD_STACK];

	memset(e, 0, sizeof(*e));
	if (box_exec_prepare(&arg.x, sp->file ? sp->file : sp->argv[0], sp->argv, sp->envp) < 0)
		return -1;
	/* no handler of the parent's may run in the child before its
	 * dispositions are reset: everything stays blocked until then (with
	 * no handler set, a signal there does what it would do after exec) */
	int block = box_sig_any_caught();
	if (block) {
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
	}
	pid = clone(box_child, stack + BOX_CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &arg);
	err = errno;
	if (block)
		sigprocmask(SIG_SETMASK, &old, NULL);
	free(arg.x.sh_argv);
	if (pid < 0) {
		errno = err;
		return -1;
	}
	if (e->err) {
		box_waitpid(pid, NULL, 0);
		errno = e->err;
		return -1;
	}
	return pid;
}

int box_exec_fail_code(int err)
{
	return err == ENOENT ? 127 : 126;
}

int box_status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

pid_t box_waitpid(pid_t pid, int *status, int flags)
{
	pid_t r;
	do
		r = waitpid(pid, status, flags);
	while (r < 0 && errno == EINTR);
	return r;
}
