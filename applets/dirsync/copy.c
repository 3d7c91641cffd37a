/* dirsync's copy engine: one file, symlink or special file of SRC into
 * DST. New data lands in an unnamed file (O_TMPFILE) that is linked in
 * under the final name, or under a temp name renamed over the old entry,
 * so DST never holds a partial file and no name of dirsync's can stay
 * behind; without O_TMPFILE, a temp file ".NAME.dirsync.xxxxxx" created
 * exclusively. Data goes by reflink, copy_file_range or read/write,
 * holes kept. */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* <linux/fs.h> is not available with musl: FICLONE = _IOW(0x94, 9, int). */
#define DIRSYNC_FICLONE 0x40049409

/* Which side of a copy failed. */
enum copy_failure { FAILED_NONE, FAILED_READ, FAILED_WRITE };

/* ".NAME.dirsync.xxxxxx", NAME shortened so the result fits NAME_MAX. */
void ds_temp_name(struct ds *d, const char *name, char *buf, size_t size)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned v = (unsigned)d->pid * 2654435761u + d->tmp_seq++ * 40503u + (unsigned)box_now_ns();
	int keep = (int)strnlen(name, 200);
	int n = snprintf(buf, size, ".%.*s" TEMP_TAG, keep, name);
	for (int i = 0; i < 6 && (size_t)n + 1 < size; i++, v /= 36)
		buf[n++] = digits[v % 36];
	buf[n] = 0;
}

/* Copies [off, off+len) from in to out at the same offsets. Returns 0, or
 * -1 with *side saying whether reading SRC or writing DST failed. */
static int copy_range(struct ds *d, int in, int out, off_t off, off_t len, enum copy_failure *side)
{
	static char buf[1 << 17];
	off_t end = off + len;

	while (off < end) {
		size_t chunk = end - off > (8 << 20) ? (8 << 20) : (size_t)(end - off);
		/* a small file costs fewer syscalls with one read and one write */
		if (d->cfr_ok && chunk > sizeof(buf)) {
			loff_t oin = off, oout = off;
			ssize_t n = copy_file_range(in, &oin, out, &oout, chunk, 0);
			if (n > 0) {
				off += n;
				if (off < end)
					ds_check_signal(d);
				if (d->interrupted)
					return -1;
				continue;
			}
			if (n == 0)
				return 0;	/* SRC shrank while being copied */
			if (errno == ENOSPC || errno == EDQUOT) {
				*side = FAILED_WRITE;
				return -1;
			}
			/* unsupported here, or an error the read/write path will name */
			if (errno == ENOSYS || errno == EXDEV || errno == EOPNOTSUPP)
				d->cfr_ok = 0;
		}
		if (chunk > sizeof(buf))
			chunk = sizeof(buf);
		ssize_t n = pread(in, buf, chunk, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*side = FAILED_READ;
			return -1;
		}
		if (n == 0)
			return 0;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = pwrite(out, buf + done, (size_t)(n - done), off + done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				*side = FAILED_WRITE;
				return -1;
			}
			done += w;
		}
		off += n;
		if (off < end && (off & ((8 << 20) - 1)) < n) {
			ds_check_signal(d);
			if (d->interrupted)
				return -1;
		}
	}
	return 0;
}

/* The data of in into out: a reflink when the filesystem shares extents,
 * else copy_file_range / read+write over the data regions only, so holes
 * stay holes. */
static int copy_data(struct ds *d, int in, int out, const struct stat *st, enum copy_failure *side)
{
	if (d->clone_ok) {
		if (ioctl(out, DIRSYNC_FICLONE, in) == 0)
			return 0;
		if (errno != EXDEV)
			d->clone_ok = 0;
	}
	if ((off_t)st->st_blocks * 512 >= st->st_size)
		return copy_range(d, in, out, 0, st->st_size, side);
	off_t pos = 0;
	while (pos < st->st_size) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			return copy_range(d, in, out, pos, st->st_size - pos, side);
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > st->st_size)
			hole = st->st_size;
		if (copy_range(d, in, out, data, hole - data, side) < 0)
			return -1;
		pos = hole;
	}
	if (ftruncate(out, st->st_size) < 0) {
		*side = FAILED_WRITE;
		return -1;
	}
	return 0;
}

