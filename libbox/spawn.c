/* Spawning children that start clean, with exact exec-failure reporting. */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
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

static int box_fd_target_ok(int fd, int target)
{
	return fd < 0 || fd == target || fd > 2;
}

/* The child runs on its own stack in the parent's memory (CLONE_VM), while
 * the parent waits (CLONE_VFORK) until it has exec'd or exited: no page
 * tables are copied, and a failure is reported by writing straight into
 * the parent's box_spawn_error. So the child only makes system calls: no
 * allocation, no stdio, no libc locks, nothing that changes libc state. */
struct box_child_arg {
	const struct box_spawn *sp;
	struct box_spawn_error *e;
};

static int box_child_fail(struct box_spawn_error *e, int err, const char *what)
{
	size_t i;

	for (i = 0; what[i] && i < sizeof(e->what) - 1; i++)
		e->what[i] = what[i];
	e->what[i] = 0;
	e->err = err ? err : EINVAL;
	_exit(box_exec_fail_code(e->err));
}

static int box_child(void *arg)
{
	const struct box_spawn *sp = ((struct box_child_arg *)arg)->sp;
	struct box_spawn_error *e = ((struct box_child_arg *)arg)->e;
	int src[3] = { sp->fd_in, sp->fd_out, sp->fd_err };
	sigset_t none;

	box_sig_defaults(sp->default_signals);
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
	if (sp->envp)
		execvpe(sp->argv[0], sp->argv, (char *const *)sp->envp);
	else
		execvp(sp->argv[0], sp->argv);
	return box_child_fail(e, errno, "execute");
}

/* Big enough for execvp's path buffer and a setup hook. On the parent's
 * own stack, which is where sanitizers expect a stack to be. */
#define BOX_CHILD_STACK (64 * 1024)

pid_t box_spawn(const struct box_spawn *sp, struct box_spawn_error *e)
{
	struct box_child_arg arg = { sp, e };
	sigset_t all, old;
	pid_t pid;
	int err;

	_Alignas(16) char stack[BOX_CHILD_STACK];

	memset(e, 0, sizeof(*e));
	/* no handler of the parent's may run in the child before its
	 * dispositions are reset: everything stays blocked until then */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = clone(box_child, stack + BOX_CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &arg);
	err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
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
