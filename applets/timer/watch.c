/* timer's --cancel-if-missing: an inotify watch on PATH's directory, or
 * polling PATH where inotify is missing. Kept apart from the schedule so
 * a shared watch can replace it without touching timer.c. */
#include "watch.h"
#include "../../libbox/box.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>

void timer_watch_open(struct timer_watch *w, const char *path)
{
	char *dir = box_xdirname(path);

	w->path = path;
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->fd >= 0 && inotify_add_watch(w->fd, dir, IN_DELETE | IN_MOVED_FROM |
			IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_ONLYDIR) < 0) {
		box_close(w->fd);
		w->fd = -1;
	}
	free(dir);
}

void timer_watch_drain(struct timer_watch *w)
{
	char buf[4096];
	while (box_read(w->fd, buf, sizeof(buf)) > 0)
		;
}

int timer_watch_gone(const struct timer_watch *w)
{
	struct stat st;
	return w->path && lstat(w->path, &st) < 0 && errno == ENOENT;
}
