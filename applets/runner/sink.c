/* runner's output capture: a job's stdout and stderr are read from their
 * pipes as they come and kept in memory, or in a temp file once a stream
 * passes SPILL_AT, until the job is printed. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* Output above this much per stream moves from memory to a temp file. */
#define SPILL_AT (1 << 20)

static int temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd;
#ifdef O_TMPFILE
	fd = box_open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
	if (fd >= 0)
		return fd;
#endif
	char *path = box_xasprintf("%s/runner.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd >= 0) {
		unlink(path);
		box_set_cloexec(fd, 1);
	}
	free(path);
	return fd;
}

void sink_reset(struct sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->spill >= 0)
		close(s->spill);
	s->fd = s->spill = -1;
	s->spill_full = 0;
	s->mem.len = 0;
	if (s->mem.p)
		s->mem.p[0] = 0;
	s->bytes = 0;
}

void sink_free(struct sink *s)
{
	sink_reset(s);
	box_buf_free(&s->mem);
}

void sink_add(struct runner *r, struct job *j, int which, const char *data, size_t n)
{
	struct sink *s = &j->out[which];
	int marker = which == 0 && j->sentinel_pending;

	s->bytes += n;
	if (s->spill >= 0 && !s->spill_full) {
		off_t at = lseek(s->spill, 0, SEEK_CUR);
		if (box_write_all(s->spill, data, n) >= 0)
			return;
		/* the file keeps what it has; the rest stays in memory */
		box_warn_errno("unable to write a temp file");
		if (at < 0 || ftruncate(s->spill, at) < 0)
			box_warn_errno("unable to truncate a temp file");
		s->spill_full = 1;
	}
	box_buf_add(&s->mem, data, n);
	if (marker)
		find_sentinel(r, j);
	if (r->json || j->sentinel_pending || s->spill >= 0 || s->spill_full ||
	    s->mem.len < SPILL_AT)
		return;
	s->spill = temp_file();
	if (s->spill >= 0 && box_write_all(s->spill, s->mem.p, s->mem.len) >= 0) {
		s->mem.len = 0;
		return;
	}
	/* no temp file: this job's output stays in memory */
	box_close(s->spill);
	s->spill = -1;
	s->spill_full = 1;
}

/* Reads what the pipe has now; returns 0 at EOF or error (fd closed). */
int sink_read(struct runner *r, struct job *j, int which)
{
	char chunk[65536];
	struct sink *s = &j->out[which];

	for (;;) {
		ssize_t n = box_read(s->fd, chunk, sizeof(chunk));
		if (n > 0) {
			sink_add(r, j, which, chunk, (size_t)n);
			if ((size_t)n < sizeof(chunk))
				return 1;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return 1;
		close(s->fd);
		s->fd = -1;
		return 0;
	}
}
