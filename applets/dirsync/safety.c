/* dirsync's safety layer: before a run may delete anything, SRC must be
 * there, on the filesystem it was on before, and not emptied while DST is
 * full; SRC and DST must be separate trees. A refusal says why, once per
 * reason, and changes nothing.
 *
 * What "the same filesystem" means is recorded outside DST, in a state
 * file named after DST's real path (DST stays an exact copy of SRC): the
 * filesystem's type and f_fsid (its UUID on ext4, btrfs, xfs...), the
 * inode and birth time of the top directory of SRC's mount, the mount's
 * source and the device number. A device number alone is not an
 * identity: another disk can get the same one, the same disk another. */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)

int ds_dir_is_empty(struct ds *d, int fd)
{
	struct names ns = { 0 };
	int empty = 1;
	if (ds_list_dir(fd, &ns) < 0) {
		ds_free_names(&ns);
		return 0;
	}
	for (size_t i = 0; i < ns.n && empty; i++) {
		struct stat st;
		if (fstatat(fd, ns.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    ds_excluded(d, ns.v[i], S_ISDIR(st.st_mode)))
			continue;
		empty = 0;
	}
	ds_free_names(&ns);
	return empty;
}

/* ---- the identity of SRC's filesystem ---------------------------------------- */

/* The kernel's struct statx, as far as dirsync reads it (musl 1.2.3 has
 * no statx). */
struct kstatx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, pad1;
	uint64_t ino, size, blocks, attributes_mask;
	struct { int64_t sec; uint32_t nsec; int32_t pad; } atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t mnt_id;
	uint64_t spare[14];
};
#define KSTATX_BTIME 0x800U
#define KSTATX_MNT_ID 0x1000U

static int kstatx(int fd, unsigned mask, struct kstatx *sx)
{
	memset(sx, 0, sizeof(*sx));
	return (int)syscall(SYS_statx, fd, "", AT_EMPTY_PATH, mask, sx);
}

struct source_of {
	uint64_t id;
	char *out;
	size_t size;
};

static int source_seen(void *ctx, const struct box_mount *m)
{
	struct source_of *q = ctx;
	if (m->id != q->id)
		return 0;
	snprintf(q->out, q->size, "%s", m->source);
	return 1;
}

/* The mount's source (device, server:path, "tmpfs") from mountinfo. */
static void mount_source(uint64_t mnt_id, char *out, size_t size)
{
	struct source_of q = { mnt_id, out, size };
	*out = 0;
	box_mountinfo(source_seen, &q);
}

/* fsids that are only the device number say nothing more than it. */
static unsigned long long fsid_of(const struct statfs *sf, dev_t dev)
{
	unsigned long long id;
	unsigned long long enc = (minor(dev) & 0xff) | (major(dev) << 8) |
		((unsigned long long)(minor(dev) & ~0xffU) << 12);
	memcpy(&id, &sf->f_fsid, sizeof(id));
	return id == enc || id == (enc << 32) ? 0 : id;
}

static void source_id(int sfd, struct src_id *id, int with_source)
{
	struct stat st, up;
	struct statfs sf;
	struct kstatx sx;
	int fd = openat(sfd, ".", DIR_FLAGS);

	memset(id, 0, sizeof(*id));
	if (fstat(sfd, &st) < 0)
		return;
	id->dev = st.st_dev;
	if (fstatfs(sfd, &sf) == 0) {
		id->type = (unsigned long long)sf.f_type;
		id->fsid = fsid_of(&sf, st.st_dev);
	}
	if (with_source && kstatx(sfd, KSTATX_MNT_ID, &sx) == 0 && (sx.mask & KSTATX_MNT_ID))
		mount_source(sx.mnt_id, id->source, sizeof(id->source));
	/* the top of the mount: up while the filesystem stays the same */
	for (int i = 0; fd >= 0 && i < 4096; i++) {
		int parent = openat(fd, "..", DIR_FLAGS);
		if (parent < 0 || fstat(parent, &up) < 0 || up.st_dev != st.st_dev ||
		    (fstat(fd, &st) == 0 && up.st_ino == st.st_ino)) {
			if (parent >= 0)
				box_close(parent);
			break;
		}
		box_close(fd);
		fd = parent;
	}
	if (fd >= 0 && fstat(fd, &st) == 0) {
		id->root_ino = st.st_ino;
		if (kstatx(fd, KSTATX_BTIME, &sx) == 0 && (sx.mask & KSTATX_BTIME)) {
			id->has_btime = 1;
			id->btime_s = sx.btime.sec;
			id->btime_ns = sx.btime.nsec;
		}
	}
	if (fd >= 0)
		box_close(fd);
}

