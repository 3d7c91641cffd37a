/* supervise: log files that rotate by size, and the daemon's own log. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

struct logw main_log = { .fd = -1 };
int main_log_stderr;
void (*mlog_hook)(const char *p, size_t n);

void logw_reopen(struct logw *w)
{
	struct stat st;
	box_close(w->fd);
	w->fd = box_open(w->path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	w->size = w->fd >= 0 && fstat(w->fd, &st) == 0 ? st.st_size : 0;
}

void logw_open(struct logw *w, const char *path, long long maxbytes, int backups)
{
	w->path = box_xstrdup(path);
	w->fd = -1;
	w->maxbytes = maxbytes;
	w->backups = backups;
	w->dropped = 0;
	logw_reopen(w);
	if (w->fd < 0)
		mlog("WARN", "unable to open log file %s: %s", path, strerror(errno));
}

void logw_close(struct logw *w)
{
	box_close(w->fd);
	w->fd = -1;
	free(w->path);
	w->path = NULL;
}

/* path.N-1 -> path.N ... path -> path.1; with no backups, start over. */
static void logw_rotate(struct logw *w)
{
	if (w->backups > 0) {
		for (int i = w->backups; i > 0; i--) {
			char *from = i > 1 ? box_xasprintf("%s.%d", w->path, i - 1) : box_xstrdup(w->path);
			char *to = box_xasprintf("%s.%d", w->path, i);
			rename(from, to);
			free(from);
			free(to);
		}
		logw_reopen(w);
	} else if (w->fd >= 0 && ftruncate(w->fd, 0) == 0) {
		w->size = 0;
	}
}

/* A slow or full disk costs data, never the program's progress: what cannot
 * be written is dropped and counted. */
void logw_write(struct logw *w, const char *p, size_t n)
{
	while (n && w->fd >= 0) {
		size_t chunk = n;
		if (w->maxbytes > 0) {
			if (w->size >= w->maxbytes) {
				logw_rotate(w);
				if (w->fd < 0)
					break;
			}
			if ((long long)chunk > w->maxbytes - w->size)
				chunk = (size_t)(w->maxbytes - w->size);
		}
		ssize_t r = write(w->fd, p, chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		w->size += r;
		p += r;
		n -= (size_t)r;
	}
	w->dropped += n;
}

void mlog(const char *level, const char *fmt, ...)
{
	char line[1200];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(line, 64, "%Y-%m-%d %H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, 64, ",%03d %s ", (int)(tv.tv_usec / 1000), level);
	va_start(ap, fmt);
	int r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	line[n++] = '\n';
	if (main_log.fd >= 0)
		logw_write(&main_log, line, n);
	if (main_log_stderr)
		box_write_all(2, line, n);
	if (mlog_hook)
		mlog_hook(line, n);
}
