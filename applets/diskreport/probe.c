/* diskreport's prober: every stat, realpath and statvfs runs in a forked
 * child that answers through shared memory, so a mount that stops
 * answering (dead NFS server, stopped FUSE daemon) costs at most the
 * timeout and is reported instead of hanging the report. */
#include "diskreport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* Children take items one at a time from a shared counter, write each
 * answer into memory shared with the parent and mark it done. A child
 * that has spent STALL on one item is left to it and another child takes
 * the next items, so dead mounts are waited for side by side: the whole
 * probe takes about one timeout however many are dead. An item that runs
 * for the timeout is hung; its child is killed and not waited for (it may
 * be in uninterruptible sleep). A child holds /dev/null as fds 0-2 and no
 * other descriptor of the caller's, so one stuck in the kernel holds up
 * no pipe of the caller's ($(diskreport), diskreport | mail). */
struct probe_answer {
	int32_t stat_err, vfs_err, real_err;
	uint64_t st_dev, st_rdev;
	uint32_t st_mode;
	struct fsu fsu;
	int64_t started_ns;       /* set by the child that took the item */
	uint32_t done;
};

/* Followed by the answers, then PATH_MAX bytes per item for realpath
 * when some item wants one. */
struct probe_shared {
	uint32_t claim;           /* the next item to take */
	struct probe_answer ans[];
};

#define PROBE_STALL_NS (50 * BOX_NSEC / 1000)
#define PROBE_CHILDREN 64

struct prober {
	pid_t pid;
	int fd;                   /* a pipe's read end: EOF when the child exits */
};

static char *probe_real(struct probe_shared *sh, size_t n, size_t i)
{
	return (char *)&sh->ans[n] + i * PATH_MAX;
}

