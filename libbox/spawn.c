/* Spawning children that start clean, with exact exec-failure reporting. */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* libc refuses to touch the signals it reserves for itself (glibc's 32 and
 * 33, musl's 32-34), yet a parent may have left them ignored, and an
 * ignored signal stays ignored across exec. Ask the kernel directly. */
static void box_reset_reserved_signal(int sig)
{
#if defined(__linux__) && defined(SYS_rt_sigaction)
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} ksa = { 0 };	/* SIG_DFL, no flags, empty mask */
	syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
#else
	(void)sig;
#endif
}

void box_reset_signals(void)
{
	struct sigaction sa = { 0 };
	sigset_t none;

	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, &sa, NULL) < 0)
			box_reset_reserved_signal(sig);
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

BOX_NORETURN static void box_child_fail(int errfd, int err, const char *what)
{
	struct box_spawn_error e = { .err = err };
	snprintf(e.what, sizeof(e.what), "%s", what);
	box_write_all(errfd, &e, sizeof(e));
	_exit(box_exec_fail_code(err));
}

BOX_NORETURN static void box_child(const struct box_spawn *sp, int errfd)
{
	int src[3] = { sp->fd_in, sp->fd_out, sp->fd_err };

	box_reset_signals();
	if (errfd < 3)
		errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 3);
	if (sp->setsid && setsid() < 0)
		box_child_fail(errfd, errno, "create a session");
	if (sp->pgroup >= 0 && setpgid(0, sp->pgroup) < 0)
		box_child_fail(errfd, errno, "set the process group");
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
			box_child_fail(errfd, errno, "set up standard i/o");
	}
	box_cloexec_from(3);
	for (const int *k = sp->keep_fds; k && *k >= 0; k++)
		box_set_cloexec(*k, 0);
	if (sp->setup) {
		const char *what = sp->setup(sp->ctx);
		if (what)
			box_child_fail(errfd, errno, what);
	}
	if (sp->envp)
		environ = (char **)sp->envp;
	execvp(sp->argv[0], sp->argv);
	box_child_fail(errfd, errno, "execute");
}

pid_t box_spawn(const struct box_spawn *sp, struct box_spawn_error *e)
{
	int p[2];
	pid_t pid;

	memset(e, 0, sizeof(*e));
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		box_close(p[0]);
		box_close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		box_child(sp, p[1]);
	}
	close(p[1]);
	ssize_t r = box_read_full(p[0], e, sizeof(*e));
	close(p[0]);
	if (r == (ssize_t)sizeof(*e)) {
		box_waitpid(pid, NULL, 0);
		errno = e->err;
		return -1;
	}
	memset(e, 0, sizeof(*e));
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
