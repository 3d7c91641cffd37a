/* Clocks, deadline-based poll, and signals delivered through an fd. */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/signalfd.h>
#endif

int64_t box_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * BOX_NSEC + ts.tv_nsec;
}

int64_t box_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * BOX_NSEC + ts.tv_nsec;
}

int box_poll_until(struct pollfd *fds, nfds_t n, int64_t deadline_ns)
{
	for (;;) {
		int timeout = -1;
		if (deadline_ns >= 0) {
			int64_t left = deadline_ns - box_now_ns();
			if (left <= 0)
				timeout = 0;
			else if (left / 1000000 >= 0x7fffffff)
				timeout = 0x7fffffff;
			else	/* round up: never wake before the deadline */
				timeout = (int)((left + 999999) / 1000000);
		}
		int r = poll(fds, n, timeout);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

/* Self-pipe fallback for systems without signalfd. */
static int box_selfpipe[2] = { -1, -1 };

static void box_selfpipe_handler(int sig)
{
	int err = errno;
	unsigned char c = (unsigned char)sig;
	if (write(box_selfpipe[1], &c, 1) < 0) {
		/* pipe full: the signal is already pending in it */
	}
	errno = err;
}

int box_sigfd_open(const sigset_t *wanted)
{
	sigset_t own = *wanted, *set = &own;

	box_sig_drop_ignored(set);
	sigprocmask(SIG_BLOCK, set, NULL);
#ifdef __linux__
	int fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd >= 0)
		return fd;
#endif
	if (pipe(box_selfpipe) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		box_set_cloexec(box_selfpipe[i], 1);
		box_set_nonblock(box_selfpipe[i], 1);
	}
	struct sigaction sa = { 0 };
	sa.sa_handler = box_selfpipe_handler;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1)
			box_sigaction(sig, &sa, NULL);
	sigprocmask(SIG_UNBLOCK, set, NULL);
	return box_selfpipe[0];
}

int box_sigfd_read(int fd)
{
	return box_sigfd_next(fd, NULL);
}

int box_sigfd_next(int fd, int *by_kernel)
{
	if (by_kernel)
		*by_kernel = 0;
#ifdef __linux__
	if (fd != box_selfpipe[0]) {
		struct signalfd_siginfo si;
		ssize_t r = box_read(fd, &si, sizeof(si));
		if (r != (ssize_t)sizeof(si))
			return r < 0 && errno != EAGAIN ? -1 : 0;
		if (by_kernel)
			*by_kernel = si.ssi_code == SI_KERNEL;
		return (int)si.ssi_signo;
	}
#endif
	unsigned char c;
	ssize_t r = box_read(fd, &c, 1);
	if (r == 1)
		return c;
	return r < 0 && errno != EAGAIN ? -1 : 0;
}

void box_sigfd_close(int fd, const sigset_t *wanted)
{
	sigset_t own = *wanted, *set = &own;
	struct sigaction sa = { 0 };

	box_sig_drop_ignored(set);
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1)
			box_sigaction(sig, &sa, NULL);
	sigprocmask(SIG_UNBLOCK, set, NULL);
	if (fd == box_selfpipe[0]) {
		box_close(box_selfpipe[1]);
		box_selfpipe[0] = box_selfpipe[1] = -1;
	}
	box_close(fd);
}