/* Is b the filesystem a was? */
static int same_source(const struct src_id *a, const struct src_id *b)
{
	if (a->type != b->type || a->root_ino != b->root_ino)
		return 0;
	if (a->fsid && b->fsid && a->fsid != b->fsid)
		return 0;
	if (a->has_btime && b->has_btime)
		return a->btime_s == b->btime_s && a->btime_ns == b->btime_ns;
	if (a->fsid && b->fsid)
		return 1;
	/* nothing better than the device and the mount's source */
	return a->dev == b->dev && !strcmp(a->source, b->source);
}

/* ---- the state file ------------------------------------------------------------ */

/* $XDG_STATE_HOME/dirsync, else /var/lib/dirsync as root, else
 * ~/.local/state/dirsync; the file is named after DST's real path. */
static char *state_path(struct ds *d)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *dir;
	uint64_t h = 14695981039346656037ULL;

	if (xdg && *xdg == '/')
		dir = box_xasprintf("%s/dirsync", xdg);
	else if (d->root)
		dir = box_xstrdup("/var/lib/dirsync");
	else if (home && *home == '/')
		dir = box_xasprintf("%s/.local/state/dirsync", home);
	else
		return NULL;
	for (const char *s = d->dst_real; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	char *path = box_xasprintf("%s/%016llx", dir, (unsigned long long)h);
	free(dir);
	return path;
}

/* The value of "key " at the start of a line of the state file, or NULL. */
static const char *state_field(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *s = text; s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
		if (!strncmp(s, key, n) && s[n] == ' ')
			return s + n + 1;
	return NULL;
}

static unsigned long long state_num(const char *text, const char *key, int base, int *ok)
{
	const char *v = state_field(text, key);
	char *end;
	unsigned long long n = v ? strtoull(v, &end, base) : 0;
	if (!v || end == v)
		*ok = 0;
	return n;
}

static int read_state(struct ds *d, struct src_id *id)
{
	struct box_buf b = { 0 };
	int ok = 1;

	memset(id, 0, sizeof(*id));
	if (!d->state_path || box_read_file(d->state_path, &b) < 0)
		return 0;
	box_buf_addc(&b, 0);
	const char *t = b.p, *v;
	id->type = state_num(t, "type", 16, &ok);
	id->fsid = state_num(t, "fsid", 16, &ok);
	id->root_ino = state_num(t, "root", 10, &ok);
	id->dev = state_num(t, "dev", 10, &ok);
	id->has_btime = (int)state_num(t, "btime", 10, &ok);
	if (id->has_btime) {
		id->btime_s = (long long)state_num(t, "btime_s", 10, &ok);
		id->btime_ns = (unsigned)state_num(t, "btime_ns", 10, &ok);
	}
	if ((v = state_field(t, "source")))
		snprintf(id->source, sizeof(id->source), "%.*s", (int)strcspn(v, "\n"), v);
	v = state_field(t, "dst");
	ok = ok && v && !strncmp(v, d->dst_real, strlen(d->dst_real)) &&
		v[strlen(d->dst_real)] == '\n';
	box_buf_free(&b);
	return ok;
}

static void write_state(struct ds *d, const struct src_id *id)
{
	if (!d->state_path)
		return;
	char *dir = ds_dir_name(d->state_path), *tmp = box_xasprintf("%s.%d", d->state_path, d->pid);
	for (char *s = dir + 1;; s++) {
		char c = *s;
		if (c && c != '/')
			continue;
		*s = 0;
		mkdir(dir, 0700);
		*s = c;
		if (!c)
			break;
	}
	int fd = box_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	struct box_buf b = { 0 };
	box_buf_printf(&b, "type %llx\nfsid %llx\nroot %llu\ndev %llu\nbtime %d\nbtime_s %lld\n"
		"btime_ns %u\nsource %s\ndst %s\n", id->type, id->fsid, id->root_ino, id->dev,
		id->has_btime, id->btime_s, id->btime_ns, id->source, d->dst_real);
	if (fd < 0 || box_write_all(fd, b.p, b.len) < 0 || close(fd) < 0 ||
	    rename(tmp, d->state_path) < 0) {
		box_warn_errno("unable to record the source's filesystem in %s", d->state_path);
		unlink(tmp);
	}
	box_buf_free(&b);
	free(tmp);
	free(dir);
}

/* ---- checks ---------------------------------------------------------------------- */

/* Says why a run is refused; in watch mode only when the reason changed. */
void ds_refuse(struct ds *d, enum refusal why, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->refusal == why && d->watch)
		return;
	d->refusal = why;
	box_warn("refusing to %s: %s", why == REFUSE_MASS ? "delete" : "sync", msg);
}

