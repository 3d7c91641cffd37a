/* EINTR-safe reads and writes. */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

ssize_t box_read(int fd, void *buf, size_t n)
{
	ssize_t r;
	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t box_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = box_read(fd, (char *)buf + got, n - got);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

ssize_t box_write_all(int fd, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, (const char *)buf + done, n - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

int box_write_str(int fd, const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return box_write_all(fd, s, n) < 0 ? -1 : 0;
}

int box_read_fd_all(int fd, struct box_buf *out)
{
	char chunk[65536];
	for (;;) {
		ssize_t r = box_read(fd, chunk, sizeof(chunk));
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		box_buf_add(out, chunk, (size_t)r);
	}
	if (!out->p)
		box_buf_add(out, "", 0);
	return 0;
}

int box_read_file(const char *path, struct box_buf *out)
{
	int fd = box_open(path, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	int r = box_read_fd_all(fd, out);
	box_close(fd);
	return r;
}

void box_set_cloexec(int fd, int on)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl >= 0)
		fcntl(fd, F_SETFD, on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC);
}

void box_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

int box_open(const char *path, int flags, mode_t mode)
{
	int fd;
	do
		fd = open(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd;
}

void box_close(int fd)
{
	int err = errno;
	if (fd >= 0)
		close(fd);
	errno = err;
}
