/* timer's --cancel-if-missing watch (watch.c): is PATH still there? */
#ifndef TIMER_WATCH_H
#define TIMER_WATCH_H

struct timer_watch {
	const char *path;     /* NULL: nothing watched */
	int fd;               /* inotify on PATH's directory; -1: poll PATH */
};

/* Watches PATH's directory: PATH leaves it by deletion or rename, or the
 * directory itself goes. Without inotify, fd stays -1 and the caller
 * polls timer_watch_gone every TIMER_WATCH_POLL_NS. */
#define TIMER_WATCH_POLL_NS (100 * 1000000LL)
void timer_watch_open(struct timer_watch *w, const char *path);
/* Reads the pending events of fd (they only say "look again"). */
void timer_watch_drain(struct timer_watch *w);
/* 1 when PATH no longer exists. */
int timer_watch_gone(const struct timer_watch *w);

#endif
