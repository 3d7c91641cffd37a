/* supervise: log files that rotate by size, and the daemon's own log.
 *
 * A program's output must never wait for a disk. The event loop only
 * queues bytes, up to LOG_QUEUE_MAX per file (what does not fit is dropped
 * and counted), and one writer thread makes every open, write, rename and
 * close. A disk that stalls (a hung NFS or FUSE mount, a dying drive)
 * stalls the writer alone: the loop keeps reading the programs' pipes and
 * answering clients. The writer's complaints come back through a pipe and
 * are logged by the loop, which owns everything else.
 *
 * Logs are often written as root in directories others can write to,
 * like /tmp: a file is never opened through a symbolic link another user
 * made, nor appended to when someone else owns it or it has other names. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_QUEUE_MAX (1 << 20)

struct logfile {
	/* set when made, then the writer's alone */
	char *path;
	long long maxbytes, size;
	int backups, fd;
	int failing;                /* a write failed: said once until one works */
	/* under log_lock */
	struct box_buf q;           /* bytes waiting for the writer */
	unsigned long long dropped;
	int opened;                 /* an open was tried */
	int reopen, closing;
	struct logfile *next;
};

struct logw main_log;
int main_log_stderr;
void (*mlog_hook)(const char *p, size_t n);

static int log_lock, log_work, log_idle;	/* libbox's futex lock and conditions */
static struct logfile *log_files;
static int log_started, log_busy;
static int log_kick;             /* queued bytes the writer was not told of */
static int log_notes[2] = { -1, -1 };   /* writer -> loop */

/* ---- the writer thread -------------------------------------------------- */

static void note(const char *fmt, ...) BOX_PRINTF(1, 2);
static void note(const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* one write, below PIPE_BUF: whole or not at all (a full pipe drops it) */
	(void)!write(log_notes[1], line, (size_t)n);
}

/* Why an AUTO log's directory cannot be used: it is made 0700, and must
 * stay ours and closed to others' writes. NULL when it can, or the log is
 * not an AUTO one. */
static const char *auto_dir_refused(const char *path)
{
	struct stat st;
	char *dir = box_xstrdup(path), *slash = strrchr(dir, '/');
	const char *why = NULL;

	if (slash && (*slash = 0, !strcmp(box_basename(dir), LOG_AUTO_DIR))) {
		mkdir(dir, 0700);
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    st.st_mode & 022)
			why = "its directory is not supervise's own";
	}
	free(dir);
	return why;
}

/* A symbolic link of root's or ours (/dev/stdout) is followed; a regular
 * file must be ours alone. */
static void file_open(struct logfile *f)
{
	struct stat st;
	const char *why = auto_dir_refused(f->path);
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW;

	box_close(f->fd);
	f->fd = -1;
	if (lstat(f->path, &st) == 0 && S_ISLNK(st.st_mode) && (!st.st_uid || st.st_uid == geteuid()))
		flags &= ~O_NOFOLLOW;
	if (!why && (f->fd = box_open(f->path, flags, 0644)) < 0)
		why = errno == ELOOP ? "it is a symbolic link of another user" : strerror(errno);
	if (f->fd >= 0 && fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_uid != geteuid() || st.st_nlink > 1)) {
		why = "it belongs to another user or has other names";
		box_close(f->fd);
		f->fd = -1;
	}
	if (why)
		note("unable to open log file %s: %s", f->path, why);
	else
		box_set_nonblock(f->fd, 0);   /* a FIFO without a reader did not hang the open */
	f->size = f->fd >= 0 ? st.st_size : 0;
}

/* path.N-1 -> path.N ... path -> path.1; with no backups, start over. */
static void file_rotate(struct logfile *f)
{
	if (f->backups > 0) {
		for (int i = f->backups; i > 0; i--) {
			char *from = i > 1 ? box_xasprintf("%s.%d", f->path, i - 1) : box_xstrdup(f->path);
			char *to = box_xasprintf("%s.%d", f->path, i);
			rename(from, to);
			free(from);
			free(to);
		}
		file_open(f);
	} else if (f->fd >= 0 && ftruncate(f->fd, 0) == 0) {
		f->size = 0;
	}
}

/* Returns how many bytes could not be written (a full or failing disk). */
static size_t file_write(struct logfile *f, const char *p, size_t n)
{
	while (n && f->fd >= 0) {
		size_t chunk = n;
		if (f->maxbytes > 0) {
			if (f->size >= f->maxbytes) {
				file_rotate(f);
				if (f->fd < 0)
					break;
			}
			if ((long long)chunk > f->maxbytes - f->size)
				chunk = (size_t)(f->maxbytes - f->size);
		}
		ssize_t r = write(f->fd, p, chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && !f->failing)
			note("unable to write log file %s: %s", f->path, strerror(errno));
		f->failing = r < 0;
		if (r <= 0)
			break;
		f->size += r;
		p += r;
		n -= (size_t)r;
	}
	return n;
}

static int has_work(const struct logfile *f)
{
	return f->q.len || !f->opened || f->reopen || f->closing;
}

/* One file's turn: called and returns with log_lock held; the file I/O is
 * done without it. Returns the file's successor in the list. */
static struct logfile *serve(struct logfile *f)
{
	struct box_buf q = f->q;
	int open = !f->opened || f->reopen, closing = f->closing;

	memset(&f->q, 0, sizeof(f->q));
	f->opened = 1;
	f->reopen = 0;
	box_unlock(&log_lock);

