/* dirsync: the two sides of a directory read at once, on two threads.
 *
 * Comparing a tree costs an lstat of every name on both sides (and with
 * -X/-A a listxattr and a getxattr per attribute on both sides); an
 * unchanged tree is nothing else. The walk reads a directory in windows
 * of entries: SRC's names of a window on this thread, DST's on a worker
 * thread at the same time (as rsync's sender and receiver do in two
 * processes), then it compares and syncs the window.
 *
 * The worker only reads, and only between the hand-over and the join:
 * the walk changes nothing in DST meanwhile. A window with few entries
 * is read on this thread alone: handing it over would cost more than it
 * saves. */
#include "dirsync.h"

#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

/* Below this many entries on DST's side, a window is read here alone. */
#define WORKER_MIN 16
/* DST's side is taken in chunks of this many entries, by the worker and,
 * once it has read SRC's side, by the walk too: a worker that is slow to
 * wake costs nothing, and the walk waits for one chunk at most. */
#define CHUNK 16
/* How long a thread spins before sleeping, in loads of a shared word:
 * some hundreds of microseconds, about what the walk does between two
 * windows (a wake-up from sleep costs as much again on a virtual CPU). */
#define SPIN 300000

static struct {
	int started, failed;
	pthread_t thread;
	/* the job, written before claim and gen move on */
	int fd;
	char **names;
	unsigned kinds;
	struct ds_read *res;
	/* the job's number (32 bits), the next entry to take (16) and the
	 * number of entries (16: a window is smaller) */
	uint64_t claim;
	/* futex words */
	int gen;		/* the job's number: the worker sleeps on it */
	int asleep;		/* ...and says so */
	int done;		/* entries of the job read: the walk waits on it */
	int waiting;		/* ...and says so */
} P;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

/* Sleeps while *word is val, saying so in *flag; after a spin. */
static void await(int *word, int val, int *flag)
{
	for (int spin = SPIN; LOAD(*word) == val; spin--) {
		if (spin > 0)
			continue;
		STORE(*flag, 1);
		if (LOAD(*word) == val)
			box_futex_wait(word, val, -1);
		STORE(*flag, 0);
	}
}

void ds_read_entries(int fd, char **names, size_t n, unsigned kinds, struct ds_read *r)
{
	for (size_t k = 0; k < n; k++, r++) {
		r->have = fstatat(fd, names[k], &r->st, AT_SYMLINK_NOFOLLOW) == 0;
		r->err = r->have ? 0 : errno;
		/* what ds_xattr_changes compares, by name */
		r->xa_ok = r->have && r->want_xa && kinds && !S_ISDIR(r->st.st_mode) &&
			ds_xattrs_reread(&r->xa, fd, names[k], kinds) == 0;
	}
}

/* Reads chunks of job g while there are any. A chunk taken is a job not
 * finished: the walk waits for it, so the job's fields stay. */
static void help(uint32_t g)
{
	uint64_t v = LOAD(P.claim);
	for (;;) {
		unsigned next = (unsigned)(v >> 16) & 0xffff, n = (unsigned)v & 0xffff, m;
		if ((uint32_t)(v >> 32) != g || next >= n)
			return;
		m = n - next < CHUNK ? n - next : CHUNK;
		if (!__atomic_compare_exchange_n(&P.claim, &v, v + ((uint64_t)m << 16), 0,
		    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			continue;	/* v is the new value */
		ds_read_entries(P.fd, P.names + next, m, P.kinds, P.res + next);
		if (__atomic_add_fetch(&P.done, (int)m, __ATOMIC_SEQ_CST) == (int)n && LOAD(P.waiting))
			box_futex_wake(&P.done, 1);
		v = LOAD(P.claim);
	}
}

static void *worker(void *arg)
{
	int seen = 0;
	(void)arg;
	for (;;) {
		await(&P.gen, seen, &P.asleep);
		seen = LOAD(P.gen);
		help((uint32_t)seen);
	}
	return NULL;
}

static int start_worker(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int r;

	if (P.started || P.failed)
		return P.started;
	ds_xattrs_probe();	/* the one thing both threads would set */
	/* signals stay the walk's: ds_check_signal reads them there */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	r = pthread_create(&P.thread, &attr, worker, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		P.failed = 1;	/* the walk reads both sides */
	else
		P.started = 1;
	return P.started;
}

void ds_read_both(struct ds *d, int sfd, char **sn, size_t ns, struct ds_read *sr,
	int dfd, char **dn, size_t nd, struct ds_read *dr)
{
	unsigned skinds = d->xattrs ? d->xattrs | XA_SOURCE : 0;
	int g, n = (int)nd;

	if (nd < WORKER_MIN || nd > 0xffff || !start_worker()) {
		ds_read_entries(sfd, sn, ns, skinds, sr);
		ds_read_entries(dfd, dn, nd, d->xattrs, dr);
		return;
	}
	P.fd = dfd;
	P.names = dn;
	P.kinds = d->xattrs;
	P.res = dr;
	STORE(P.done, 0);
	g = (int)((unsigned)LOAD(P.gen) + 1);
	STORE(P.claim, (uint64_t)(uint32_t)g << 32 | (uint64_t)nd);
	STORE(P.gen, g);
	if (LOAD(P.asleep))
		box_futex_wake(&P.gen, 1);
	ds_read_entries(sfd, sn, ns, skinds, sr);
	help((uint32_t)g);
	for (int v; (v = LOAD(P.done)) != n;)
		await(&P.done, v, &P.waiting);
}
