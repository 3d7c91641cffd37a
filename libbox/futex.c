/* Waiting between threads on futexes: a lock and a condition, and the
 * bare wait and wake under them. What supervise's log writer and
 * dirsync's reader need, without the C library's pthread locks and
 * condition variables (their attributes, robustness and cancellation,
 * about 3 KiB in a static binary). */
#include "box.h"

#include <errno.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

/* futex(2) operations (no kernel headers with every C library) */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

int box_futex_wait(int *word, int val, int64_t timeout)
{
	struct timespec ts = { (time_t)(timeout / BOX_NSEC), (long)(timeout % BOX_NSEC) };
	if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, timeout >= 0 ? &ts : NULL, NULL, 0) < 0)
		return errno == ETIMEDOUT ? -1 : 0;
	return 0;
}

void box_futex_wake(int *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* 0 free, 1 held, 2 held with waiters (Drepper, "Futexes Are Tricky"). */
void box_lock(int *l)
{
	int c = 0;
	if (__atomic_compare_exchange_n(l, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	if (c != 2)
		c = __atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE);
	while (c) {
		box_futex_wait(l, 2, -1);
		c = __atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE);
	}
}

void box_unlock(int *l)
{
	if (__atomic_exchange_n(l, 0, __ATOMIC_RELEASE) == 2)
		box_futex_wake(l, 1);
}

/* A condition is a counter of wake-ups: a waiter sleeps while it has not
 * moved since it let the lock go. */
int box_cond_wait(int *cond, int *l, int64_t timeout)
{
	int seq = __atomic_load_n(cond, __ATOMIC_SEQ_CST), r;
	box_unlock(l);
	r = box_futex_wait(cond, seq, timeout);
	box_lock(l);
	return r;
}

void box_cond_wake(int *cond, int all)
{
	__atomic_add_fetch(cond, 1, __ATOMIC_SEQ_CST);
	box_futex_wake(cond, all ? 0x7fffffff : 1);
}
