/* runner's output capture: a job's stdout and stderr are read from their
 * pipes as they come and kept in memory; whenever a stream holds SPILL_AT
 * in memory, that much moves to the run's one spill file (unlinked,
 * O_TMPFILE where possible), so a job waiting to be printed holds no
 * descriptor and little memory, however many wait and however much they
 * printed. A printed job's pieces are punched out of the file, and the
 * file is emptied whenever nothing in it is still waiting. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* Output above this much per stream moves from memory to the spill file. */
#define SPILL_AT (1 << 20)

static int spill_fd = -1;	/* one per run: runner is one run per process */
static off_t spill_end;
static size_t spill_live;	/* pieces in it not yet printed */

static int temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = box_open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
	if (fd >= 0)
		return fd;
	char *path = box_xasprintf("%s/runner.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd >= 0) {
		unlink(path);
		box_set_cloexec(fd, 1);
	}
	free(path);
	return fd;
}

/* Moves what s holds in memory to the spill file; 0, or -1 (it stays). */
static int spill(struct sink *s)
{
	if (spill_fd < 0 && (spill_fd = temp_file()) < 0)
		return -1;
	for (size_t done = 0; done < s->mem.len;) {
		ssize_t n = pwrite(spill_fd, s->mem.p + done, s->mem.len - done, spill_end + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	*BOX_PUSH(s->seg, s->nseg, s->cseg) = (struct spill_seg){ spill_end, s->mem.len };
	spill_end += (off_t)s->mem.len;
	spill_live++;
	s->mem.len = 0;
	return 0;
}

/* Gives a printed stream's pieces back to the filesystem. */
static void unspill(struct sink *s)
{
	for (size_t i = 0; i < s->nseg; i++) {
		fallocate(spill_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			s->seg[i].off, (off_t)s->seg[i].len);
		spill_live--;
	}
	s->nseg = 0;
	if (spill_fd >= 0 && !spill_live && spill_end) {
		if (ftruncate(spill_fd, 0) == 0)
			spill_end = 0;
	}
}

void sink_reset(struct sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	unspill(s);
	s->spill_full = 0;
	s->mem.len = 0;
	if (s->mem.p)
		s->mem.p[0] = 0;
	s->bytes = 0;
}

void sink_free(struct sink *s)
{
	sink_reset(s);
	free(s->seg);
	s->seg = NULL;
	s->cseg = 0;
	box_buf_free(&s->mem);
}

/* Hands the stream to fn in order: its spilled pieces, then memory.
 * -1 when a piece could not be read back. */
int sink_each(const struct sink *s, sink_fn *fn, void *ctx)
{
	char chunk[65536];

	for (size_t i = 0; i < s->nseg; i++)
		for (size_t done = 0; done < s->seg[i].len;) {
			size_t want = s->seg[i].len - done;
			ssize_t n = pread(spill_fd, chunk, want < sizeof(chunk) ? want : sizeof(chunk),
				s->seg[i].off + (off_t)done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			fn(ctx, chunk, (size_t)n);
			done += (size_t)n;
		}
	if (s->mem.len)
		fn(ctx, s->mem.p, s->mem.len);
	return 0;
}

void sink_add(struct runner *r, struct job *j, int which, const char *data, size_t n)
{
	struct sink *s = &j->out[which];
	int marker = which == 0 && j->sentinel_pending;

	s->bytes += n;
	box_buf_add(&s->mem, data, n);
	if (marker)
		find_sentinel(r, j);
	if (j->sentinel_pending || s->spill_full || s->mem.len < SPILL_AT)
		return;
	if (spill(s) < 0) {
		/* no room for a spill file: this job's output stays in memory */
		box_warn_errno("unable to write a temp file; keeping output in memory");
		s->spill_full = 1;
	}
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
