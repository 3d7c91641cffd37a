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
	for (size_t i = 0; i < w->nslot; i++)
		free(w->slot[i].name);
	free(w->slot);
	w->slot = NULL;
	w->nslot = w->used = 0;
}

/* The slot of wd, or the free slot where it would go. */
static struct box_watch_slot *box_watch_slot(const struct box_watch *w, int wd)
{
	size_t i = ((size_t)wd * 2654435761u) & (w->nslot - 1);
	while (w->slot[i].wd != -1 && w->slot[i].wd != wd)
		i = (i + 1) & (w->nslot - 1);
	return &w->slot[i];
}

static void box_watch_put(struct box_watch *w, int wd, char *name)
{
	if ((w->used + 1) * 2 > w->nslot) {
		struct box_watch_slot *old = w->slot;
		size_t n = w->nslot;
		w->nslot = n ? n * 2 : 64;
		w->slot = box_xmalloc(w->nslot * sizeof(*w->slot));
		for (size_t i = 0; i < w->nslot; i++)
			w->slot[i] = (struct box_watch_slot){ -1, NULL };
		for (size_t i = 0; i < n; i++)
			if (old[i].wd != -1)
				*box_watch_slot(w, old[i].wd) = old[i];
		free(old);
	}
	struct box_watch_slot *s = box_watch_slot(w, wd);
	if (s->wd == -1)
		w->used++;
	else
		free(s->name);
	*s = (struct box_watch_slot){ wd, name };
}

/* Removes wd's slot, moving later ones of its run back (no tombstones). */
static void box_watch_drop(struct box_watch *w, struct box_watch_slot *s)
{
	size_t mask = w->nslot - 1, i = (size_t)(s - w->slot), j = i;

	free(s->name);
	w->used--;
	for (;;) {
		w->slot[i] = (struct box_watch_slot){ -1, NULL };
		for (;;) {
			j = (j + 1) & mask;
			if (w->slot[j].wd == -1)
				return;
			size_t home = ((size_t)w->slot[j].wd * 2654435761u) & mask;
			/* may slot j move back to i? only if home is not in (i, j] */
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		w->slot[i] = w->slot[j];
		i = j;
	}
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
	box_watch_put(w, wd, box_xstrdup(name));
	return 0;
}

/* One event as the caller sees it; a path whose watch ended is forgotten
 * after it was reported. */
static void box_watch_event(struct box_watch *w, const struct inotify_event *e)
{
	struct box_watch_slot *s = w->nslot ? box_watch_slot(w, e->wd) : NULL;
	const char *name = s && s->wd != -1 ? s->name : NULL;
	const char *child = e->len ? e->name : NULL;

	if (e->mask & IN_Q_OVERFLOW)
		w->fn(w->ctx, BOX_WATCH_RESCAN, NULL, NULL);
	else if (e->mask & (IN_DELETE_SELF | IN_UNMOUNT | IN_IGNORED))
		w->fn(w->ctx, BOX_WATCH_GONE, name, NULL);
	else if (e->mask & IN_MOVE_SELF)
		w->fn(w->ctx, BOX_WATCH_MOVED, name, NULL);
	else if (e->mask & (IN_DELETE | IN_MOVED_FROM))
		w->fn(w->ctx, BOX_WATCH_REMOVED, name, child);
	else if ((e->mask & IN_ISDIR) && (e->mask & (IN_CREATE | IN_MOVED_TO)))
		w->fn(w->ctx, BOX_WATCH_NEWDIR, name, child);
	else
		w->fn(w->ctx, BOX_WATCH_CHANGED, name, child);
	if (name && (e->mask & IN_IGNORED))
		box_watch_drop(w, s);
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