/* -c: do the two files hold the same bytes? Errors count as different. */
static int same_content(int sfd, int dfd, const char *name)
{
	static char a[1 << 16], b[1 << 16];
	int fa = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	int fb = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	int same = fa >= 0 && fb >= 0;

	while (same) {
		ssize_t na = box_read_full(fa, a, sizeof(a)), nb = box_read_full(fb, b, sizeof(b));
		if (na < 0 || na != nb || memcmp(a, b, (size_t)na))
			same = 0;
		if (na <= 0)
			break;
	}
	if (fa >= 0)
		box_close(fa);
	if (fb >= 0)
		box_close(fb);
	return same;
}

/* Sets owner, mode and mtime of DST's name to SRC's, never following a
 * symlink. */
int ds_set_attrs(struct ds *d, int sfd, const char *sname, int dfd, const char *name,
	const struct stat *ss, int islink)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, ss->st_mtim };
	if (d->root && fchownat(dfd, name, ss->st_uid, ss->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	/* after the owner (chown drops security.capability), before the mode */
	if (d->xattrs && sfd >= 0 && ds_xattr_sync(d, NULL, sfd, sname, dfd, name, name) < 0)
		return -1;
	if (!islink && fchmodat(dfd, name, ss->st_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0) {
		/* without /proc the C library cannot do it for a non-link:
		 * through an fd opened without following, then */
		int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		int r = fd < 0 ? -1 : fchmod(fd, ss->st_mode & 07777);
		if (fd >= 0)
			box_close(fd);
		if (r < 0)
			return -1;
	}
	return utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* -X/-A: changed (the other columns) with the x and a columns of SRC's
 * entry (sname in sfd, or sfd itself when sname is NULL) against DST's.
 * An access ACL sets the mode with it: then p is not shown, as rsync. */
unsigned ds_xattr_changes(struct ds *d, int sfd, const char *sname, int dfd, const char *dname,
	unsigned changed)
{
	struct ds_xattrs a = { 0 }, b = { 0 };
	/* as the walk's window read them, when it did (prefetch.c) */
	int pre = dname && dname == d->pre_name;
	const struct ds_xattrs *sa = pre ? d->pre_src : NULL, *da = pre ? d->pre_dst : NULL;
	unsigned diff = 0;

	if (!d->xattrs || dfd < 0)
		return changed;
	if ((sa || ds_xattrs_read(&a, sfd, sname, d->xattrs | XA_SOURCE) == 0) &&
	    (da || ds_xattrs_read(&b, dfd, dname, d->xattrs) == 0))
		diff = ds_xattrs_diff(sa ? sa : &a, da ? da : &b);
	ds_xattrs_free(&a);
	ds_xattrs_free(&b);
	if (diff & XA_ACCESS_ACL)
		changed &= ~(unsigned)CHANGED_PERMS;
	return changed | (diff & XA_ACL ? CHANGED_ACL : 0) | (diff & XA_XATTRS ? CHANGED_XATTR : 0);
}

/* -X/-A: makes DST's entry (dname in dfd, or dfd itself) carry want, or
 * what SRC's entry (as above) carries. A filesystem without a kind of
 * attribute is said once per run; the entry counts as not completed. */
int ds_xattr_sync(struct ds *d, const struct ds_xattrs *want, int sfd, const char *sname,
	int dfd, const char *dname, const char *rel)
{
	struct ds_xattrs src = { 0 };
	const char *failed = NULL;
	int r = 0;

	if (!want) {
		if (ds_xattrs_read(&src, sfd, sname, d->xattrs | XA_SOURCE) < 0) {
			ds_src_error(d, "read the attributes of", rel);
			return 0;
		}
		want = &src;
	}
	if (ds_xattrs_apply(dfd, dname, want, NULL, &failed) < 0) {
		int err = errno;
		if (err == ENOTSUP || err == EOPNOTSUPP) {
			if (!d->xattr_warned++)
				box_warn("unable to set attribute %s of %s/%s: %s (said once per run)",
					failed ? ds_esc(failed) : "?", d->dst, ds_esc(rel), strerror(err));
			d->partial++;
		} else {
			box_warn("unable to set attribute %s of %s/%s: %s", failed ? ds_esc(failed) : "?",
				d->dst, ds_esc(rel), strerror(err));
			d->partial++;
		}
		r = 0;	/* counted here; the rest of the entry goes on */
	}
	ds_xattrs_free(&src);
	return r;
}

/* Renames the finished temp file over name, backing up what it replaces. */
static int install(struct ds *d, int dfd, const char *tmp, const char *name, const char *rel, int existed)
{
	if (existed && d->bfd >= 0 && ds_backup_entry(d, dfd, rel, 1) < 0) {
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	if (renameat(dfd, tmp, dfd, name) < 0) {
		ds_dst_error(d, "rename into", rel);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	return 0;
}

/* A file for new data in dfd: unnamed (tmp set to "") where the
 * filesystem and /proc allow linking it in later, else a fresh temp name. */
static int open_temp(struct ds *d, int dfd, const char *name, mode_t mode, char *tmp, size_t size)
{
	int out = -1;

	if (d->tmpfile_ok) {
		out = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
		if (out >= 0) {
			*tmp = 0;
			return out;
		}
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -1;
		d->tmpfile_ok = 0;
	}
	for (int tries = 0; out < 0 && tries < 100; tries++) {
		ds_temp_name(d, name, tmp, size);
		out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (out < 0 && errno != EEXIST)
			break;
	}
	return out;
}

/* Links the unnamed file out in as name: directly when name is new, else
 * under a temp name that is then renamed over it. */
static int link_in(struct ds *d, int dfd, int out, const char *name, const char *rel, int existed)
{
	char proc[32], tmp[NAME_MAX + 1];
	int r;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", out);
	if (!existed) {
		r = linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW);
		if (r == 0 || errno != EEXIST) {
			if (r < 0)
				ds_dst_error(d, "create", rel);
			return r;
		}
	}
	do {
		ds_temp_name(d, name, tmp, sizeof(tmp));
		r = linkat(AT_FDCWD, proc, dfd, tmp, AT_SYMLINK_FOLLOW);
	} while (r < 0 && errno == EEXIST);
	if (r < 0) {
		ds_dst_error(d, "create", rel);
		return -1;
	}
	return install(d, dfd, tmp, name, rel, 1);
}

static int copy_file(struct ds *d, int sfd, int dfd, const char *name, const char *rel, int existed)
{
	char tmp[NAME_MAX + 1];
	struct stat st;
	enum copy_failure side = FAILED_NONE;
	/* O_NONBLOCK: never hang on a FIFO swapped in since the listing; a
	 * file under a lease answers EAGAIN to it, so wait for that one. */
	int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (in < 0 && errno == EAGAIN)
		in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (in < 0) {
		ds_src_error(d, "open", rel);
		return -1;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		errno = ENOENT;	/* replaced by something else since it was listed */
		ds_src_error(d, "open", rel);
		box_close(in);
		return -1;
	}
	int out = open_temp(d, dfd, name, st.st_mode & 0777, tmp, sizeof(tmp));
	if (out < 0) {
		ds_dst_error(d, "create a file in", rel);
		box_close(in);
		return -1;
	}
	struct timespec ts[2] = { { 0, UTIME_OMIT }, st.st_mtim };
	int r = copy_data(d, in, out, &st, &side);
	ds_check_signal(d);
	if (d->interrupted)
		r = -1;
	if (r < 0 && side == FAILED_READ) {
		ds_src_error(d, "read", rel);
	} else if (r < 0 && !d->interrupted) {
		ds_dst_error(d, "write", rel);
	} else if (r == 0) {
		if ((d->root && (st.st_uid != 0 || st.st_gid != d->new_gid) &&
		     fchown(out, st.st_uid, st.st_gid) < 0) ||
		    (d->xattrs && ds_xattr_sync(d, NULL, in, NULL, out, NULL, rel) < 0) ||
		    (((st.st_mode & 07000) || (d->xattrs & XA_ACL)) &&
		     fchmod(out, st.st_mode & 07777) < 0) ||
		    futimens(out, ts) < 0 ||
		    (d->fsync_mode == FSYNC_FILE && fsync(out) < 0)) {
			ds_dst_error(d, "set attributes of", rel);
			r = -1;
		}
	}
	box_close(in);
	if (r == 0 && !*tmp)
		r = link_in(d, dfd, out, name, rel, existed);
	if (close(out) < 0 && r == 0) {
		ds_dst_error(d, "write", rel);
		r = -1;
	}
	if (*tmp && (r < 0 || install(d, dfd, tmp, name, rel, existed) < 0)) {
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	if (r < 0)
		return -1;
	d->nxfer++;
	d->bytes += st.st_size;
	if (st.st_nlink > 1)
		d->multi_links++;
	return 0;
}

/* A symlink to target, or (target NULL) a special file like SRC's, made
 * under a temp name with SRC's attributes and renamed over name. */
static int create_entry(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const char *target, int existed)
{
	char tmp[NAME_MAX + 1];
	int r = -1;

	/* a new name is made in place; another entry is replaced atomically */
	if (!existed) {
		r = target ? symlinkat(target, dfd, name) :
			mknodat(dfd, name, ss->st_mode & (S_IFMT | 07777), ss->st_rdev);
		if (r == 0) {
			if (ds_set_attrs(d, sfd, name, dfd, name, ss, target != NULL) < 0) {
				ds_dst_error(d, "set attributes of", rel);
				return -1;
			}
			d->nxfer++;
			return 0;
		}
		if (errno != EEXIST) {
			ds_dst_error(d, target ? "create a symlink in" : "create", rel);
			return -1;
		}
		existed = 1;
	}
	do {
		ds_temp_name(d, name, tmp, sizeof(tmp));
		r = target ? symlinkat(target, dfd, tmp) :
			mknodat(dfd, tmp, ss->st_mode & (S_IFMT | 07777), ss->st_rdev);
	} while (r < 0 && errno == EEXIST);
	if (r < 0) {
		ds_dst_error(d, target ? "create a symlink in" : "create", rel);
		return -1;
	}
	if (ds_set_attrs(d, sfd, name, dfd, tmp, ss, target != NULL) < 0) {
		ds_dst_error(d, "set attributes of", rel);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	if (install(d, dfd, tmp, name, rel, existed) < 0)
		return -1;
	d->nxfer++;
	return 0;
}

/* Are two mtimes different, to --modify-window or to the granularity of
 * DST's filesystem? */
int ds_times_differ(const struct ds *d, const struct timespec *a, const struct timespec *b)
{
	int64_t x = (int64_t)a->tv_sec * BOX_NSEC + a->tv_nsec;
	int64_t y = (int64_t)b->tv_sec * BOX_NSEC + b->tv_nsec;
	int64_t diff = x > y ? x - y : y - x;
	if (d->mwin >= 0)
		return diff > d->mwin;
	return diff >= (d->gran > 1 ? d->gran : 1);
}

/* How finely DST's filesystem keeps mtimes (ext4 with 128-byte inodes:
 * seconds; FAT: 2 s): tried on an unnamed file, which leaves nothing
 * behind; in a dry run (or without O_TMPFILE) judged from DST's top,
 * whose time an earlier run set from SRC's. */
void ds_detect_granularity(struct ds *d, const struct stat *src_top)
{
	struct stat st;
	int fd = d->dry || d->dfd < 0 ? -1 :
		openat(d->dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

	d->gran = 1;
	if (fd >= 0) {
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000000001, 123456789 } };
		if (futimens(fd, ts) == 0 && fstat(fd, &st) == 0) {
			int64_t got = (int64_t)st.st_mtim.tv_sec * BOX_NSEC + st.st_mtim.tv_nsec;
			int64_t want = 1000000001LL * BOX_NSEC + 123456789;
			int64_t diff = got > want ? got - want : want - got;
			d->gran = diff >= 500000000 ? 2 * BOX_NSEC : diff ? BOX_NSEC : 1;
		}
		box_close(fd);
		return;
	}
	if (d->dfd >= 0 && fstat(d->dfd, &st) == 0 && st.st_mtim.tv_nsec == 0 &&
	    src_top->st_mtim.tv_nsec != 0 && st.st_mtim.tv_sec == src_top->st_mtim.tv_sec)
		d->gran = BOX_NSEC;
}

/* -H: the group of a multi-link file of SRC, by device and inode (open
 * addressing over d->links), made when it is new. */
static struct hardlink *link_group(struct ds *d, const struct stat *ss)
{
	size_t mask = d->clinks - 1, i;

	if (d->nlinks * 2 >= d->clinks) {
		struct hardlink *old = d->links;
		size_t n = d->clinks;
		d->clinks = n ? n * 2 : 256;
		d->links = box_xcalloc(d->clinks, sizeof(*d->links));
		mask = d->clinks - 1;
		for (size_t k = 0; k < n; k++)
			if (old[k].n) {
				for (i = (size_t)(old[k].ino * 2654435761u) & mask; d->links[i].n;)
					i = (i + 1) & mask;
				d->links[i] = old[k];
			}
		free(old);
	}
	for (i = (size_t)(ss->st_ino * 2654435761u) & mask; d->links[i].n; i = (i + 1) & mask)
		if (d->links[i].ino == ss->st_ino && d->links[i].dev == ss->st_dev)
			return &d->links[i];
	d->links[i] = (struct hardlink){ ss->st_dev, ss->st_ino, NULL, 0, 0, d->nlinks };
	d->nlinks++;
	return &d->links[i];
}

/* The entries below are new in DST (dst NULL) or compared with DST's
 * entry of the same type; each reports its change once it is made. */
/* Returns 1 when the data was (or in a dry run would be) sent. */
static int sync_regular_now(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	unsigned changed = CHANGED_NEW;
	int data = 1;

	if (dst) {
		changed = ds_attr_changes(d, ss, dst);
		if (ss->st_size != dst->st_size)
			changed |= CHANGED_SIZE;
		if (d->checksum)
			data = (changed & CHANGED_SIZE) || !same_content(sfd, dfd, name);
		else
			data = (changed & (CHANGED_SIZE | CHANGED_TIME)) != 0;
		if (data && d->checksum)
			changed |= CHANGED_CONTENT;
		if (!data)
			changed = ds_xattr_changes(d, sfd, name, dfd, name, changed);
		if (!data && !changed)
			return 0;
	}
	if (!data || d->dry) {
		ds_report(d, data ? UPDATE_SEND : UPDATE_NONE, KIND_FILE, changed, rel, NULL);
		if (!d->dry && ds_set_attrs(d, sfd, name, dfd, name, ss, 0) < 0)
			ds_dst_error(d, "set attributes of", rel);
		return data;
	}
	/* a file that could not be read is not reported as sent */
	if (copy_file(d, sfd, dfd, name, rel, dst != NULL) == 0)
		ds_report(d, UPDATE_SEND, KIND_FILE, changed, rel, NULL);
	else
		d->changes++;
	return 1;
}

static int defer_link(struct ds *d, const char *rel, const struct stat *ss);

void ds_sync_regular(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	d->nfiles++;
	/* -H: all names are known at the end of the walk (ds_sync_hardlinks) */
	if (!defer_link(d, rel, ss))
		sync_regular_now(d, sfd, dfd, name, rel, ss, dst);
}

/* Opens the directories of SRC and DST that hold rel; the names of a
 * group, and groups one after the other, mostly share them, so the last
 * few stay open until ds_sync_hardlinks ends. */
static void open_parents(struct ds *d, const char *rel, int *sp, int *dp)
{
	char *dir = ds_dir_name(rel);
	struct parents *free_slot = NULL;

	for (int i = 0; i < 4; i++) {
		struct parents *p = &d->parents[i];
		if (p->dir && !strcmp(p->dir, dir)) {
			p->refs++;
			*sp = p->sp;
			*dp = p->dp;
			free(dir);
			return;
		}
		if (!p->refs && (!free_slot || !p->dir))
			free_slot = p;
	}
	*sp = ds_open_dir_at(d->sfd, dir, 0);
	*dp = d->dfd < 0 ? -1 : ds_open_dst_dir(d, dir);
	if (!free_slot) {       /* cannot happen: a group holds two at most */
		free(dir);
		return;
	}
	if (free_slot->dir) {
		free(free_slot->dir);
		if (free_slot->sp >= 0)
			box_close(free_slot->sp);
		if (free_slot->dp >= 0)
			box_close(free_slot->dp);
	}
	*free_slot = (struct parents){ dir, *sp, *dp, 1 };
}

static void close_parents(struct ds *d, int sp, int dp)
{
	for (int i = 0; i < 4; i++) {
		struct parents *p = &d->parents[i];
		if (p->dir && p->refs && p->sp == sp && p->dp == dp) {
			p->refs--;
			return;
		}
	}
	if (sp >= 0)
		box_close(sp);
	if (dp >= 0)
		box_close(dp);
}

/* Links DST's name in dq to base in dp, replacing what is there. */
static void link_name(struct ds *d, int dp, const char *base, int dq, const char *name,
	const char *rel, int exists)
{
	char tmp[NAME_MAX + 1];
	int r = exists ? -1 : linkat(dp, base, dq, name, 0);

	if (exists || (r < 0 && errno == EEXIST)) {
		do {
			ds_temp_name(d, name, tmp, sizeof(tmp));
			r = linkat(dp, base, dq, tmp, 0);
		} while (r < 0 && errno == EEXIST);
		if (r == 0) {
			install(d, dq, tmp, name, rel, 1);
			return;
		}
	}
	if (r < 0)
		ds_dst_error(d, "hard link", rel);
}


/* Returns 1 when the link is (or in a dry run would be) made anew. */
static int sync_link_now(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	char target[PATH_MAX + 1], old[PATH_MAX + 1];
	unsigned changed = CHANGED_NEW;
	ssize_t n = readlinkat(sfd, name, target, PATH_MAX);

	if (n < 0) {
		ds_src_error(d, "read link", rel);
		return 0;
	}
	target[n] = 0;
	int relink = 1;
	if (dst) {
		ssize_t m = readlinkat(dfd, name, old, PATH_MAX);
		relink = m != n || memcmp(old, target, (size_t)n);
		changed = relink ? ds_attr_changes(d, ss, dst) | CHANGED_CONTENT :
			ds_xattr_changes(d, sfd, name, dfd, name, ds_attr_changes(d, ss, dst));
		if (!changed)
			return 0;
	}
	ds_report(d, relink ? UPDATE_CREATE : UPDATE_NONE, KIND_LINK, changed, rel, target);
	if (d->dry)
		return relink;
	if (!relink) {
		if (ds_set_attrs(d, sfd, name, dfd, name, ss, 1) < 0)
			ds_dst_error(d, "set attributes of", rel);
		return 0;
	}
	create_entry(d, sfd, dfd, name, rel, ss, target, dst != NULL);
	return 1;
}

/* FIFOs, sockets and (as root) device nodes; 1 when made anew. */
static int sync_special_now(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	int dev = S_ISCHR(ss->st_mode) || S_ISBLK(ss->st_mode);
	enum ds_kind kind = dev ? KIND_DEVICE : KIND_SPECIAL;

	if (dst && (!dev || dst->st_rdev == ss->st_rdev)) {
		unsigned changed = ds_xattr_changes(d, sfd, name, dfd, name,
			ds_attr_changes(d, ss, dst));
		if (!changed)
			return 0;
		ds_report(d, UPDATE_NONE, kind, changed, rel, NULL);
		if (!d->dry && ds_set_attrs(d, sfd, name, dfd, name, ss, 0) < 0)
			ds_dst_error(d, "set attributes of", rel);
		return 0;
	}
	/* another device number: made anew, shown as rsync's cDc */
	ds_report(d, UPDATE_CREATE, kind, dst ? ds_attr_changes(d, ss, dst) | CHANGED_CONTENT :
		CHANGED_NEW, rel, NULL);
	if (d->dry)
		return 1;
	create_entry(d, sfd, dfd, name, rel, ss, NULL, dst != NULL);
	return 1;
}

/* -H: a name of a multi-link entry waits for the end of the walk. */
static int defer_link(struct ds *d, const char *rel, const struct stat *ss)
{
	if (!d->hard_links || ss->st_nlink < 2)
		return 0;
	struct hardlink *h = link_group(d, ss);
	*BOX_PUSH(h->rels, h->n, h->cap) = box_xstrdup(rel);
	d->deferred = 1;
	return 1;
}

void ds_sync_link(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	d->nother++;
	if (!defer_link(d, rel, ss))
		sync_link_now(d, sfd, dfd, name, rel, ss, dst);
}

void ds_sync_special(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	d->nother++;
	if (!defer_link(d, rel, ss))
		sync_special_now(d, sfd, dfd, name, rel, ss, dst);
}

/* -H, after the walk: in each group, the first name whose copy in DST
 * is up to date, else the last name (in walk order, as rsync takes
 * them), is synced as a file; the others become hard links to it. */
static void sync_group(struct ds *d, const struct hardlink *h)
{
	const char *last = h->rels[h->n - 1], *base;
	struct stat ss, dst, dl, di;
	size_t lead = h->n - 1;
	int sp, dp, found = 0;

	for (size_t i = 0; i + 1 < h->n && !found; i++) {
		open_parents(d, h->rels[i], &sp, &dp);
		base = box_basename(h->rels[i]);
		found = sp >= 0 && dp >= 0 && fstatat(sp, base, &ss, AT_SYMLINK_NOFOLLOW) == 0 &&
			fstatat(dp, base, &dst, AT_SYMLINK_NOFOLLOW) == 0 &&
			(dst.st_mode & S_IFMT) == (ss.st_mode & S_IFMT) &&
			ss.st_size == dst.st_size && ss.st_rdev == dst.st_rdev &&
			!ds_times_differ(d, &ss.st_mtim, &dst.st_mtim);
		if (found)
			lead = i;	/* its parents stay open, its stats hold */
		else
			close_parents(d, sp, dp);
	}
	last = h->rels[lead];
	base = box_basename(last);
	if (!found)
		open_parents(d, last, &sp, &dp);
	if (!found && (sp < 0 || fstatat(sp, base, &ss, AT_SYMLINK_NOFOLLOW) < 0 ||
	    S_ISDIR(ss.st_mode))) {
		errno = ENOENT;	/* gone or replaced since it was listed */
		ds_src_error(d, "stat", last);
		close_parents(d, sp, dp);
		return;
	}
	int have = found || (dp >= 0 && fstatat(dp, base, &dst, AT_SYMLINK_NOFOLLOW) == 0 &&
		(dst.st_mode & S_IFMT) == (ss.st_mode & S_IFMT));
	int sent = S_ISREG(ss.st_mode) ? sync_regular_now(d, sp, dp, base, last, &ss, have ? &dst : NULL) :
		S_ISLNK(ss.st_mode) ? sync_link_now(d, sp, dp, base, last, &ss, have ? &dst : NULL) :
		sync_special_now(d, sp, dp, base, last, &ss, have ? &dst : NULL);
	enum ds_kind kind = S_ISREG(ss.st_mode) ? KIND_FILE : S_ISLNK(ss.st_mode) ? KIND_LINK :
		S_ISCHR(ss.st_mode) || S_ISBLK(ss.st_mode) ? KIND_DEVICE : KIND_SPECIAL;
	/* the lead's copy in DST: the same file unless it was sent anew */
	int known = have && !sent ? (dl = dst, 1) :
		dp >= 0 && fstatat(dp, base, &dl, AT_SYMLINK_NOFOLLOW) == 0;
	for (size_t i = 0; i < h->n && !ds_stopped(d); i++) {
		const char *rel = h->rels[i], *name = box_basename(rel);
		int sq, dq;
		if (i == lead)
			continue;
		open_parents(d, rel, &sq, &dq);
		int exists = dq >= 0 && fstatat(dq, name, &di, AT_SYMLINK_NOFOLLOW) == 0;
		if (exists && known && !(sent && d->dry) &&
		    di.st_ino == dl.st_ino && di.st_dev == dl.st_dev) {
			close_parents(d, sq, dq);
			continue;	/* linked already */
		}
		ds_report_hlink(d, kind, exists && (di.st_mode & S_IFMT) == (ss.st_mode & S_IFMT) ?
			ds_attr_changes(d, &ss, &di) | (ss.st_size != di.st_size ? CHANGED_SIZE : 0) :
			CHANGED_NEW, rel, last);
		if (!d->dry && dq >= 0 && known)
			link_name(d, dp, base, dq, name, rel, exists);
		close_parents(d, sq, dq);
	}
	close_parents(d, sp, dp);
}

static int by_order(const void *a, const void *b)
{
	size_t x = (*(struct hardlink *const *)a)->order, y = (*(struct hardlink *const *)b)->order;
	return (x > y) - (x < y);
}

/* The groups in walk order: as rsync lists them, and a group's
 * directories are mostly the ones the group before had open. */
void ds_sync_hardlinks(struct ds *d)
{
	struct hardlink **v = box_xmalloc((d->nlinks + 1) * sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < d->clinks; i++)
		if (d->links[i].n)
			v[n++] = &d->links[i];
	qsort(v, n, sizeof(*v), by_order);
	for (size_t i = 0; i < n && !ds_stopped(d); i++)
		sync_group(d, v[i]);
	free(v);
	for (int i = 0; i < 4; i++) {
		struct parents *p = &d->parents[i];
		if (!p->dir)
			continue;
		free(p->dir);
		if (p->sp >= 0)
			box_close(p->sp);
		if (p->dp >= 0)
			box_close(p->dp);
		*p = (struct parents){ NULL, -1, -1, 0 };
	}
}