static int check_identity(struct ds *d, int *gone)
{
	struct src_id now, was;

	int known = read_state(d, &was);
	/* the mount's source is read only when nothing better tells */
	source_id(d->sfd, &now, !known || (!was.fsid && !was.has_btime));
	if (known && !same_source(&was, &now)) {
		*gone = 1;
		ds_refuse(d, REFUSE_OTHER_FS, "source %s is not the filesystem it was on (%s, "
			"device %u:%u; before: %s, device %u:%u); remove %s if this is intended",
			d->src, *now.source ? now.source : "?", major(now.dev), minor(now.dev),
			*was.source ? was.source : "?", major(was.dev), minor(was.dev),
			d->state_path);
		return -1;
	}
	/* first run, or the same disk under another name: keep it current */
	if (!d->dry && (!known || was.dev != now.dev || was.root_ino != now.root_ino)) {
		if (!*now.source)
			source_id(d->sfd, &now, 1);
		write_state(d, &now);
	}
	return 0;
}

/* Checks SRC before a run may delete anything; on refusal says why and
 * returns -1 (nothing was changed). *gone is set when SRC is missing or
 * is another filesystem. */
int ds_check_source(struct ds *d, int *gone)
{
	struct stat st;

	*gone = 0;
	if (d->sfd >= 0)
		box_close(d->sfd);
	d->sfd = box_open(d->src, O_RDONLY | O_DIRECTORY, 0);
	if (d->sfd < 0 || fstat(d->sfd, &st) < 0) {
		*gone = 1;
		ds_refuse(d, REFUSE_MISSING, "source %s is not there: %s", d->src, strerror(errno));
		return -1;
	}
	if (check_identity(d, gone) < 0)
		return -1;
	int dfd = d->dfd >= 0 ? d->dfd : box_open(d->dst, O_RDONLY | O_DIRECTORY, 0);
	int emptied = ds_dir_is_empty(d, d->sfd) && dfd >= 0 && !ds_dir_is_empty(d, dfd);
	if (dfd >= 0 && dfd != d->dfd)
		box_close(dfd);
	if (emptied) {
		ds_refuse(d, REFUSE_EMPTIED, "source %s is empty and destination %s is not",
			d->src, d->dst);
		return -1;
	}
	if (d->refusal && d->refusal != REFUSE_MASS && d->refusal != REFUSE_INSIDE)
		box_warn("source %s is back", d->src);
	d->refusal = REFUSE_NONE;
	return 0;
}

/* Right before deleting: SRC is still the directory the run walked, on
 * the same filesystem, and not empty. */
int ds_source_still(struct ds *d)
{
	struct stat was, now;
	int gone, fd = box_open(d->src, O_RDONLY | O_DIRECTORY, 0);

	if (fd < 0 || fstat(fd, &now) < 0 || fstat(d->sfd, &was) < 0 ||
	    now.st_dev != was.st_dev || now.st_ino != was.st_ino) {
		if (fd >= 0)
			box_close(fd);
		ds_refuse(d, REFUSE_MISSING, "source %s went away during the run; nothing deleted",
			d->src);
		return -1;
	}
	box_close(fd);
	if (check_identity(d, &gone) < 0)
		return -1;
	if (ds_dir_is_empty(d, d->sfd)) {
		ds_refuse(d, REFUSE_EMPTIED, "source %s was emptied during the run; nothing deleted",
			d->src);
		return -1;
	}
	return 0;
}

static int path_inside(const char *inner, const char *outer)
{
	size_t n = strlen(outer);
	if (n == 1)	/* "/" */
		return 1;
	return !strncmp(inner, outer, n) && inner[n] == '/';
}

struct location {
	const char *real;
	size_t best_len;
	char *best, *dev;
	size_t devsize;
};

static int location_seen(void *ctx, const struct box_mount *m)
{
	struct location *q = ctx;
	size_t n = strlen(m->dir);
	int top = !strcmp(m->dir, "/");

	if (!top && (strncmp(q->real, m->dir, n) || (q->real[n] != '/' && q->real[n])))
		return 0;
	if (top)
		n = 0;
	if (n < q->best_len)
		return 0;
	q->best_len = n;
	free(q->best);
	const char *rest = q->real + n;
	q->best = box_xasprintf("%s%s", strcmp(m->root, "/") ? m->root : "", rest);
	if (!*q->best) {
		free(q->best);
		q->best = box_xstrdup("/");
	}
	snprintf(q->dev, q->devsize, "%u:%u", major(m->dev), minor(m->dev));
	return 0;
}

