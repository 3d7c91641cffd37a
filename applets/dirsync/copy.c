/* dirsync's copy engine: one file, symlink or special file of SRC into
 * DST. New data lands in a temp file (".NAME.dirsync.xxxxxx") that is
 * renamed over the old entry, so DST never holds a partial file; data
 * goes by reflink, copy_file_range or read/write, holes kept. */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* <linux/fs.h> is not available with musl: FICLONE = _IOW(0x94, 9, int). */
#define DIRSYNC_FICLONE 0x40049409

/* Which side of a copy failed. */
enum copy_failure { FAILED_NONE, FAILED_READ, FAILED_WRITE };

int ds_is_temp_name(const char *name)
{
	size_t n = strlen(name), t = sizeof(TEMP_TAG) - 1;
	if (name[0] != '.' || n < t + 8 || memcmp(name + n - 6 - t, TEMP_TAG, t))
		return 0;
	for (size_t i = n - 6; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
			return 0;
	return 1;
}

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
int ds_set_attrs(struct ds *d, int dfd, const char *name, const struct stat *ss, int islink)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, ss->st_mtim };
	if (d->root && fchownat(dfd, name, ss->st_uid, ss->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
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

static void copy_file(struct ds *d, int sfd, int dfd, const char *name, const char *rel, int existed)
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
		return;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		errno = ENOENT;	/* replaced by something else since it was listed */
		ds_src_error(d, "open", rel);
		box_close(in);
		return;
	}
	int out = -1;
	for (int tries = 0; out < 0 && tries < 100; tries++) {
		ds_temp_name(d, name, tmp, sizeof(tmp));
		out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			st.st_mode & 0777);
		if (out < 0 && errno != EEXIST)
			break;
	}
	if (out < 0) {
		ds_dst_error(d, "create a file in", rel);
		box_close(in);
		return;
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
		if ((d->root && fchown(out, st.st_uid, st.st_gid) < 0) ||
		    ((st.st_mode & 07000) && fchmod(out, st.st_mode & 07777) < 0) ||
		    futimens(out, ts) < 0 ||
		    (d->fsync_mode == FSYNC_FILE && fsync(out) < 0)) {
			ds_dst_error(d, "set attributes of", rel);
			r = -1;
		}
	}
	box_close(in);
	if (close(out) < 0 && r == 0) {
		ds_dst_error(d, "write", rel);
		r = -1;
	}
	if (r < 0 || install(d, dfd, tmp, name, rel, existed) < 0) {
		unlinkat(dfd, tmp, 0);
		return;
	}
	d->nxfer++;
	d->bytes += st.st_size;
}

/* A symlink to target, or (target NULL) a special file like SRC's, made
 * under a temp name with SRC's attributes and renamed over name. */
static void create_entry(struct ds *d, int dfd, const char *name, const char *rel,
	const struct stat *ss, const char *target, int existed)
{
	char tmp[NAME_MAX + 1];
	int r;

	do {
		ds_temp_name(d, name, tmp, sizeof(tmp));
		r = target ? symlinkat(target, dfd, tmp) :
			mknodat(dfd, tmp, ss->st_mode & (S_IFMT | 07777), ss->st_rdev);
	} while (r < 0 && errno == EEXIST);
	if (r < 0) {
		ds_dst_error(d, target ? "create a symlink in" : "create", rel);
		return;
	}
	if (ds_set_attrs(d, dfd, tmp, ss, target != NULL) < 0) {
		ds_dst_error(d, "set attributes of", rel);
		unlinkat(dfd, tmp, 0);
		return;
	}
	if (install(d, dfd, tmp, name, rel, existed) == 0)
		d->nxfer++;
}

/* The entries below are new in DST (dst NULL) or compared with DST's
 * entry of the same type; each reports its change before making it. */
void ds_sync_regular(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	unsigned changed = CHANGED_NEW;
	int data = 1;

	d->nfiles++;
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
		if (!data && !changed)
			return;
	}
	ds_report(d, data ? UPDATE_SEND : UPDATE_NONE, KIND_FILE, changed, rel, NULL);
	if (d->dry)
		return;
	if (data)
		copy_file(d, sfd, dfd, name, rel, dst != NULL);
	else if (ds_set_attrs(d, dfd, name, ss, 0) < 0)
		ds_dst_error(d, "set attributes of", rel);
}

void ds_sync_link(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	char target[PATH_MAX + 1], old[PATH_MAX + 1];
	unsigned changed = CHANGED_NEW;
	ssize_t n = readlinkat(sfd, name, target, PATH_MAX);

	d->nother++;
	if (n < 0) {
		ds_src_error(d, "read link", rel);
		return;
	}
	target[n] = 0;
	int relink = 1;
	if (dst) {
		ssize_t m = readlinkat(dfd, name, old, PATH_MAX);
		relink = m != n || memcmp(old, target, (size_t)n);
		changed = ds_attr_changes(d, ss, dst) | (relink ? CHANGED_CONTENT : 0);
		if (!changed)
			return;
	}
	ds_report(d, relink ? UPDATE_CREATE : UPDATE_NONE, KIND_LINK, changed, rel, target);
	if (d->dry)
		return;
	if (!relink) {
		if (ds_set_attrs(d, dfd, name, ss, 1) < 0)
			ds_dst_error(d, "set attributes of", rel);
		return;
	}
	create_entry(d, dfd, name, rel, ss, target, dst != NULL);
}

/* FIFOs, sockets and (as root) device nodes. */
void ds_sync_special(struct ds *d, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	int dev = S_ISCHR(ss->st_mode) || S_ISBLK(ss->st_mode);
	enum ds_kind kind = dev ? KIND_DEVICE : KIND_SPECIAL;

	d->nother++;
	if (dst && (!dev || dst->st_rdev == ss->st_rdev)) {
		unsigned changed = ds_attr_changes(d, ss, dst);
		if (!changed)
			return;
		ds_report(d, UPDATE_NONE, kind, changed, rel, NULL);
		if (!d->dry && ds_set_attrs(d, dfd, name, ss, 0) < 0)
			ds_dst_error(d, "set attributes of", rel);
		return;
	}
	ds_report(d, UPDATE_CREATE, kind, CHANGED_NEW, rel, NULL);
	if (d->dry)
		return;
	create_entry(d, dfd, name, rel, ss, NULL, dst != NULL);
}