static void probe_one(const struct probe *p, struct probe_answer *a, char *real_buf)
{
	struct stat st;
	struct statvfs vfs;

	if (p->stat_path) {
		if (stat(p->stat_path, &st) == 0) {
			a->st_dev = st.st_dev;
			a->st_rdev = st.st_rdev;
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

static void probe_child(const struct probe *items, size_t n, struct probe_shared *sh, int out)
{
	/* the pipe's end to 3, /dev/null to 0-2, nothing else */
	out = fcntl(out, F_DUPFD, 10);
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3; fd++)
		if (fd != null && (null < 0 ? close(fd) : dup2(null, fd)) < 0)
			_exit(1);
	if (out < 0 || dup2(out, 3) < 0)
		_exit(1);
	box_close_from(4);
	for (;;) {
		uint32_t i = __atomic_fetch_add(&sh->claim, 1, __ATOMIC_ACQ_REL);
		if (i >= n)
			break;
		__atomic_store_n(&sh->ans[i].started_ns, box_now_ns(), __ATOMIC_RELEASE);
		probe_one(&items[i], &sh->ans[i], probe_real(sh, n, i));
		__atomic_store_n(&sh->ans[i].done, 1, __ATOMIC_RELEASE);
	}
	_exit(0);
}

static int start_prober(const struct probe *items, size_t n, struct probe_shared *sh,
	struct prober *c)
{
	int fds[2];

	if (pipe(fds) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		probe_child(items, n, sh, fds[1]);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	*c = (struct prober){ pid, fds[0] };
	return 0;
}

static void take_answer(struct probe *p, const struct probe_answer *a, const char *real)
{
	p->stat_err = a->stat_err;
	p->vfs_err = a->vfs_err;
	p->real_err = a->real_err;
	p->st_dev = (dev_t)a->st_dev;
	p->st_rdev = (dev_t)a->st_rdev;
	p->st_mode = a->st_mode;
	p->fsu = a->fsu;
	if (p->want_real && !a->real_err)
		p->real = box_xstrdup(real);
	p->answered = 1;
}

/* When item i started, as far as the parent can tell: a child stores the
 * time just after it takes the item. */
static int64_t item_start(struct probe_shared *sh, int64_t *seen, size_t i, int64_t now)
{
	int64_t t = __atomic_load_n(&sh->ans[i].started_ns, __ATOMIC_ACQUIRE);
	if (t)
		return t;
	if (!seen[i])
		seen[i] = now;
	return seen[i];
}

void probe_all(struct probe *items, size_t n, int64_t timeout)
{
	size_t size = sizeof(struct probe_shared) + n * sizeof(struct probe_answer);
	for (size_t i = 0; i < n; i++)
		if (items[i].want_real) {
			size += n * PATH_MAX;
			break;
		}
	if (!n)
		return;
	struct probe_shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct prober kids[PROBE_CHILDREN];
	struct pollfd pfd[PROBE_CHILDREN];
	int64_t *seen = box_xcalloc(n, sizeof(*seen));
	int64_t stall = timeout / 4 < PROBE_STALL_NS ? timeout / 4 : PROBE_STALL_NS;
	size_t nkids = 0, left = n;
	int64_t last_start = 0;

	if (sh == MAP_FAILED)
		box_fatal_errno("unable to map memory");
	while (left) {
		int64_t now = box_now_ns(), wake = -1;
		uint32_t claimed = __atomic_load_n(&sh->claim, __ATOMIC_ACQUIRE);
		int busy = 0;   /* children working on an item for less than stall */

		left = 0;
		for (size_t i = 0; i < n; i++) {
			if (items[i].answered || items[i].hung)
				continue;
			if (__atomic_load_n(&sh->ans[i].done, __ATOMIC_ACQUIRE)) {
				take_answer(&items[i], &sh->ans[i], probe_real(sh, n, i));
				continue;
			}
			left++;
			if (i >= claimed)
				continue;
			int64_t t = item_start(sh, seen, i, now);
			if (now >= t + timeout) {
				items[i].hung = 1;
				left--;
				continue;
			}
			wake = box_earliest(wake, t + timeout);
			if (now < t + stall) {
				busy++;
				wake = box_earliest(wake, t + stall);
			}
		}
		/* children that exited are reaped; one on a hung item is killed
		 * at the end */
		for (size_t k = 0; k < nkids;) {
			if (pfd[k].revents & (POLLIN | POLLHUP)) {
				box_waitpid(kids[k].pid, NULL, 0);
				close(kids[k].fd);
				kids[k] = kids[--nkids];
				pfd[k] = pfd[nkids];
				continue;
			}
			k++;
		}
		if (!left)
			break;
		/* items left and every child stuck on one for stall: one more
		 * child, at most one per stall */
		if (claimed < n && !busy && nkids < PROBE_CHILDREN &&
		    (!nkids || now >= last_start + stall)) {
			if (start_prober(items, n, sh, &kids[nkids]) < 0) {
				if (!nkids)
					box_fatal_errno("unable to start a probe");
			} else {
				pfd[nkids] = (struct pollfd){ .fd = kids[nkids].fd, .events = POLLIN };
				nkids++;
				last_start = now;
			}
		}
		if (claimed < n && nkids < PROBE_CHILDREN)
			wake = box_earliest(wake, last_start + stall);
		for (size_t k = 0; k < nkids; k++)
			pfd[k].revents = 0;
		box_poll_until(pfd, nkids, wake);
	}
	for (size_t k = 0; k < nkids; k++) {
		kill(kids[k].pid, SIGKILL);
		close(kids[k].fd);
		waitpid(kids[k].pid, NULL, WNOHANG);
	}
	free(seen);
	munmap(sh, size);
}

struct probe *new_probe(struct probe **items, size_t *n, size_t *cap)
{
	struct probe *p = BOX_PUSH(*items, *n, *cap);
	memset(p, 0, sizeof(*p));
	return p;
}

char **resolve_sources(const struct mount *ms, size_t n, int (*which)(const char *))
{
	struct probe *pr = NULL;
	size_t npr = 0, cap = 0, *of = box_xcalloc(n + 1, sizeof(*of));
	char **canon = box_xcalloc(n + 1, sizeof(*canon));

	for (size_t i = 0; i < n; i++) {
		if (ms[i].dev[0] != '/' || (which && !which(ms[i].dev)))
			continue;
		of[npr] = i;
		struct probe *p = new_probe(&pr, &npr, &cap);
		p->stat_path = ms[i].dev;
		p->want_real = 1;
	}
	probe_all(pr, npr, o.timeout);
	for (size_t k = 0; k < npr; k++)
		canon[of[k]] = pr[k].real;
	free(pr);
	free(of);
	return canon;
}