/* Where the real path real is inside its filesystem: the mount holding
 * it (the longest mount point above it, the last mounted when several),
 * its device, and root of the mount + the rest of the path. A bind mount
 * shows the same filesystem path under another name. NULL when unknown. */
static char *fs_location(const char *real, char *dev, size_t devsize)
{
	struct location q = { real, 0, NULL, dev, devsize };
	box_mountinfo(location_seen, &q);
	return q.best;
}

/* rsync's rule: a colon before the first slash makes a remote path. */
static void refuse_remote(const char *p)
{
	const char *colon = strchr(p, ':'), *slash = strchr(p, '/');
	if (colon && (!slash || colon < slash))
		box_usage("%s: remote paths (HOST:PATH) are not supported; write ./%s for a "
			"local one", p, p);
}

/* SRC and DST must be two separate trees; DST's parent must exist. Sets
 * d->dst_real, DST's real path (which may not exist yet). */
void ds_check_paths(struct ds *d)
{
	char *src, *dst;
	struct stat a, b;

	refuse_remote(d->src);
	refuse_remote(d->dst);
	src = realpath(d->src, NULL);
	if (!src) {
		if (errno == ENOENT)
			box_die(EXIT_REFUSED, "refusing to sync: source %s does not exist", d->src);
		box_die_errno(EXIT_FILESELECT, "unable to resolve %s", d->src);
	}
	if (stat(src, &a) < 0 || !S_ISDIR(a.st_mode))
		box_die(EXIT_FILESELECT, "source %s is not a directory", d->src);
	dst = realpath(d->dst, NULL);
	if (!dst) {
		char *copy = box_xstrdup(d->dst), *slash;
		size_t n = strlen(copy);
		while (n > 1 && copy[n - 1] == '/')
			copy[--n] = 0;
		slash = strrchr(copy, '/');
		char *parent = realpath(slash ? (slash == copy ? "/" : (*slash = 0, copy)) : ".", NULL);
		if (!parent)
			box_die_errno(EXIT_FILESELECT, "unable to resolve the parent of %s", d->dst);
		const char *base = slash ? slash + 1 : copy;
		if (!strcmp(base, ".") || !strcmp(base, ".."))
			box_die(EXIT_FILESELECT, "unable to resolve %s", d->dst);
		dst = box_xasprintf("%s%s%s", parent, strcmp(parent, "/") ? "/" : "", base);
		free(parent);
		free(copy);
	}
	if (!strcmp(dst, "/"))
		box_die(EXIT_REFUSED, "refusing to sync: destination is /");
	if (!strcmp(src, dst) || (stat(dst, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino))
		box_die(EXIT_REFUSED, "refusing to sync: source and destination are the same directory");
	if (path_inside(dst, src))
		box_die(EXIT_REFUSED, "refusing to sync: destination %s is inside source %s", d->dst, d->src);
	if (path_inside(src, dst))
		box_die(EXIT_REFUSED, "refusing to sync: source %s is inside destination %s", d->src, d->dst);
	/* the same, through bind mounts: paths inside the filesystem */
	char sdev[32], ddev[32];
	char *fs_src = fs_location(src, sdev, sizeof(sdev)), *fs_dst = fs_location(dst, ddev, sizeof(ddev));
	if (fs_src && fs_dst && !strcmp(sdev, ddev)) {
		if (!strcmp(fs_src, fs_dst))
			box_die(EXIT_REFUSED, "refusing to sync: source and destination are the same "
				"directory (through a bind mount)");
		if (path_inside(fs_dst, fs_src))
			box_die(EXIT_REFUSED, "refusing to sync: destination %s is inside source %s "
				"(through a bind mount)", d->dst, d->src);
		if (path_inside(fs_src, fs_dst))
			box_die(EXIT_REFUSED, "refusing to sync: source %s is inside destination %s "
				"(through a bind mount)", d->src, d->dst);
	}
	free(fs_src);
	free(fs_dst);
	free(src);
	d->dst_real = dst;
	d->state_path = state_path(d);
}

/* Opens DST (creating its last component unless -n); -1 when -n and it
 * does not exist yet. */
int ds_open_dst(struct ds *d, int create)
{
	struct stat st;
	int fd = box_open(d->dst, O_RDONLY | O_DIRECTORY, 0);

	if (fd < 0 && errno == ENOTDIR)
		box_die(EXIT_FILESELECT, "destination %s is not a directory", d->dst);
	if (fd < 0 && errno != ENOENT)
		box_die_errno(EXIT_FILESELECT, "unable to open %s", d->dst);
	if (fd < 0 && !create)
		return -1;
	if (fd < 0) {
		if (mkdir(d->dst, 0700) < 0 && errno != EEXIST)
			box_die_errno(errno == ENOSPC || errno == EROFS ? EXIT_FILEIO : EXIT_FILESELECT,
				"unable to create directory %s", d->dst);
		fd = box_open(d->dst, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0)
			box_die_errno(EXIT_FILESELECT, "unable to open %s", d->dst);
		d->dst_created = 1;
	}
	if (fstat(fd, &st) == 0) {
		d->dst_dev = st.st_dev;
		d->dst_ino = st.st_ino;
	}
	return fd;
}

/* Is the directory st (met in SRC) DST itself or the backup directory? */
int ds_inside_dst(const struct ds *d, const struct stat *st)
{
	return (st->st_ino == d->dst_ino && st->st_dev == d->dst_dev) ||
		(d->bfd >= 0 && st->st_ino == d->bk_ino && st->st_dev == d->bk_dev);
}

/* The backup directory: relative paths are relative to DST (as rsync's)
 * and are opened below DST's descriptor without following a symlink; it
 * may be neither DST itself nor inside SRC; inside DST it is excluded
 * from the mirror. Returns its fd, or -1 (dry run, not there yet). */
int ds_open_backup(struct ds *d)
{
	const char *b = d->backup_arg;
	char *full = b[0] == '/' ? box_xstrdup(b) : box_xasprintf("%s/%s", d->dst_real, b);
	char *real = realpath(full, NULL), *src = realpath(d->src, NULL);
	const char *in = real ? real : full;
	int fd = -1;
	struct stat bs, dst;

	if (!strcmp(in, d->dst_real) || (src && (!strcmp(in, src) || path_inside(in, src))))
		box_die(EXIT_USAGE, "refusing --backup-dir %s: it is %s", b,
			!strcmp(in, d->dst_real) ? "the destination itself" : "inside the source");
	if (path_inside(full, d->dst_real) && d->dfd >= 0) {
		/* below DST: never through a symlink someone mirrored there */
		const char *rel = full + strlen(d->dst_real) + 1;
		fd = ds_open_dir_at(d->dfd, rel, !d->dry);
		if (fd < 0 && errno == ELOOP)
			box_die(EXIT_USAGE, "refusing --backup-dir %s: a symlink on the way", b);
		if (fd < 0 && errno == ENOTDIR) {
			char *up = ds_dir_name(rel);
			struct stat ls;
			int pfd = *up ? ds_open_dir_at(d->dfd, up, 0) : dup(d->dfd);
			if (pfd >= 0 && fstatat(pfd, box_basename(rel), &ls, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(ls.st_mode))
				box_die(EXIT_USAGE, "refusing --backup-dir %s: a symlink on the way", b);
		}
	} else {
		if (!d->dry)
			for (char *s = full + 1;; s++) {
				char c = *s;
				if (c && c != '/')
					continue;
				*s = 0;
				if (mkdir(full, 0700) < 0 && errno != EEXIST)
					box_die_errno(EXIT_FILESELECT, "unable to create backup directory %s", full);
				*s = c;
				if (!c)
					break;
			}
		fd = box_open(full, O_RDONLY | O_DIRECTORY, 0);
	}
	if (fd < 0 && !(d->dry && errno == ENOENT))
		box_die_errno(EXIT_FILESELECT, "unable to open backup directory %s", full);
	if (fd >= 0 && d->dfd >= 0 && fstat(fd, &bs) == 0 && fstat(d->dfd, &dst) == 0) {
		if (bs.st_dev != dst.st_dev)
			box_die(EXIT_FILESELECT, "backup directory %s is not on the filesystem of %s",
				full, d->dst);
		d->bk_dev = bs.st_dev;
		d->bk_ino = bs.st_ino;
	}
	if (path_inside(in, d->dst_real) && !d->npats_backup) {
		/* the path as a pattern: its wildcards escaped */
		struct box_buf lit = { 0 };
		const char *rel = in + strlen(d->dst_real) + 1;
		int wild = strpbrk(rel, "*?[") != NULL;	/* else compared as it is */
		for (; *rel; rel++) {
			if (wild && strchr("*?[\\", *rel))
				box_buf_addc(&lit, '\\');
			box_buf_addc(&lit, *rel);
		}
		box_buf_addc(&lit, 0);
		char *pat = box_xasprintf("/%s/", lit.p);
		box_buf_free(&lit);
		dirsync_pattern_parse(pat, BOX_PUSH(d->pats, d->npats, d->cpats));
		d->npats_backup = 1;
		free(pat);
	}
	free(src);
	free(real);
	free(full);
	return fd;
}
