/* Wrappers that succeed or end the applet with one line saying what could
 * not be done (toybox's xwrap contract), and small system helpers that
 * several applets need: the open-file limit and file modes. */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

int box_xopen(const char *path, int flags, mode_t mode)
{
	int fd = box_open(path, flags, mode);
	if (fd < 0)
		box_fatal_errno("unable to open %s", path);
	return fd;
}

int box_xopen_output(const char *path, int append)
{
	int fd = box_open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | (append ? O_APPEND : O_TRUNC), 0666);
	if (fd < 0 && errno == ELOOP)
		box_fatal("unable to open %s: it is a symbolic link", path);
	if (fd < 0)
		box_fatal_errno("unable to open %s", path);
	return fd;
}

void box_xpipe(int fd[2])
{
	if (pipe2(fd, O_CLOEXEC) < 0)
		box_fatal_errno("unable to create a pipe");
}

pid_t box_xfork(void)
{
	pid_t pid = fork();
	if (pid < 0)
		box_fatal_errno("unable to fork");
	return pid;
}

unsigned long box_raise_nofile(unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (!want || want > rl.rlim_max)
		want = rl.rlim_max;
	if (rl.rlim_cur < want) {
		rlim_t old = rl.rlim_cur;
		rl.rlim_cur = (rlim_t)want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			rl.rlim_cur = old;
	}
	return (unsigned long)rl.rlim_cur;
}

int box_parse_mode(const char *s, mode_t *out)
{
	mode_t m = 0;

	if (!*s)
		return BOX_PARSE_INVALID;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return BOX_PARSE_INVALID;
		m = m * 8 + (mode_t)(*s - '0');
		if (m > 07777)
			return BOX_PARSE_RANGE;
	}
	*out = m;
	return BOX_PARSE_OK;
}
