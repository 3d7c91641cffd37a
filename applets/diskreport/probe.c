/* diskreport's prober: every stat, realpath and statvfs runs in a forked
 * child that answers through shared memory, so a mount that stops
 * answering (dead NFS server, stopped FUSE daemon) costs at most the
 * timeout and is reported instead of hanging the report. */
#include "diskreport.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* The child writes each answer into memory shared with the parent and
 * publishes its progress; the parent sleeps until the child exits or the
 * item in progress has run for the timeout: one wakeup in the usual case. */
struct probe_answer {
	int32_t stat_err, vfs_err, real_err;
	uint64_t st_dev;
	uint32_t st_mode;
	struct fsu fsu;
};

/* Followed by the answers, then PATH_MAX bytes per item for realpath
 * when some item wants one. */
struct probe_shared {
	uint32_t next;            /* items before it are answered */
	int64_t started_ns;       /* when the item `next` was started, or later */
	struct probe_answer ans[];
};

static char *probe_real(struct probe_shared *sh, size_t n, size_t i)
{
	return (char *)&sh->ans[n] + i * PATH_MAX;
}

static void probe_one(const struct probe *p, struct probe_answer *a, char *real_buf)
{
	struct stat st;
	struct statvfs vfs;

	memset(a, 0, sizeof(*a));
	if (p->stat_path) {
		if (stat(p->stat_path, &st) == 0) {
			a->st_dev = st.st_dev;
			a->st_mode = st.st_mode;
		} else {
			a->stat_err = errno;
		}
	}
	if (p->want_real) {
		char *real = realpath(p->stat_path, NULL);
		if (!real)
			a->real_err = errno;
		else if (strlen(real) >= PATH_MAX)
			a->real_err = ENAMETOOLONG;
		else
			strcpy(real_buf, real);
		free(real);
	}
	if (p->vfs_path) {
		if (statvfs(p->vfs_path, &vfs) == 0) {
			a->fsu.bsize = vfs.f_frsize ? vfs.f_frsize : vfs.f_bsize;
			a->fsu.blocks = vfs.f_blocks;
			a->fsu.bfree = vfs.f_bfree;
			a->fsu.bavail = vfs.f_bavail;
			a->fsu.bavail_neg = (uint64_t)vfs.f_bavail >> 63;
			a->fsu.files = vfs.f_files;
			a->fsu.ffree = vfs.f_ffree;
		} else {
			a->vfs_err = errno;
		}
	}
}

static void probe_child(const struct probe *items, size_t n, struct probe_shared *sh)
{
	for (size_t i = __atomic_load_n(&sh->next, __ATOMIC_ACQUIRE); i < n; i++) {
		probe_one(&items[i], &sh->ans[i], probe_real(sh, n, i));
		/* the next item's start before the progress, so the parent
		 * never pairs new progress with an old start time */
		__atomic_store_n(&sh->started_ns, box_now_ns(), __ATOMIC_RELAXED);
		__atomic_store_n(&sh->next, (uint32_t)(i + 1), __ATOMIC_RELEASE);
	}
	_exit(0);
}

static void take_answer(struct probe *p, const struct probe_answer *a, const char *real)
{
	p->stat_err = a->stat_err;
	p->vfs_err = a->vfs_err;
	p->real_err = a->real_err;
	p->st_dev = (dev_t)a->st_dev;
	p->st_mode = a->st_mode;
	p->fsu = a->fsu;
	if (p->want_real && !a->real_err)
		p->real = box_xstrdup(real);
}

/* A child that takes longer than the timeout on one item is killed (and
 * not waited for: it may be in uninterruptible sleep); a new one carries
 * on after the stuck item. */
void probe_all(struct probe *items, size_t n, int64_t timeout)
{
	size_t size = sizeof(struct probe_shared) + n * sizeof(struct probe_answer);
	for (size_t i = 0; i < n; i++)
		if (items[i].want_real) {
			size += n * PATH_MAX;
			break;
		}
	struct probe_shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	size_t next = 0;

	if (sh == MAP_FAILED)
		box_fatal_errno("unable to map memory");
	while (next < n) {
		int fds[2];
		__atomic_store_n(&sh->next, (uint32_t)next, __ATOMIC_RELAXED);
		__atomic_store_n(&sh->started_ns, box_now_ns(), __ATOMIC_RELAXED);
		box_xpipe(fds);
		pid_t pid = box_xfork();
		if (pid == 0) {
			close(fds[0]);
			probe_child(items, n, sh);
		}
		close(fds[1]);
		/* the pipe's write end closes when the child exits */
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int exited = 0, status;
		for (;;) {
			next = __atomic_load_n(&sh->next, __ATOMIC_ACQUIRE);
			int64_t deadline = __atomic_load_n(&sh->started_ns, __ATOMIC_RELAXED) + timeout;
			if (next >= n || exited)
				break;
			if (box_poll_until(&pfd, 1, deadline) != 0) {
				exited = 1;
				continue;   /* read the progress once more */
			}
			if (__atomic_load_n(&sh->next, __ATOMIC_ACQUIRE) == next) {
				kill(pid, SIGKILL);
				break;
			}
		}
		box_close(fds[0]);
		for (size_t i = 0; i < next; i++)
			if (!items[i].hung && !items[i].answered) {
				take_answer(&items[i], &sh->ans[i], probe_real(sh, n, i));
				items[i].answered = 1;
			}
		if (next < n)   /* stuck, or the child died without answering */
			items[next++].hung = 1;
		if (exited)
			box_waitpid(pid, &status, 0);
		else
			waitpid(pid, &status, WNOHANG);
	}
	munmap(sh, size);
}

struct probe *new_probe(struct probe **items, size_t *n, size_t *cap)
{
	struct probe *p = BOX_PUSH(*items, *n, *cap);
	memset(p, 0, sizeof(*p));
	return p;
}
