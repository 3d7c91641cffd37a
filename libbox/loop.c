/* The event loop: one poll per turn over the fds the applet adds, woken
 * by the nearest deadline, then each ready fd's handler in the order the
 * fds were added. The loop is rebuilt every turn (begin, add, wait), so an
 * applet's state is the only truth about what it waits for, as in
 * s6-supervise; a handler that ends something another slot of the same
 * turn points to marks it, and the applet frees it after the turn. */
#include "box.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>

int64_t box_earliest(int64_t a, int64_t b)
{
	return a < 0 ? b : b < 0 || a < b ? a : b;
}

void box_sigset(sigset_t *set, ...)
{
	va_list ap;
	int sig;

	sigemptyset(set);
	va_start(ap, set);
	while ((sig = va_arg(ap, int)) > 0)
		sigaddset(set, sig);
	va_end(ap);
}

void box_loop_begin(struct box_loop *l)
{
	l->n = 0;
	l->deadline = -1;
}

void box_loop_fd(struct box_loop *l, int fd, short events, box_loop_fn *fn, void *ctx)
{
	if (fd < 0)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->pfd = box_xrealloc(l->pfd, l->cap * sizeof(*l->pfd));
		l->slot = box_xrealloc(l->slot, l->cap * sizeof(*l->slot));
	}
	l->pfd[l->n] = (struct pollfd){ .fd = fd, .events = events };
	l->slot[l->n++] = (struct box_loop_slot){ fn, ctx };
}

void box_loop_deadline(struct box_loop *l, int64_t t)
{
	l->deadline = box_earliest(l->deadline, t);
}

/* Every pending signal, one call each, then back to poll. */
static void box_loop_drain_signals(void *ctx, int fd, short revents)
{
	struct box_loop *l = ctx;
	int sig;

	(void)revents;
	while ((sig = box_sigfd_next(fd, &l->sig_by_kernel)) > 0)
		l->on_signal(l->sigctx, sig);
}

void box_loop_signals(struct box_loop *l)
{
	box_loop_fd(l, l->sigfd, POLLIN, box_loop_drain_signals, l);
}

void box_loop_open_signals(struct box_loop *l, const sigset_t *set,
	void (*fn)(void *ctx, int sig), void *ctx)
{
	l->sigfd = box_sigfd_open(set);
	if (l->sigfd < 0)
		box_fatal_errno("unable to receive signals");
	l->on_signal = fn;
	l->sigctx = ctx;
}

int box_loop_wait(struct box_loop *l)
{
	int r = box_poll_until(l->pfd, l->n, l->deadline);

	if (r < 0)
		box_fatal_errno("unable to poll");
	for (size_t i = 0; i < l->n; i++)
		if (l->pfd[i].revents && l->slot[i].fn)
			l->slot[i].fn(l->slot[i].ctx, l->pfd[i].fd, l->pfd[i].revents);
	return r;
}

void box_loop_free(struct box_loop *l)
{
	free(l->pfd);
	free(l->slot);
	l->pfd = NULL;
	l->slot = NULL;
	l->n = l->cap = 0;
}
