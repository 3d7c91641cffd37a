/* Watching paths for changes: inotify, and polling when inotify is missing
 * or out of watches, so a caller never misses a change, only learns of it
 * later. Each watched path carries the caller's name for it. */
#include "box.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define BOX_WATCH_CONTENT_MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | \
	IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)
#define BOX_WATCH_ARRIVALS_MASK (IN_CREATE | IN_MOVED_TO | IN_ATTRIB)

static void box_watch_forget(struct box_watch *w)
{
	for (size_t i = 0; i < w->nname; i++)
		free(w->name[i]);
	free(w->name);
	w->name = NULL;
	w->nname = 0;
}

/* From now on: a tick every interval instead of events. */
static void box_watch_poll(struct box_watch *w)
{
	if (w->fd >= 0)
		box_close(w->fd);
	w->fd = -1;
	w->polling = 1;
	w->next = -1;
	box_watch_forget(w);
}

int box_watch_open(struct box_watch *w, int64_t interval, int poll_only,
	box_watch_fn *fn, void *ctx)
{
	*w = (struct box_watch){ .fd = -1, .interval = interval, .next = -1,
		.fn = fn, .ctx = ctx };
	if (poll_only) {
		box_watch_poll(w);
		return 0;
	}
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd >= 0)
		return 0;
	int err = errno;
	box_watch_poll(w);
	errno = err;
	return -1;
}

int box_watch_add(struct box_watch *w, int fd, const char *path, const char *name, int what)
{
	uint32_t mask = (what & BOX_WATCH_CONTENT ? BOX_WATCH_CONTENT_MASK : 0) |
		(what & BOX_WATCH_ARRIVALS ? BOX_WATCH_ARRIVALS_MASK : 0) |
		(what & BOX_WATCH_DIR ? IN_ONLYDIR : 0);
	int wd = -1;

	if (w->polling)
		return 0;
	if (fd >= 0) {
		/* the held fd names the file exactly; its path may have changed */
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		wd = inotify_add_watch(w->fd, proc, mask);
	}
	if (fd < 0 || (wd < 0 && errno == ENOENT))
		wd = inotify_add_watch(w->fd, path, mask);
	if (wd < 0) {
		int err = errno;
		box_watch_poll(w);
		errno = err;
		return -1;
	}
	if ((size_t)wd >= w->nname) {
		size_t n = (size_t)wd + 64;
		w->name = box_xrealloc(w->name, n * sizeof(*w->name));
		memset(w->name + w->nname, 0, (n - w->nname) * sizeof(*w->name));
		w->nname = n;
	}
	free(w->name[wd]);
	w->name[wd] = box_xstrdup(name);
	return 0;
}

/* One event as the caller sees it; a path whose watch ended is forgotten
 * after it was reported. */
static void box_watch_event(struct box_watch *w, const struct inotify_event *e)
{
	int known = e->wd >= 0 && (size_t)e->wd < w->nname && w->name[e->wd];
	const char *name = known ? w->name[e->wd] : NULL;

	if (e->mask & IN_Q_OVERFLOW)
		w->fn(w->ctx, BOX_WATCH_RESCAN, NULL);
	else if (e->mask & (IN_DELETE_SELF | IN_UNMOUNT | IN_IGNORED))
		w->fn(w->ctx, BOX_WATCH_GONE, name);
	else if (e->mask & IN_MOVE_SELF)
		w->fn(w->ctx, BOX_WATCH_MOVED, name);
	else
		w->fn(w->ctx, BOX_WATCH_CHANGED, name);
	if (known && (e->mask & IN_IGNORED)) {
		free(w->name[e->wd]);
		w->name[e->wd] = NULL;
	}
}

size_t box_watch_read(struct box_watch *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t events = 0;

	for (;;) {
		ssize_t n = w->fd < 0 ? 0 : read(w->fd, buf, sizeof(buf));
		if (n <= 0)
			return events;
		for (char *p = buf; p < buf + n; events++) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			p += sizeof(*e) + e->len;
			box_watch_event(w, e);
		}
	}
}

static void box_watch_ready(void *ctx, int fd, short revents)
{
	(void)fd;
	if (revents & POLLIN)
		box_watch_read(ctx);
}

void box_watch_turn(struct box_watch *w, struct box_loop *l)
{
	if (w->polling) {
		if (w->next < 0)
			w->next = box_now_ns() + w->interval;
		box_loop_deadline(l, w->next);
	} else {
		box_loop_fd(l, w->fd, POLLIN, box_watch_ready, w);
	}
}

int box_watch_due(struct box_watch *w)
{
	if (!w->polling || w->next < 0 || box_now_ns() < w->next)
		return 0;
	w->next = -1;
	return 1;
}

void box_watch_close(struct box_watch *w)
{
	if (w->fd >= 0)
		box_close(w->fd);
	w->fd = -1;
	box_watch_forget(w);
}
