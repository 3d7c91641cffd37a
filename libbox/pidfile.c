/* Pidfiles and lock files that tell the truth.
 *
 * The locks are flock(2) locks: they belong to the open file description,
 * so they survive fork and exec, and a daemon (with every child that
 * inherited the descriptor) holds its lock until the last of them exits.
 * "Is it running?" is answered by trying the lock, never by kill(pid, 0),
 * which a recycled pid fools.
 *
 * A pidfile is never visible empty or half written: the pid goes into a
 * locked temporary file beside it, which is then renamed over the old
 * pidfile (held locked meanwhile) or linked into place when there was
 * none, so whoever sees the name sees the whole content and the lock.
 *
 * Every lock is held on a read-only descriptor: the pid goes in through a
 * second, writable one that is closed once it is written, so a daemon
 * that dropped its privileges cannot write another pid into its
 * pidfile, nor anything into its lock file. */
#include "box.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

/* A name replaced or removed between open and lock must be tried again;
 * this bounds the retries when someone keeps replacing it. */
#define BOX_LOCK_TRIES 100

int box_same_file(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int box_lock_path(const char *path, int create, int *fdp)
{
	for (int i = 0; i < BOX_LOCK_TRIES; i++) {
		int fd = box_open(path, create ? O_RDONLY | O_CREAT : O_RDONLY, 0644);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			box_close(fd);
			return -1;
		}
		if (box_same_file(fd, path)) {
			*fdp = fd;
			return 0;
		}
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

pid_t box_pid_read(int fd)
{
	char line[32];
	ssize_t n;
	long long pid;

	do
		n = pread(fd, line, sizeof(line) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;
	if (box_parse_ll(line, 1, 0x7fffffff, &pid) != BOX_PARSE_OK)
		return 0;
	return (pid_t)pid;
}

int box_pidfile_prepare(struct box_pidfile *pf, const char *path)
{
	pf->path = box_xstrdup(path);
	pf->tmp = box_xasprintf("%s.XXXXXX", path);
	pf->oldfd = pf->fd = -1;
	pf->wfd = mkostemp(pf->tmp, O_CLOEXEC);
	if (pf->wfd < 0)
		return -1;
	/* the name is ours (mkostemp's O_EXCL): its inode proves it still is */
	struct stat a, b;
	pf->fd = box_open(pf->tmp, O_RDONLY | O_NOFOLLOW, 0);
	if (pf->fd < 0 || fstat(pf->fd, &a) < 0 || fstat(pf->wfd, &b) < 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		errno = EEXIST;
		goto fail;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) < 0 || fchmod(pf->wfd, 0644) < 0)
		goto fail;
	if (box_lock_path(path, 0, &pf->oldfd) < 0) {
		pf->oldfd = -1;
		if (errno != ENOENT)
			goto fail;
	}
	return 0;
fail:
	box_pidfile_abort(pf);
	return -1;
}

/* Puts tmp at path only if path does not exist: renameat2 with
 * RENAME_NOREPLACE where kernel and filesystem have it (the fd then shows
 * the pidfile's name in /proc), else link + unlink, else (no hard links)
 * a plain rename. */
static int box_move_noreplace(const char *tmp, const char *path)
{
#if defined(__linux__) && defined(SYS_renameat2)
	if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, 1 /* RENAME_NOREPLACE */) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -1;
#endif
	if (link(tmp, path) == 0) {
		unlink(tmp);
		return 0;
	}
	if (errno == EPERM || errno == EOPNOTSUPP)
		return rename(tmp, path);
	return -1;
}

int box_pidfile_commit(struct box_pidfile *pf, pid_t pid)
{
	char line[24];
	int n = snprintf(line, sizeof(line), "%d\n", (int)pid);

	if (pwrite(pf->wfd, line, (size_t)n, 0) != n)
		return -1;
	close(pf->wfd);
	pf->wfd = -1;
	for (int i = 0; i < BOX_LOCK_TRIES; i++) {
		if (pf->oldfd >= 0 && !box_same_file(pf->oldfd, pf->path)) {
			close(pf->oldfd);
			pf->oldfd = -1;
		}
		if (pf->oldfd >= 0)
			return rename(pf->tmp, pf->path);
		if (box_move_noreplace(pf->tmp, pf->path) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
		if (box_lock_path(pf->path, 0, &pf->oldfd) < 0 && errno != ENOENT)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}

void box_pidfile_abort(struct box_pidfile *pf)
{
	int err = errno;

	/* ours while we hold its lock: nobody else can have taken it */
	if (pf->fd >= 0 && box_same_file(pf->fd, pf->path))
		unlink(pf->path);
	else if (pf->fd >= 0 || pf->wfd >= 0)
		unlink(pf->tmp);
	box_close(pf->wfd);
	box_close(pf->fd);
	box_close(pf->oldfd);
	pf->wfd = pf->fd = pf->oldfd = -1;
	errno = err;
}

int box_pidfile_check(const char *path, pid_t *pid, int *fdp)
{
	*pid = 0;
	for (int i = 0; i < BOX_LOCK_TRIES; i++) {
		int fd = box_open(path, O_RDONLY, 0);
		if (fd < 0)
			return errno == ENOENT ? BOX_PIDFILE_ABSENT : -1;
		*pid = box_pid_read(fd);
		*fdp = fd;
		if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
			if (errno == EWOULDBLOCK)
				return BOX_PIDFILE_RUNNING;
			box_close(fd);
			return -1;
		}
		flock(fd, LOCK_UN);
		if (box_same_file(fd, path))
			return BOX_PIDFILE_STALE;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

int box_lock_holders(int fd, pid_t *pids, int max)
{
	struct stat want, st;
	struct dirent *p, *f;
	DIR *procs = opendir("/proc"), *fds;
	char path[64], info[2048];
	int n = 0;

	if (!procs)
		return 0;
	if (fstat(fd, &want) < 0)
		max = 0;
	while (n < max && (p = readdir(procs))) {
		pid_t pid = atoi(p->d_name);
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		if (pid <= 0 || !(fds = opendir(path)))
			continue;
		while ((f = readdir(fds))) {
			snprintf(path, sizeof(path), "/proc/%d/fd/%.16s", (int)pid, f->d_name);
			if (stat(path, &st) < 0 || st.st_ino != want.st_ino || st.st_dev != want.st_dev)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.16s", (int)pid, f->d_name);
			int info_fd = box_open(path, O_RDONLY, 0);
			ssize_t got = info_fd < 0 ? -1 : box_read_full(info_fd, info, sizeof(info) - 1);
			box_close(info_fd);
			if (got > 0 && (info[got] = 0, strstr(info, "\nlock:"))) {
				pids[n++] = pid;
				break;
			}
		}
		closedir(fds);
	}
	closedir(procs);
	return n;
}

static void box_lock_alarm(int sig)
{
	(void)sig;
}

int box_lock_wait(int fd, int64_t deadline_ns)
{
	struct sigaction sa = { 0 }, old;
	struct itimerval off = { 0 };
	sigset_t alrm, oldmask;
	int r;

	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return -1;
	/* no SA_RESTART: the timer must interrupt the blocking flock */
	sa.sa_handler = box_lock_alarm;
	sigemptyset(&sa.sa_mask);
	box_sigaction(SIGALRM, &sa, &old);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &alrm, &oldmask);
	for (;;) {
		int64_t left = deadline_ns < 0 ? 0 : deadline_ns - box_now_ns();
		if (deadline_ns >= 0 && left <= 0) {
			errno = ETIMEDOUT;
			r = -1;
			break;
		}
		if (deadline_ns >= 0) {
			/* the interval re-fires should the first expiry come
			 * before flock blocks */
			int64_t us = left / 1000 + 1;
			struct itimerval it = {
				.it_interval = { 0, 1000 },
				.it_value = { us / 1000000, us % 1000000 },
			};
			setitimer(ITIMER_REAL, &it, NULL);
		}
		r = flock(fd, LOCK_EX);
		int err = errno;
		setitimer(ITIMER_REAL, &off, NULL);
		errno = err;
		if (r == 0 || errno != EINTR)
			break;
	}
	int err = errno;
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	box_sigaction(SIGALRM, &old, NULL);
	errno = err;
	return r;
}