	if (open)
		file_open(f);
	size_t lost = file_write(f, q.p, q.len);
	box_buf_free(&q);

	box_lock(&log_lock);
	f->dropped += lost;
	struct logfile *next = f->next;
	if (closing && !f->q.len) {
		struct logfile **pp = &log_files;
		while (*pp != f)
			pp = &(*pp)->next;
		*pp = f->next;
		box_close(f->fd);
		box_buf_free(&f->q);
		free(f->path);
		free(f);
	}
	return next;
}

static void *writer(void *arg)
{
	(void)arg;
	box_lock(&log_lock);
	for (;;) {
		int worked = 0;
		/* one turn per file and pass, so a chatty program cannot starve
		 * the others; files are only ever freed here */
		for (struct logfile *f = log_files, *next; f; f = next) {
			if (has_work(f)) {
				worked = 1;
				next = serve(f);
			} else {
				next = f->next;
			}
		}
		if (worked)
			continue;
		log_busy = 0;
		box_cond_wake(&log_idle, 1);
		box_cond_wait(&log_work, &log_lock, -1);
		log_busy = 1;
	}
	return NULL;
}

/* The writer, started with the first log. Every signal stays blocked in
 * it: the daemon receives them through its signal fd, in the loop. */
static void log_start(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;

	if (log_started)
		return;
	if (pipe2(log_notes, O_CLOEXEC | O_NONBLOCK) < 0)
		box_fatal_errno("unable to create a pipe");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	log_busy = 1;	/* until the writer first finds nothing to do */
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = pthread_create(&t, &attr, writer, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err)
		box_fatal("unable to start the log writer: %s", strerror(err));
	log_started = 1;
}

/* ---- the event loop's side ---------------------------------------------- */

void logw_open(struct logw *w, const char *path, long long maxbytes, int backups)
{
	struct logfile *f = box_xcalloc(1, sizeof(*f));

	log_start();
	f->path = box_xstrdup(path);
	f->maxbytes = maxbytes;
	f->backups = backups;
	f->fd = -1;
	w->path = box_xstrdup(path);
	w->f = f;
	box_lock(&log_lock);
	f->next = log_files;
	log_files = f;
	box_cond_wake(&log_work, 0);
	box_unlock(&log_lock);
}

void logw_write(struct logw *w, const char *p, size_t n)
{
	struct logfile *f = w->f;

	if (!f || !n)
		return;
	box_lock(&log_lock);
	size_t room = LOG_QUEUE_MAX - f->q.len, take = n < room ? n : room;
	if (take)
		box_buf_add(&f->q, p, take);
	f->dropped += n - take;
	/* the writer is woken by logw_kick, after the loop's urgent work (a
	 * respawn), unless the queue is filling up */
	if (f->q.len > LOG_QUEUE_MAX / 2)
		box_cond_wake(&log_work, 0);
	else
		log_kick = 1;
	box_unlock(&log_lock);
}

void logw_kick(void)
{
	if (!log_kick)
		return;
	box_lock(&log_lock);
	log_kick = 0;
	box_cond_wake(&log_work, 0);
	box_unlock(&log_lock);
}

void logw_reopen(struct logw *w)
{
	if (!w->f)
		return;
	box_lock(&log_lock);
	w->f->reopen = 1;
	box_cond_wake(&log_work, 0);
	box_unlock(&log_lock);
}

/* The writer finishes what is queued, then closes and frees the file. */
void logw_close(struct logw *w)
{
	if (w->f) {
		box_lock(&log_lock);
		w->f->closing = 1;
		box_cond_wake(&log_work, 0);
		box_unlock(&log_lock);
	}
	w->f = NULL;
	free(w->path);
	w->path = NULL;
}

unsigned long long logw_dropped(const struct logw *w)
{
	unsigned long long n = 0;

	if (w->f) {
		box_lock(&log_lock);
		n = w->f->dropped;
		box_unlock(&log_lock);
	}
	return n;
}

int logw_flush(int64_t wait_ns)
{
	int64_t end = box_now_ns() + wait_ns;
	int idle = 1;

	if (!log_started)
		return 0;
	box_lock(&log_lock);
	log_kick = 0;
	box_cond_wake(&log_work, 0);
	for (;;) {
		idle = !log_busy;
		for (struct logfile *f = log_files; f && idle; f = f->next)
			idle = !has_work(f);
		int64_t left = end - box_now_ns();
		if (idle || left <= 0 || box_cond_wait(&log_idle, &log_lock, left) < 0)
			break;
	}
	box_unlock(&log_lock);
	return idle ? 0 : -1;
}

int logw_notes_fd(void)
{
	return log_notes[0];
}

void logw_notes_read(void)
{
	char buf[4096];
	ssize_t r;

	while ((r = box_read(log_notes[0], buf, sizeof(buf) - 1)) > 0) {
		buf[r] = 0;
		for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = 0;
			mlog("WARN", "%s", line);
		}
	}
}

void mlog(const char *level, const char *fmt, ...)
{
	char line[1200];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	/* strftime would bring 3 KB of libc for this one format */
	size_t n = (size_t)snprintf(line, 128, "%04d-%02d-%02d %02d:%02d:%02d,%03d %s ",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		(int)(tv.tv_usec / 1000), level);
	va_start(ap, fmt);
	int r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	line[n++] = '\n';
	logw_write(&main_log, line, n);
	if (main_log_stderr)
		box_write_all(2, line, n);
	if (mlog_hook)
		mlog_hook(line, n);
}
