/* dirsync's safety layer: before a run may delete anything, SRC must be
 * there, on the filesystem recorded in DST, and not emptied while DST is
 * full; SRC and DST must be separate trees. A refusal says why, once per
 * reason, and changes nothing. */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int ds_dir_is_empty(struct ds *d, int fd, int dst)
{
	struct names ns;
	int empty = 1;
	if (ds_list_dir(fd, &ns) < 0) {
		ds_free_names(&ns);
		return 0;
	}
	for (size_t i = 0; i < ns.n && empty; i++) {
		struct stat st;
		if (dst && (!strcmp(ns.v[i], STATE_NAME) || ds_is_temp_name(ns.v[i])))
			continue;
		if (!dst && !strcmp(ns.v[i], STATE_NAME))
			continue;
		if (fstatat(fd, ns.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    ds_excluded(d, ns.v[i], S_ISDIR(st.st_mode)))
			continue;
		empty = 0;
	}
	ds_free_names(&ns);
	return empty;
}

/* The recorded source filesystem: "dev MAJOR:MINOR". 0 when none. */
static int read_state(struct ds *d, unsigned *maj, unsigned *min)
{
	char buf[64];
	int fd = openat(d->dfd, STATE_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ssize_t n = box_read_full(fd, buf, sizeof(buf) - 1);
	box_close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *colon = strchr(buf, ':'), *end;
	if (strncmp(buf, "dev ", 4) || !colon)
		return 0;
	*maj = (unsigned)strtoul(buf + 4, &end, 10);
	if (end != colon)
		return 0;
	*min = (unsigned)strtoul(colon + 1, &end, 10);
	return end > colon + 1;
}

static void write_state(struct ds *d, dev_t dev)
{
	char tmp[NAME_MAX + 1], line[64];
	int n = snprintf(line, sizeof(line), "dev %u:%u\n", major(dev), minor(dev));
	ds_temp_name(d, STATE_NAME, tmp, sizeof(tmp));
	int fd = openat(d->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || box_write_all(fd, line, (size_t)n) < 0 || close(fd) < 0 ||
	    renameat(d->dfd, tmp, d->dfd, STATE_NAME) < 0) {
		ds_dst_error(d, "record the source in", STATE_NAME);
		unlinkat(d->dfd, tmp, 0);
	}
}

/* Says why a run is refused; in watch mode only when the reason changed. */
static void refuse(struct ds *d, enum refusal why, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->refusal == why)
		return;
	d->refusal = why;
	box_warn("refusing to sync: %s", msg);
}

/* Checks SRC before a run may delete anything; on refusal says why and
 * returns -1 (nothing was changed). *gone is set when SRC is missing. */
int ds_check_source(struct ds *d, int *gone)
{
	struct stat st;
	unsigned maj, min;

	*gone = 0;
	if (d->sfd >= 0)
		box_close(d->sfd);
	d->sfd = box_open(d->src, O_RDONLY | O_DIRECTORY, 0);
	if (d->sfd < 0 || fstat(d->sfd, &st) < 0) {
		*gone = 1;
		refuse(d, REFUSE_MISSING, "source %s is not there: %s", d->src, strerror(errno));
		return -1;
	}
	if (read_state(d, &maj, &min) && (major(st.st_dev) != maj || minor(st.st_dev) != min)) {
		*gone = 1;
		refuse(d, REFUSE_OTHER_FS, "source %s is on another filesystem (dev %u:%u) than "
			"recorded in %s/" STATE_NAME " (dev %u:%u); remove that file if this is intended",
			d->src, major(st.st_dev), minor(st.st_dev), d->dst, maj, min);
		return -1;
	}
	if (ds_dir_is_empty(d, d->sfd, 0) && d->dfd >= 0 && !ds_dir_is_empty(d, d->dfd, 1)) {
		refuse(d, REFUSE_EMPTIED, "source %s is empty and destination %s is not",
			d->src, d->dst);
		return -1;
	}
	if (!d->dry && d->dfd >= 0 && !read_state(d, &maj, &min))
		write_state(d, st.st_dev);
	if (d->refusal)
		box_warn("source %s is back", d->src);
	d->refusal = REFUSE_NONE;
	return 0;
}

static int path_inside(const char *inner, const char *outer)
{
	size_t n = strlen(outer);
	if (n == 1)	/* "/" */
		return 1;
	return !strncmp(inner, outer, n) && inner[n] == '/';
}

/* SRC and DST must be two separate trees; DST's parent must exist.
 * Returns DST's real path (which may not exist yet). */
char *ds_check_paths(struct ds *d)
{
	char *src = realpath(d->src, NULL), *dst;
	struct stat a, b;

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
	free(src);
	return dst;
}

/* Opens DST (creating its last component unless -n); -1 when -n and it
 * does not exist yet. */
int ds_open_dst(struct ds *d, int create)
{
	int fd = box_open(d->dst, O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0)
		return fd;
	if (errno == ENOTDIR)
		box_die(EXIT_FILESELECT, "destination %s is not a directory", d->dst);
	if (errno != ENOENT)
		box_die_errno(EXIT_FILESELECT, "unable to open %s", d->dst);
	if (!create)
		return -1;
	if (mkdir(d->dst, 0700) < 0 && errno != EEXIST)
		box_die_errno(errno == ENOSPC || errno == EROFS ? EXIT_FILEIO : EXIT_FILESELECT,
			"unable to create directory %s", d->dst);
	fd = box_open(d->dst, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		box_die_errno(EXIT_FILESELECT, "unable to open %s", d->dst);
	d->dst_created = 1;
	return fd;
}

/* The backup directory: relative paths are relative to DST (as rsync's);
 * inside DST it is excluded from the mirror. */
void ds_open_backup(struct ds *d, const char *dst_real)
{
	const char *b = d->backup_arg;
	char *full = b[0] == '/' ? box_xstrdup(b) : box_xasprintf("%s/%s", dst_real, b);
	struct stat bs, ds_;

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
	d->bfd = box_open(full, O_RDONLY | O_DIRECTORY, 0);
	if (d->bfd < 0 && !(d->dry && errno == ENOENT))
		box_die_errno(EXIT_FILESELECT, "unable to open backup directory %s", full);
	if (d->bfd >= 0 && d->dfd >= 0 && fstat(d->bfd, &bs) == 0 && fstat(d->dfd, &ds_) == 0 &&
	    bs.st_dev != ds_.st_dev)
		box_die(EXIT_FILESELECT, "backup directory %s is not on the filesystem of %s", full, d->dst);
	char *real = realpath(full, NULL);
	const char *in = real ? real : full;
	if (path_inside(in, dst_real)) {
		char *pat = box_xasprintf("/%s/", in + strlen(dst_real) + 1);
		dirsync_pattern_parse(pat, BOX_PUSH(d->pats, d->npats, d->cpats));
		free(pat);
	}
	free(real);
	free(full);
}

