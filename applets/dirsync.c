/* dirsync: make DST an exact mirror of SRC (files, directories, symlinks,
 * special files, permissions, nanosecond mtimes, owners when root), once
 * or continuously with inotify, and refuse to delete anything when SRC
 * vanished, was emptied, unmounted or replaced by another filesystem.
 *
 * Every write goes through *at() calls on directory fds opened with
 * O_NOFOLLOW, new data lands in a temp file renamed into place, deletions
 * happen after all copies and directory times are set last. */
#include "../libbox/box.h"
#include "dirsync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"dirsync [-nivcw] [--no-delete] [--exclude PAT]... [--max-delete N] "
	"[--backup-dir DIR] [--fsync none|batch|file] [--delay DUR] [--poll DUR] SRC DST";

static const char help[] =
	"Make DST an exact copy of the directory SRC (like rsync -a --delete SRC/ DST/),\n"
	"once, or continuously with -w. Options come before SRC and DST.\n"
	"\n"
	"  -n, --dry-run         change nothing, say what would be done (with -i/-v)\n"
	"  -i, --itemize-changes one rsync-style line per change (YXcstpoguax name)\n"
	"  -v, --verbose         name changed entries, then a stats line\n"
	"  -c, --checksum        compare file contents, not just size and mtime\n"
	"      --no-delete       keep entries of DST that SRC does not have\n"
	"      --exclude PAT     skip entries matching PAT (repeatable); excluded\n"
	"                        entries of DST are never deleted\n"
	"      --max-delete N    delete at most N entries (exit 25 when more were due)\n"
	"      --backup-dir DIR  move replaced and deleted entries to DIR (relative\n"
	"                        to DST unless absolute; same filesystem as DST)\n"
	"      --fsync MODE      none (default), batch (one syncfs at the end) or\n"
	"                        file (fsync every file before it is renamed in)\n"
	"  -w, --watch           keep DST in sync: inotify, else polling\n"
	"      --delay DUR       coalesce changes for DUR before syncing (default 1s)\n"
	"      --poll DUR        poll every DUR instead of using inotify\n"
	"\n"
	"Exit status: 0 ok, 1 usage, 3 bad SRC/DST, 11 file I/O error on DST,\n"
	"16 refused for safety (nothing deleted), 20 interrupted, 23 partial\n"
	"transfer, 24 source files vanished, 25 --max-delete limit reached.\n";

/* <linux/fs.h> is not available with musl: FICLONE = _IOW(0x94, 9, int). */
#define DIRSYNC_FICLONE 0x40049409

enum {
	EXIT_USAGE = 1,
	EXIT_FILESELECT = 3,
	EXIT_FILEIO = 11,
	EXIT_REFUSED = 16,	/* not used by rsync */
	EXIT_SIGNAL = 20,
	EXIT_PARTIAL = 23,
	EXIT_VANISHED = 24,
	EXIT_MAXDELETE = 25,
};

/* Kept in DST's top directory, never mirrored or deleted. */
#define STATE_NAME ".dirsync-source"
#define TEMP_TAG ".dirsync."

/* ---- exclude patterns ---------------------------------------------------- */

/* Matching rules (documented in dirsync.1):
 *   *   any run of bytes except '/'      **  any run of bytes
 *   ?   one byte except '/'              [a-z] [!x] a class, never '/'
 *   \x  x literally
 * A pattern without '/' matches an entry's name at any depth; a pattern
 * with a leading '/' matches the path from the top of SRC; another '/'
 * makes it match the path's tail at a component boundary; a trailing '/'
 * matches directories only. An excluded directory is skipped whole. */
struct glob {
	const char *p, *s;
	size_t plen, slen;
	unsigned char *failed;	/* (pattern pos, string pos) pairs known to fail */
};

/* Matches one byte against the class at p[*pi] ('['); advances *pi past
 * ']'. Returns -1 when the class is not closed (then '[' is literal). */
static int glob_class(const struct glob *g, size_t *pi, unsigned char c)
{
	size_t i = *pi + 1;
	int neg = 0, hit = 0;

	if (i < g->plen && (g->p[i] == '!' || g->p[i] == '^')) {
		neg = 1;
		i++;
	}
	for (int first = 1; i < g->plen; first = 0) {
		unsigned char lo = (unsigned char)g->p[i];
		if (lo == ']' && !first) {
			*pi = i;
			return c != '/' && hit != neg;
		}
		if (lo == '\\' && i + 1 < g->plen)
			lo = (unsigned char)g->p[++i];
		i++;
		unsigned char hi = lo;
		if (i + 1 < g->plen && g->p[i] == '-' && g->p[i + 1] != ']') {
			hi = (unsigned char)g->p[i + 1];
			if (hi == '\\' && i + 2 < g->plen)
				hi = (unsigned char)g->p[++i + 1];
			i += 2;
		}
		if (c >= lo && c <= hi)
			hit = 1;
	}
	return -1;
}

static int glob_at(struct glob *g, size_t pi, size_t si)
{
	while (pi < g->plen) {
		unsigned char c = (unsigned char)g->p[pi];
		if (c == '*') {
			int any = pi + 1 < g->plen && g->p[pi + 1] == '*';
			size_t next = pi + 1 + (size_t)any, key = pi * (g->slen + 1) + si;
			if (g->failed && (g->failed[key >> 3] & (1u << (key & 7))))
				return 0;
			for (size_t k = si;; k++) {
				if (glob_at(g, next, k))
					return 1;
				if (k == g->slen || (!any && g->s[k] == '/'))
					break;
			}
			if (g->failed)
				g->failed[key >> 3] |= (unsigned char)(1u << (key & 7));
			return 0;
		}
		if (si == g->slen)
			return 0;
		unsigned char sc = (unsigned char)g->s[si];
		if (c == '?') {
			if (sc == '/')
				return 0;
		} else if (c == '[') {
			size_t end = pi;
			int r = glob_class(g, &end, sc);
			if (r == 0)
				return 0;
			if (r < 0 && sc != '[')
				return 0;
			pi = r < 0 ? pi : end;
		} else {
			if (c == '\\' && pi + 1 < g->plen)
				c = (unsigned char)g->p[++pi];
			if (c != sc)
				return 0;
		}
		pi++;
		si++;
	}
	return si == g->slen;
}

static int glob_match(const struct dirsync_pattern *p, const char *s)
{
	struct glob g = { p->text, s, strlen(p->text), strlen(s), NULL };
	/* Two or more stars can backtrack exponentially: remember failures. */
	if (p->stars > 1)
		g.failed = box_xcalloc((g.plen + 1) * (g.slen + 1) / 8 + 1, 1);
	int r = glob_at(&g, 0, 0);
	free(g.failed);
	return r;
}

int dirsync_pattern_parse(const char *s, struct dirsync_pattern *p)
{
	size_t n = strlen(s);

	memset(p, 0, sizeof(*p));
	p->anchored = s[0] == '/';
	while (*s == '/' && n) {
		s++;
		n--;
	}
	while (n && s[n - 1] == '/') {
		p->dironly = 1;
		n--;
	}
	if (!n || n > 1024)
		return -1;
	p->text = box_xmalloc(n + 1);
	memcpy(p->text, s, n);
	p->text[n] = 0;
	p->path = p->anchored || memchr(p->text, '/', n) != NULL;
	for (size_t i = 0; i < n; i++)
		if (p->text[i] == '*')
			p->stars++;
	return 0;
}

int dirsync_pattern_match(const struct dirsync_pattern *p, const char *rel, int isdir)
{
	if (p->dironly && !isdir)
		return 0;
	if (p->anchored)
		return glob_match(p, rel);
	if (!p->path) {
		const char *base = strrchr(rel, '/');
		return glob_match(p, base ? base + 1 : rel);
	}
	for (const char *s = rel;;) {
		if (glob_match(p, s))
			return 1;
		s = strchr(s, '/');
		if (!s)
			return 0;
		s++;
	}
}

/* ---- state -------------------------------------------------------------- */

struct dir_fix {
	char *rel;
	struct stat st;		/* the source directory's attributes */
};

struct ds {
	/* options */
	int dry, itemize, verbose, checksum, no_delete, fsync_mode, watch;
	long long max_delete;	/* -1: no limit */
	int64_t delay, poll;
	const char *backup_arg;
	struct dirsync_pattern *pats;
	int npats;
	/* paths and fds */
	const char *src, *dst;
	int sfd, dfd, bfd, sigfd;
	int root;		/* running as root: owners are copied */
	int dst_created;	/* DST did not exist before this run */
	int refusal;		/* the reason of the last refusal, 0: none */
	dev_t root_dev;		/* watch mode: the SRC directory being watched */
	ino_t root_ino;
	int clone_ok, cfr_ok;
	/* results of one run */
	int read_errs, vanished, fatal, interrupted, maxdel_hit;
	long long nfiles, ndirs, nother, nxfer, ndeleted, bytes;
	long long changes;	/* reported changes: a directory needs its times fixed */
	char **dels;
	size_t ndels, cdels;
	struct dir_fix *fixes;
	size_t nfixes, cfixes;
	unsigned tmp_seq;
	pid_t pid;
	struct box_buf out;
	/* watch mode: wd -> relative directory path */
	int ifd;
	char **wdpath;
	int nwd;
};

enum { FSYNC_NONE, FSYNC_BATCH, FSYNC_FILE };

static char *join(const char *rel, const char *name)
{
	return *rel ? box_xasprintf("%s/%s", rel, name) : box_xstrdup(name);
}

static void out_flush(struct ds *d)
{
	if (d->out.len)
		box_write_all(1, d->out.p, d->out.len);
	d->out.len = 0;
}

/* Names as rsync prints them: control bytes become \#ooo, so every entry
 * stays on one line whatever its name holds. */
static void out_name(struct ds *d, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 32 || c == 127)
			box_buf_printf(&d->out, "\\#%03o", c);
		else
			box_buf_addc(&d->out, (char)c);
	}
}

/* One itemized (-i) or verbose (-v) line. code is rsync's 11 characters. */
static void report(struct ds *d, const char *code, const char *rel, int isdir, const char *target)
{
	d->changes++;
	if (!d->itemize && !d->verbose)
		return;
	if (d->itemize) {
		box_buf_adds(&d->out, code);
		box_buf_addc(&d->out, ' ');
	} else if (code[0] == '*') {
		box_buf_adds(&d->out, "deleting ");
	}
	out_name(d, *rel ? rel : ".");
	if (isdir)
		box_buf_addc(&d->out, '/');
	if (target) {
		box_buf_adds(&d->out, " -> ");
		out_name(d, target);
	}
	box_buf_addc(&d->out, '\n');
	if (d->out.len > 65536)
		out_flush(d);
}

static void check_signal(struct ds *d)
{
	int err = errno;	/* callers report the error before this */
	if (d->sigfd >= 0 && box_sigfd_read(d->sigfd) > 0)
		d->interrupted = 1;
	errno = err;
}

static int stopped(const struct ds *d)
{
	return d->fatal || d->interrupted;
}

/* An error writing DST. Running out of space or a dead disk stops the
 * run (exit 11); anything else (a permission) is a partial transfer. */
static void dst_error(struct ds *d, const char *what, const char *rel)
{
	int err = errno;
	box_warn_errno("unable to %s %s/%s", what, d->dst, rel);
	if (err == ENOSPC || err == EDQUOT || err == EIO || err == EROFS)
		d->fatal = 1;
	else
		d->read_errs++;
}

/* An error reading SRC: ENOENT means it vanished since it was listed. */
static void src_error(struct ds *d, const char *what, const char *rel)
{
	if (errno == ENOENT) {
		box_warn("file has vanished: %s/%s", d->src, rel);
		d->vanished++;
	} else {
		box_warn_errno("unable to %s %s/%s", what, d->src, rel);
		d->read_errs++;
	}
}

static int excluded(const struct ds *d, const char *rel, int isdir)
{
	for (int i = 0; i < d->npats; i++)
		if (dirsync_pattern_match(&d->pats[i], rel, isdir))
			return 1;
	return 0;
}

static int is_temp_name(const char *name)
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
static void temp_name(struct ds *d, const char *name, char *buf, size_t size)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned v = (unsigned)d->pid * 2654435761u + d->tmp_seq++ * 40503u + (unsigned)box_now_ns();
	int keep = (int)strnlen(name, 200);
	int n = snprintf(buf, size, ".%.*s" TEMP_TAG, keep, name);
	for (int i = 0; i < 6 && (size_t)n + 1 < size; i++, v /= 36)
		buf[n++] = digits[v % 36];
	buf[n] = 0;
}

/* Sorted names of a directory (without . and ..). */
struct names {
	char **v;
	size_t n;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(int fd, struct names *ns)
{
	size_t cap = 0;
	int lfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = lfd < 0 ? NULL : fdopendir(lfd);
	struct dirent *e;

	ns->v = NULL;
	ns->n = 0;
	if (!dir) {
		if (lfd >= 0)
			box_close(lfd);
		return -1;
	}
	errno = 0;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (ns->n == cap) {
			cap = cap ? cap * 2 : 32;
			ns->v = box_xrealloc(ns->v, cap * sizeof(*ns->v));
		}
		ns->v[ns->n++] = box_xstrdup(e->d_name);
	}
	int err = errno;
	closedir(dir);
	if (ns->n)
		qsort(ns->v, ns->n, sizeof(*ns->v), cmp_names);
	errno = err;
	return err ? -1 : 0;
}

static void free_names(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

/* Opens the directory rel below top, one component at a time, never following a
 * symlink. -1 with errno when a component is missing or not a directory. */
static int open_dir_at(int top, const char *rel)
{
	int fd = dup(top);
	char *copy = box_xstrdup(rel), *save = NULL;

	box_set_cloexec(fd, 1);
	for (char *c = strtok_r(copy, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		box_close(fd);
		fd = next;
	}
	free(copy);
	return fd;
}

static int open_dst_dir(struct ds *d, const char *rel)
{
	return open_dir_at(d->dfd, rel);
}

static const char *base_name(const char *rel)
{
	const char *s = strrchr(rel, '/');
	return s ? s + 1 : rel;
}

static char *dir_name(const char *rel)
{
	const char *s = strrchr(rel, '/');
	return s ? box_xasprintf("%.*s", (int)(s - rel), rel) : box_xstrdup("");
}

/* ---- backups -------------------------------------------------------------- */

/* Opens (creating) the backup directory for DST's directory rel. */
static int open_backup_dir(struct ds *d, const char *rel)
{
	int fd = dup(d->bfd);
	char *copy = box_xstrdup(rel), *save = NULL;

	box_set_cloexec(fd, 1);
	for (char *c = strtok_r(copy, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
		if (mkdirat(fd, c, 0700) < 0 && errno != EEXIST) {
			box_close(fd);
			fd = -1;
			break;
		}
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		box_close(fd);
		fd = next;
	}
	free(copy);
	return fd;
}

static int remove_tree(int dirfd, const char *name);

/* Puts DST's entry rel (in directory pfd) into the backup tree: hard
 * linked when keep is set (it is about to be replaced atomically), moved
 * otherwise. An older backup of the same path is replaced. */
static int backup_entry(struct ds *d, int pfd, const char *rel, int keep)
{
	char *dir = dir_name(rel);
	int bfd = open_backup_dir(d, dir), r = -1;
	const char *name = base_name(rel);

	free(dir);
	if (bfd >= 0) {
		remove_tree(bfd, name);
		r = keep ? linkat(pfd, name, bfd, name, 0) : renameat(pfd, name, bfd, name);
		box_close(bfd);
	}
	if (r < 0)
		dst_error(d, "back up", rel);
	return r;
}

/* ---- deleting ------------------------------------------------------------- */

static int remove_tree(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct names ns;
	if (fd < 0)
		return -1;
	if (list_dir(fd, &ns) == 0)
		for (size_t i = 0; i < ns.n; i++)
			remove_tree(fd, ns.v[i]);
	free_names(&ns);
	box_close(fd);
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Counts the entries below and including DST's rel that would go. */
static long long count_tree(int pfd, const char *name)
{
	struct stat st;
	long long n = 1;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return n;
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct names ns;
	if (fd < 0)
		return n;
	if (list_dir(fd, &ns) == 0)
		for (size_t i = 0; i < ns.n; i++)
			n += count_tree(fd, ns.v[i]);
	free_names(&ns);
	box_close(fd);
	return n;
}

/* Reports (and unless -n, removes) DST's entry rel in directory pfd,
 * children first. Entries matching an exclude pattern stay, and so does
 * the directory holding them. Returns 1 when the entry is (or would be)
 * gone. With a backup dir the top entry is moved there whole. */
static int delete_entry(struct ds *d, int pfd, const char *rel, int top)
{
	const char *name = base_name(rel);
	struct stat st;
	int gone = 1;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT;
	int isdir = S_ISDIR(st.st_mode);
	if (!top && excluded(d, rel, isdir))
		return 0;
	if (isdir) {
		int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct names ns;
		if (fd < 0 || list_dir(fd, &ns) < 0) {
			dst_error(d, "read directory", rel);
			if (fd >= 0)
				box_close(fd);
			return 0;
		}
		for (size_t i = 0; i < ns.n; i++) {
			char *sub = join(rel, ns.v[i]);
			gone &= delete_entry(d, fd, sub, 0);
			free(sub);
		}
		free_names(&ns);
		box_close(fd);
	}
	if (!gone)
		return 0;
	report(d, "*deleting  ", rel, isdir, NULL);
	d->ndeleted++;
	if (d->dry || (!top && d->bfd >= 0))
		return 1;
	if (top && d->bfd >= 0)
		return backup_entry(d, pfd, rel, 0) == 0;
	if (unlinkat(pfd, name, isdir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT) {
		dst_error(d, "delete", rel);
		return 0;
	}
	return 1;
}

/* Deletes DST's entry rel now (it is in the way of a new entry of another
 * type). 0 when it is gone or was not there. */
static int clear_way(struct ds *d, int pfd, const char *rel)
{
	if (d->max_delete >= 0) {
		long long n = count_tree(pfd, base_name(rel));
		if (d->maxdel_hit || d->ndeleted + n > d->max_delete) {
			d->maxdel_hit = 1;
			return -1;
		}
	}
	return delete_entry(d, pfd, rel, 1) ? 0 : -1;
}

static void run_deletions(struct ds *d)
{
	for (size_t i = 0; i < d->ndels && !stopped(d) && !d->maxdel_hit; i++) {
		char *dir = dir_name(d->dels[i]);
		int pfd = open_dst_dir(d, dir);
		free(dir);
		if (pfd < 0)
			continue;
		if (d->max_delete >= 0 &&
		    d->ndeleted + count_tree(pfd, base_name(d->dels[i])) > d->max_delete) {
			box_close(pfd);
			d->maxdel_hit = 1;
			break;
		}
		delete_entry(d, pfd, d->dels[i], 1);
		box_close(pfd);
		check_signal(d);
	}
}

/* ---- copying -------------------------------------------------------------- */

/* Copies [off, off+len) from in to out at the same offsets. Returns 0, or
 * -1 with *side 'r' (reading SRC failed) or 'w' (writing DST failed). */
static int copy_range(struct ds *d, int in, int out, off_t off, off_t len, int *side)
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
					check_signal(d);
				if (d->interrupted)
					return -1;
				continue;
			}
			if (n == 0)
				return 0;	/* SRC shrank while being copied */
			if (errno == ENOSPC || errno == EDQUOT) {
				*side = 'w';
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
			*side = 'r';
			return -1;
		}
		if (n == 0)
			return 0;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = pwrite(out, buf + done, (size_t)(n - done), off + done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				*side = 'w';
				return -1;
			}
			done += w;
		}
		off += n;
		if (off < end && (off & ((8 << 20) - 1)) < n) {
			check_signal(d);
			if (d->interrupted)
				return -1;
		}
	}
	return 0;
}

/* The data of in into out: a reflink when the filesystem shares extents,
 * else copy_file_range / read+write over the data regions only, so holes
 * stay holes. */
static int copy_data(struct ds *d, int in, int out, const struct stat *st, int *side)
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
		*side = 'w';
		return -1;
	}
	return 0;
}

static int same_mtime(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
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
static int set_attrs(struct ds *d, int dfd, const char *name, const struct stat *ss, int islink)
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
	if (existed && d->bfd >= 0 && backup_entry(d, dfd, rel, 1) < 0) {
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	if (renameat(dfd, tmp, dfd, name) < 0) {
		dst_error(d, "rename into", rel);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	return 0;
}

static void copy_file(struct ds *d, int sfd, int dfd, const char *name, const char *rel, int existed)
{
	char tmp[NAME_MAX + 1];
	struct stat st;
	int side = 0;
	/* O_NONBLOCK: never hang on a FIFO swapped in since the listing; a
	 * file under a lease answers EAGAIN to it, so wait for that one. */
	int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (in < 0 && errno == EAGAIN)
		in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (in < 0) {
		src_error(d, "open", rel);
		return;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		errno = ENOENT;	/* replaced by something else since it was listed */
		src_error(d, "open", rel);
		box_close(in);
		return;
	}
	int out = -1;
	for (int tries = 0; out < 0 && tries < 100; tries++) {
		temp_name(d, name, tmp, sizeof(tmp));
		out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			st.st_mode & 0777);
		if (out < 0 && errno != EEXIST)
			break;
	}
	if (out < 0) {
		dst_error(d, "create a file in", rel);
		box_close(in);
		return;
	}
	struct timespec ts[2] = { { 0, UTIME_OMIT }, st.st_mtim };
	int r = copy_data(d, in, out, &st, &side);
	check_signal(d);
	if (d->interrupted)
		r = -1;
	if (r < 0 && side == 'r') {
		src_error(d, "read", rel);
	} else if (r < 0 && !d->interrupted) {
		dst_error(d, "write", rel);
	} else if (r == 0) {
		if ((d->root && fchown(out, st.st_uid, st.st_gid) < 0) ||
		    ((st.st_mode & 07000) && fchmod(out, st.st_mode & 07777) < 0) ||
		    futimens(out, ts) < 0 ||
		    (d->fsync_mode == FSYNC_FILE && fsync(out) < 0)) {
			dst_error(d, "set attributes of", rel);
			r = -1;
		}
	}
	box_close(in);
	if (close(out) < 0 && r == 0) {
		dst_error(d, "write", rel);
		r = -1;
	}
	if (r < 0 || install(d, dfd, tmp, name, rel, existed) < 0) {
		unlinkat(dfd, tmp, 0);
		return;
	}
	d->nxfer++;
	d->bytes += st.st_size;
}

/* ---- one directory -------------------------------------------------------- */

static void code_attrs(struct ds *d, char *code, const struct stat *ss, const struct stat *ds)
{
	if (!same_mtime(ss, ds))
		code[4] = 't';
	if (!S_ISLNK(ss->st_mode) && (ss->st_mode & 07777) != (ds->st_mode & 07777))
		code[5] = 'p';
	if (d->root && ss->st_uid != ds->st_uid)
		code[6] = 'o';
	if (d->root && ss->st_gid != ds->st_gid)
		code[7] = 'g';
}

static void sync_regular(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	char code[12] = ">f+++++++++";
	int data = 1;

	d->nfiles++;
	if (dst) {
		memcpy(code, ".f.........", 12);
		if (ss->st_size != dst->st_size)
			code[3] = 's';
		code_attrs(d, code, ss, dst);
		if (d->checksum)
			data = code[3] == 's' || !same_content(sfd, dfd, name);
		else
			data = code[3] == 's' || code[4] == 't';
		if (data) {
			code[0] = '>';
			if (d->checksum)
				code[2] = 'c';
		}
		if (!strcmp(code, ".f........."))
			return;
	}
	report(d, code, rel, 0, NULL);
	if (d->dry)
		return;
	if (data)
		copy_file(d, sfd, dfd, name, rel, dst != NULL);
	else if (set_attrs(d, dfd, name, ss, 0) < 0)
		dst_error(d, "set attributes of", rel);
}

static void sync_link(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	char target[PATH_MAX + 1], old[PATH_MAX + 1], tmp[NAME_MAX + 1];
	char code[12] = "cL+++++++++";
	ssize_t n = readlinkat(sfd, name, target, PATH_MAX);

	d->nother++;
	if (n < 0) {
		src_error(d, "read link", rel);
		return;
	}
	target[n] = 0;
	int relink = 1;
	if (dst) {
		ssize_t m = readlinkat(dfd, name, old, PATH_MAX);
		relink = m != n || memcmp(old, target, (size_t)n);
		memcpy(code, relink ? "cLc........" : ".L.........", 12);
		code_attrs(d, code, ss, dst);
		if (!strcmp(code, ".L........."))
			return;
	}
	report(d, code, rel, 0, target);
	if (d->dry)
		return;
	if (!relink) {
		if (set_attrs(d, dfd, name, ss, 1) < 0)
			dst_error(d, "set attributes of", rel);
		return;
	}
	int r;
	do {
		temp_name(d, name, tmp, sizeof(tmp));
		r = symlinkat(target, dfd, tmp);
	} while (r < 0 && errno == EEXIST);
	if (r < 0) {
		dst_error(d, "create a symlink in", rel);
		return;
	}
	if (set_attrs(d, dfd, tmp, ss, 1) < 0) {
		dst_error(d, "set attributes of", rel);
		unlinkat(dfd, tmp, 0);
		return;
	}
	if (install(d, dfd, tmp, name, rel, dst != NULL) == 0)
		d->nxfer++;
}

/* FIFOs, sockets and (as root) device nodes. */
static void sync_special(struct ds *d, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst)
{
	char code[12] = "cS+++++++++", tmp[NAME_MAX + 1];
	int dev = S_ISCHR(ss->st_mode) || S_ISBLK(ss->st_mode);

	d->nother++;
	if (dev)
		code[1] = 'D';
	if (dst && (!dev || dst->st_rdev == ss->st_rdev)) {
		memcpy(code + 2, ".........", 10);
		code[0] = '.';
		code_attrs(d, code, ss, dst);
		if (!strcmp(code + 2, "........."))
			return;
		report(d, code, rel, 0, NULL);
		if (!d->dry && set_attrs(d, dfd, name, ss, 0) < 0)
			dst_error(d, "set attributes of", rel);
		return;
	}
	report(d, code, rel, 0, NULL);
	if (d->dry)
		return;
	int r;
	do {
		temp_name(d, name, tmp, sizeof(tmp));
		r = mknodat(dfd, tmp, ss->st_mode & (S_IFMT | 07777), ss->st_rdev);
	} while (r < 0 && errno == EEXIST);
	if (r < 0) {
		dst_error(d, "create", rel);
		return;
	}
	if (set_attrs(d, dfd, tmp, ss, 0) < 0) {
		dst_error(d, "set attributes of", rel);
		unlinkat(dfd, tmp, 0);
		return;
	}
	if (install(d, dfd, tmp, name, rel, dst != NULL) == 0)
		d->nxfer++;
}

static void add_fix(struct ds *d, const char *rel, const struct stat *ss)
{
	if (d->nfixes == d->cfixes) {
		d->cfixes = d->cfixes ? d->cfixes * 2 : 64;
		d->fixes = box_xrealloc(d->fixes, d->cfixes * sizeof(*d->fixes));
	}
	d->fixes[d->nfixes].rel = box_xstrdup(rel);
	d->fixes[d->nfixes++].st = *ss;
}

static void add_deletion(struct ds *d, char *rel)
{
	if (d->ndels == d->cdels) {
		d->cdels = d->cdels ? d->cdels * 2 : 64;
		d->dels = box_xrealloc(d->dels, d->cdels * sizeof(*d->dels));
	}
	d->dels[d->ndels++] = rel;
}

static void watch_dir(struct ds *d, int fd, const char *rel);
static size_t sync_dir(struct ds *d, int sfd, int dfd, const char *rel, int deep);

/* A subdirectory: create or fix it in DST, then descend (always when deep
 * or when it is new in DST). */
static void sync_subdir(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst, int deep)
{
	char code[12] = "cd+++++++++";
	int created = !dst;

	d->ndirs++;
	if (dst) {
		memcpy(code, ".d.........", 12);
		code_attrs(d, code, ss, dst);
	}
	if (strcmp(code, ".d........."))
		report(d, code, rel, 1, NULL);
	if (created && !d->dry && mkdirat(dfd, name, 0700) < 0) {
		dst_error(d, "create directory", rel);
		return;
	}
	int sub_s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub_s < 0) {
		src_error(d, "open directory", rel);
		if (created)
			add_fix(d, rel, ss);
		return;
	}
	int sub_d = -1;
	if (dfd >= 0 && !(created && d->dry)) {
		sub_d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub_d < 0) {
			dst_error(d, "open directory", rel);
			box_close(sub_s);
			return;
		}
	}
	if (d->ifd >= 0)
		watch_dir(d, sub_s, rel);
	long long before = d->changes;
	size_t dels = deep || created ? sync_dir(d, sub_s, sub_d, rel, 1) : 0;
	/* untouched and equal: no need to set its attributes again */
	if (created || dels || d->changes != before || strcmp(code, ".d........."))
		add_fix(d, rel, ss);
	box_close(sub_s);
	if (sub_d >= 0)
		box_close(sub_d);
}

/* One entry present in SRC (and maybe in DST). Directories are only
 * noted in *subdirs; they are handled after the other entries. */
static void sync_entry(struct ds *d, int sfd, int dfd, const char *rel, const char *name,
	int in_dst, struct names *subdirs)
{
	struct stat ss, dst;
	char *path = join(rel, name);
	int have = 0;

	if (fstatat(sfd, name, &ss, AT_SYMLINK_NOFOLLOW) < 0) {
		src_error(d, "stat", path);
		goto out;
	}
	if (excluded(d, path, S_ISDIR(ss.st_mode)))
		goto out;
	if (in_dst && dfd >= 0)
		have = fstatat(dfd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
	if (S_ISDIR(ss.st_mode)) {
		subdirs->v[subdirs->n++] = box_xstrdup(name);
		goto out;
	}
	/* A directory in the way of a non-directory goes first. */
	if (have && S_ISDIR(dst.st_mode)) {
		if (clear_way(d, dfd, path) < 0)
			goto out;
		have = 0;
	}
	if (have && (dst.st_mode & S_IFMT) != (ss.st_mode & S_IFMT)) {
		/* renamed over, atomically; a backup has to move it first */
		if (d->bfd >= 0 && !d->dry && backup_entry(d, dfd, path, 0) < 0)
			goto out;
		have = 0;
	}
	if (S_ISREG(ss.st_mode))
		sync_regular(d, sfd, dfd, name, path, &ss, have ? &dst : NULL);
	else if (S_ISLNK(ss.st_mode))
		sync_link(d, sfd, dfd, name, path, &ss, have ? &dst : NULL);
	else
		sync_special(d, dfd, name, path, &ss, have ? &dst : NULL);
out:
	free(path);
}

/* Returns the number of deletions it scheduled in this directory. */
static size_t sync_dir(struct ds *d, int sfd, int dfd, const char *rel, int deep)
{
	struct names sn, dn = { NULL, 0 }, subdirs;
	char **extra = NULL;
	size_t nextra = 0, ndel = 0;
	int errs = d->read_errs;

	if (list_dir(sfd, &sn) < 0) {
		box_warn_errno("unable to read directory %s/%s", d->src, rel);
		d->read_errs++;
		free_names(&sn);
		return 0;
	}
	if (dfd >= 0 && list_dir(dfd, &dn) < 0) {
		dst_error(d, "read directory", rel);
		free_names(&sn);
		free_names(&dn);
		return 0;
	}
	subdirs.v = box_xmalloc((sn.n + 1) * sizeof(char *));
	subdirs.n = 0;
	extra = box_xmalloc((dn.n + 1) * sizeof(char *));
	for (size_t i = 0, j = 0; (i < sn.n || j < dn.n) && !stopped(d);) {
		int c = i == sn.n ? 1 : j == dn.n ? -1 : strcmp(sn.v[i], dn.v[j]);
		if (c > 0) {
			const char *name = dn.v[j++];
			struct stat st;
			char *path = join(rel, name);
			if (is_temp_name(name)) {
				if (!d->dry)
					unlinkat(dfd, name, 0);
			} else if ((!*rel && !strcmp(name, STATE_NAME)) ||
			    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    excluded(d, path, S_ISDIR(st.st_mode))) {
				;
			} else {
				extra[nextra++] = path;
				path = NULL;
			}
			free(path);
			continue;
		}
		if (!*rel && !strcmp(sn.v[i], STATE_NAME))
			;
		else
			sync_entry(d, sfd, dfd, rel, sn.v[i], c == 0, &subdirs);
		i++;
		j += c == 0;
		if ((i & 63) == 0)
			check_signal(d);
	}
	for (size_t k = 0; k < subdirs.n && !stopped(d); k++) {
		char *path = join(rel, subdirs.v[k]);
		struct stat ss, dst;
		int have = dfd >= 0 && fstatat(dfd, subdirs.v[k], &dst, AT_SYMLINK_NOFOLLOW) == 0;
		if (fstatat(sfd, subdirs.v[k], &ss, AT_SYMLINK_NOFOLLOW) < 0) {
			src_error(d, "stat", path);
		} else if (!S_ISDIR(ss.st_mode)) {
			errno = ENOENT;	/* replaced since listed: next run */
			src_error(d, "stat", path);
		} else if (have && !S_ISDIR(dst.st_mode) && clear_way(d, dfd, path) < 0) {
			;	/* a symlink or file in the way that may not go */
		} else {
			sync_subdir(d, sfd, dfd, subdirs.v[k], path, &ss,
				have && S_ISDIR(dst.st_mode) ? &dst : NULL, deep);
		}
		free(path);
	}
	/* A source entry that could not be read may be one DST still needs. */
	for (size_t k = 0; k < nextra; k++) {
		if (d->read_errs == errs && !d->no_delete) {
			add_deletion(d, extra[k]);
			ndel++;
		} else
			free(extra[k]);
	}
	free(extra);
	free_names(&subdirs);
	free_names(&sn);
	free_names(&dn);
	return ndel;
}

/* Directory modes and times, after everything else touched them. */
static void run_fixes(struct ds *d)
{
	for (size_t i = d->nfixes; i-- > 0;) {
		struct dir_fix *f = &d->fixes[i];
		struct stat cur;
		if (!d->dry && !stopped(d)) {
			char *dir = dir_name(f->rel);
			int pfd = *f->rel ? open_dst_dir(d, dir) : -1;
			int ok;
			if (!*f->rel) {
				struct timespec ts[2] = { { 0, UTIME_OMIT }, f->st.st_mtim };
				ok = fstat(d->dfd, &cur) == 0 &&
					(!d->root || fchown(d->dfd, f->st.st_uid, f->st.st_gid) == 0) &&
					((cur.st_mode & 07777) == (f->st.st_mode & 07777) ||
					 fchmod(d->dfd, f->st.st_mode & 07777) == 0) &&
					futimens(d->dfd, ts) == 0;
			} else {
				ok = pfd >= 0 && set_attrs(d, pfd, base_name(f->rel), &f->st, 0) == 0;
			}
			if (!ok)
				dst_error(d, "set attributes of directory", f->rel);
			if (pfd >= 0)
				box_close(pfd);
			free(dir);
		}
		free(f->rel);
	}
	d->nfixes = 0;
}

/* ---- safety ----------------------------------------------------------------- */

static int dir_is_empty(struct ds *d, int fd, int dst)
{
	struct names ns;
	int empty = 1;
	if (list_dir(fd, &ns) < 0) {
		free_names(&ns);
		return 0;
	}
	for (size_t i = 0; i < ns.n && empty; i++) {
		struct stat st;
		if (dst && (!strcmp(ns.v[i], STATE_NAME) || is_temp_name(ns.v[i])))
			continue;
		if (!dst && !strcmp(ns.v[i], STATE_NAME))
			continue;
		if (fstatat(fd, ns.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    excluded(d, ns.v[i], S_ISDIR(st.st_mode)))
			continue;
		empty = 0;
	}
	free_names(&ns);
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
	return sscanf(buf, "dev %u:%u", maj, min) == 2;
}

static void write_state(struct ds *d, dev_t dev)
{
	char tmp[NAME_MAX + 1], line[64];
	int n = snprintf(line, sizeof(line), "dev %u:%u\n", major(dev), minor(dev));
	temp_name(d, STATE_NAME, tmp, sizeof(tmp));
	int fd = openat(d->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || box_write_all(fd, line, (size_t)n) < 0 || close(fd) < 0 ||
	    renameat(d->dfd, tmp, d->dfd, STATE_NAME) < 0) {
		dst_error(d, "record the source in", STATE_NAME);
		unlinkat(d->dfd, tmp, 0);
	}
}

/* Says why a run is refused; in watch mode only when the reason changed. */
static void refuse(struct ds *d, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->refusal == code)
		return;
	d->refusal = code;
	box_warn("refusing to sync: %s", msg);
}

/* Checks SRC before a run may delete anything; on refusal says why and
 * returns -1 (nothing was changed). *gone is set when SRC is missing. */
static int check_source(struct ds *d, int *gone)
{
	struct stat st;
	unsigned maj, min;

	*gone = 0;
	if (d->sfd >= 0)
		box_close(d->sfd);
	d->sfd = box_open(d->src, O_RDONLY | O_DIRECTORY, 0);
	if (d->sfd < 0 || fstat(d->sfd, &st) < 0) {
		*gone = 1;
		refuse(d, 1, "source %s is not there: %s", d->src, strerror(errno));
		return -1;
	}
	if (read_state(d, &maj, &min) && (major(st.st_dev) != maj || minor(st.st_dev) != min)) {
		*gone = 1;
		refuse(d, 2, "source %s is on another filesystem (dev %u:%u) than "
			"recorded in %s/" STATE_NAME " (dev %u:%u); remove that file if this is intended",
			d->src, major(st.st_dev), minor(st.st_dev), d->dst, maj, min);
		return -1;
	}
	if (dir_is_empty(d, d->sfd, 0) && d->dfd >= 0 && !dir_is_empty(d, d->dfd, 1)) {
		refuse(d, 3, "source %s is empty and destination %s is not",
			d->src, d->dst);
		return -1;
	}
	if (!d->dry && d->dfd >= 0 && !read_state(d, &maj, &min))
		write_state(d, st.st_dev);
	if (d->refusal)
		box_warn("source %s is back", d->src);
	d->refusal = 0;
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
static char *check_paths(struct ds *d)
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
static int open_dst(struct ds *d, int create)
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
static void open_backup(struct ds *d, const char *dst_real)
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
		d->pats = box_xrealloc(d->pats, (size_t)(d->npats + 1) * sizeof(*d->pats));
		char *pat = box_xasprintf("/%s/", in + strlen(dst_real) + 1);
		dirsync_pattern_parse(pat, &d->pats[d->npats++]);
		free(pat);
	}
	free(real);
	free(full);
}

/* ---- one run ---------------------------------------------------------------- */

static void reset_run(struct ds *d)
{
	d->read_errs = d->vanished = d->fatal = d->maxdel_hit = 0;
	d->nfiles = d->ndirs = d->nother = d->nxfer = d->ndeleted = d->bytes = 0;
}

static int run_status(struct ds *d)
{
	if (d->interrupted)
		return EXIT_SIGNAL;
	if (d->fatal)
		return EXIT_FILEIO;
	if (d->read_errs)
		return EXIT_PARTIAL;
	if (d->vanished)
		return EXIT_VANISHED;
	if (d->maxdel_hit)
		return EXIT_MAXDELETE;
	return 0;
}

/* Syncs SRC's directories rels (NULL: everything) into DST. */
static int sync_run(struct ds *d, char **rels, int nrels)
{
	int64_t t0 = box_now_ns();
	struct stat ss, dst;

	reset_run(d);
	if (!rels) {
		if (fstat(d->sfd, &ss) < 0)
			box_fatal_errno("unable to stat %s", d->src);
		if (d->dfd < 0 || d->dst_created)
			report(d, "cd+++++++++", "", 1, NULL);
		else if (fstat(d->dfd, &dst) == 0) {
			char code[12] = ".d.........";
			code_attrs(d, code, &ss, &dst);
			if (strcmp(code, ".d........."))
				report(d, code, "", 1, NULL);
		}
		d->dst_created = 0;
		if (d->ifd >= 0)
			watch_dir(d, d->sfd, "");
		sync_dir(d, d->sfd, d->dfd, "", 1);
		add_fix(d, "", &ss);
	}
	for (int i = 0; rels && i < nrels && !stopped(d); i++) {
		int sfd = open_dir_at(d->sfd, rels[i]);
		int dfd = sfd < 0 ? -1 : open_dst_dir(d, rels[i]);
		if (sfd >= 0 && dfd >= 0 && fstat(sfd, &ss) == 0) {
			sync_dir(d, sfd, dfd, rels[i], 0);
			add_fix(d, rels[i], &ss);
		}
		if (sfd >= 0)
			box_close(sfd);
		if (dfd >= 0)
			box_close(dfd);
	}
	check_signal(d);
	if (!stopped(d))
		run_deletions(d);
	for (size_t i = 0; i < d->ndels; i++)
		free(d->dels[i]);
	d->ndels = 0;
	run_fixes(d);
	if (d->maxdel_hit)
		box_warn("deletions stopped at the --max-delete limit of %lld", d->max_delete);
	if (!d->dry && d->fsync_mode == FSYNC_BATCH && d->dfd >= 0 && syncfs(d->dfd) < 0)
		dst_error(d, "sync the filesystem of", ".");
	if (d->verbose) {
		int64_t us = (box_now_ns() - t0) / 1000;
		box_buf_printf(&d->out, "%s%lld files, %lld directories, %lld other; %lld transferred "
			"(%lld bytes), %lld deleted in %lld.%06lld s\n", d->dry ? "(dry run) " : "",
			d->nfiles, d->ndirs, d->nother, d->nxfer, d->bytes, d->ndeleted,
			(long long)(us / 1000000), (long long)(us % 1000000));
	}
	out_flush(d);
	return run_status(d);
}

/* ---- watch mode -------------------------------------------------------------- */

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | \
	IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

static int watch_failed;	/* out of watches: fall back to polling */

static void watch_dir(struct ds *d, int fd, const char *rel)
{
	/* the held fd names the directory exactly; its path may have changed */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int wd = inotify_add_watch(d->ifd, proc, WATCH_MASK);
	if (wd < 0 && errno == ENOENT) {
		char *path = box_xasprintf("%s/%s", d->src, rel);
		wd = inotify_add_watch(d->ifd, path, WATCH_MASK);
		free(path);
	}
	if (wd < 0) {
		if (!watch_failed)
			box_warn_errno("unable to watch %s/%s, polling instead", d->src, rel);
		watch_failed = 1;
		return;
	}
	if (wd >= d->nwd) {
		int n = wd + 64;
		d->wdpath = box_xrealloc(d->wdpath, (size_t)n * sizeof(char *));
		memset(d->wdpath + d->nwd, 0, (size_t)(n - d->nwd) * sizeof(char *));
		d->nwd = n;
	}
	free(d->wdpath[wd]);
	d->wdpath[wd] = box_xstrdup(rel);
}

struct dirty {
	char **v;
	int n;
	int all;	/* a full rescan is due */
	int root_gone;
};

static void mark_dirty(struct dirty *dt, const char *rel)
{
	for (int i = 0; i < dt->n; i++)
		if (!strcmp(dt->v[i], rel))
			return;
	dt->v = box_xrealloc(dt->v, (size_t)(dt->n + 1) * sizeof(char *));
	dt->v[dt->n++] = box_xstrdup(rel);
}

static void clear_dirty(struct dirty *dt)
{
	for (int i = 0; i < dt->n; i++)
		free(dt->v[i]);
	dt->n = dt->all = dt->root_gone = 0;
}

/* Reads every queued event; returns 1 when something changed. */
static int read_events(struct ds *d, struct dirty *dt)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int any = 0;

	for (;;) {
		ssize_t n = read(d->ifd, buf, sizeof(buf));
		if (n <= 0)
			return any;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			p += sizeof(*e) + e->len;
			any = 1;
			if (e->mask & IN_Q_OVERFLOW) {
				dt->all = 1;
				continue;
			}
			if (e->wd < 0 || e->wd >= d->nwd || !d->wdpath[e->wd])
				continue;
			const char *rel = d->wdpath[e->wd];
			if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED)) {
				if (!*rel)
					dt->root_gone = 1;
				else if (e->mask & IN_MOVE_SELF)
					dt->all = 1;	/* paths below it changed */
				if (e->mask & IN_IGNORED) {
					free(d->wdpath[e->wd]);
					d->wdpath[e->wd] = NULL;
				}
				continue;
			}
			mark_dirty(dt, rel);
		}
	}
}

/* A dirty directory may be gone by now: sync its nearest existing
 * ancestor instead. */
static void resolve_dirty(struct ds *d, struct dirty *dt)
{
	for (int i = 0; i < dt->n; i++) {
		struct stat st;
		while (*dt->v[i] && (fstatat(d->sfd, dt->v[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))) {
			char *up = dir_name(dt->v[i]);
			free(dt->v[i]);
			dt->v[i] = up;
		}
	}
}

static void close_watches(struct ds *d)
{
	if (d->ifd >= 0)
		box_close(d->ifd);
	for (int i = 0; i < d->nwd; i++) {
		free(d->wdpath[i]);
		d->wdpath[i] = NULL;
	}
	d->ifd = -1;
}

/* Between syncs no fd may pin SRC: it must stay unmountable. */
static void release_source(struct ds *d)
{
	if (d->sfd >= 0)
		box_close(d->sfd);
	d->sfd = -1;
}

/* After a refusal: wake up when an entry appears in SRC's parent or the
 * mount table changes (the source may be back); 0 on success. */
static int arm_waiting(struct ds *d, const char *parent)
{
	close_watches(d);
	d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ifd < 0)
		return -1;
	if (inotify_add_watch(d->ifd, parent, IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR) < 0) {
		close_watches(d);
		return -1;
	}
	return 0;
}

/* Waits for the next full scan (returns 0) or a signal (-1). Changes seen
 * by inotify are synced here, per directory, once the --delay window
 * after the first of them has passed. */
static int wait_changes(struct ds *d, int use_inotify, int waiting, int mfd, const char *parent)
{
	struct dirty dt = { 0 };
	int64_t deadline = -1, tick = d->poll > 0 ? d->poll : BOX_NSEC;
	int gone, r = 0;

	if (waiting && (!use_inotify || arm_waiting(d, parent) < 0)) {
		deadline = box_now_ns() + tick;	/* nothing to wait on: re-check */
	} else if (waiting && d->refusal == 1) {
		int fd = box_open(d->src, O_RDONLY | O_DIRECTORY, 0);
		if (fd >= 0) {
			box_close(fd);
			return 0;	/* back before the watch was there */
		}
	} else if (!use_inotify) {
		deadline = box_now_ns() + tick;
	}
	for (;;) {
		struct pollfd pf[3] = { { d->sigfd, POLLIN, 0 }, { d->ifd, POLLIN, 0 },
			{ mfd, POLLPRI, 0 } };
		int n = box_poll_until(pf, 3, deadline);
		if (n < 0)
			box_fatal_errno("unable to poll");
		check_signal(d);
		if (d->interrupted) {
			r = -1;
			break;
		}
		if (pf[2].revents && waiting)
			break;	/* mounts changed: the source may be back */
		if (pf[2].revents) {
			/* a detached bind mount sends no inotify event: is SRC
			 * still the directory that is watched? */
			struct stat st;
			if (stat(d->src, &st) < 0 || st.st_dev != d->root_dev || st.st_ino != d->root_ino) {
				box_warn("source %s went away; pending sync cancelled", d->src);
				break;
			}
			if (n == 1)
				continue;
		}
		if (pf[1].revents & POLLIN) {
			int changed = read_events(d, &dt);
			if (waiting) {
				if (changed)
					break;
				continue;
			}
			if (dt.root_gone) {
				box_warn("source %s went away; pending sync cancelled", d->src);
				break;
			}
			if (changed && deadline < 0)
				deadline = box_now_ns() + d->delay;
			continue;
		}
		if (n > 0)
			continue;
		if (!use_inotify || waiting || dt.all)
			break;
		if (check_source(d, &gone) < 0) {
			box_warn("pending sync cancelled");
			release_source(d);
			clear_dirty(&dt);
			deadline = -1;
			if (!gone)
				continue;	/* still there: its watches tell when it fills */
			waiting = 1;
			if (arm_waiting(d, parent) < 0)
				break;
			continue;
		}
		resolve_dirty(d, &dt);
		sync_run(d, dt.v, dt.n);
		release_source(d);
		if (d->interrupted) {
			r = -2;
			break;
		}
		clear_dirty(&dt);
		deadline = -1;
	}
	clear_dirty(&dt);
	free(dt.v);
	return r;
}

/* -w: a full sync, then incremental ones; every refusal (SRC gone,
 * emptied, on another filesystem) waits for SRC to be back. Ends on
 * SIGINT/SIGTERM/SIGHUP: 0 when idle, 20 when a sync was cut short. */
static int watch_loop(struct ds *d)
{
	int use_inotify = d->poll < 0, r, gone;
	char *parent = dir_name(d->src);
	int mfd = box_open("/proc/self/mountinfo", O_RDONLY, 0);

	if (!*parent || !strchr(d->src, '/')) {
		free(parent);
		parent = box_xstrdup(d->src[0] == '/' ? "/" : ".");
	}
	do {
		close_watches(d);
		watch_failed = 0;
		if (use_inotify) {
			d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
			if (d->ifd < 0) {
				box_warn_errno("unable to use inotify, polling instead");
				use_inotify = 0;
			}
		}
		int waiting = check_source(d, &gone) < 0;
		struct stat st;
		if (!waiting && fstat(d->sfd, &st) == 0) {
			d->root_dev = st.st_dev;
			d->root_ino = st.st_ino;
		}
		if (waiting && !gone && d->ifd >= 0) {
			watch_dir(d, d->sfd, "");	/* emptied: wait for content */
			if (!dir_is_empty(d, d->sfd, 0)) {
				r = 0;	/* filled before the watch was there */
				continue;
			}
			waiting = 0;
		} else if (!waiting) {
			sync_run(d, NULL, 0);
			release_source(d);
			if (d->interrupted) {
				r = -2;
				break;
			}
			if (watch_failed) {
				close_watches(d);
				use_inotify = 0;
			}
		}
		release_source(d);
		r = wait_changes(d, use_inotify, waiting, mfd, parent);
	} while (r == 0);
	free(parent);
	if (mfd >= 0)
		box_close(mfd);
	close_watches(d);
	return r == -2 ? EXIT_SIGNAL : 0;
}

/* ---- main -------------------------------------------------------------------- */

static const struct box_opt opts[] = {
	{ 'n', 'n', "dry-run", 0 },
	{ 'i', 'i', "itemize-changes", 0 },
	{ 'v', 'v', "verbose", 0 },
	{ 'c', 'c', "checksum", 0 },
	{ 'w', 'w', "watch", 0 },
	{ 'D', 0, "no-delete", 0 },
	{ 'x', 0, "exclude", 1 },
	{ 'M', 0, "max-delete", 1 },
	{ 'b', 0, "backup-dir", 1 },
	{ 'f', 0, "fsync", 1 },
	{ 'd', 0, "delay", 1 },
	{ 'p', 0, "poll", 1 },
	{ 0 },
};

static int dirsync_main(int argc, char **argv)
{
	struct ds d = { 0 };
	struct box_getopt g;
	int c, delay_set = 0;

	d.max_delete = -1;
	d.delay = BOX_NSEC;
	d.poll = -1;
	d.sfd = d.dfd = d.bfd = d.ifd = -1;
	d.clone_ok = d.cfr_ok = 1;
	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, opts)) != -1) {
		switch (c) {
		case 'n': d.dry = 1; break;
		case 'i': d.itemize = 1; break;
		case 'v': d.verbose = 1; break;
		case 'c': d.checksum = 1; break;
		case 'w': d.watch = 1; break;
		case 'D': d.no_delete = 1; break;
		case 'x':
			d.pats = box_xrealloc(d.pats, (size_t)(d.npats + 1) * sizeof(*d.pats));
			if (dirsync_pattern_parse(g.arg, &d.pats[d.npats++]) < 0)
				box_usage("invalid exclude pattern '%s'", g.arg);
			break;
		case 'M': d.max_delete = box_xparse_ll("--max-delete", g.arg, 0, LLONG_MAX); break;
		case 'b':
			if (!*g.arg)
				box_usage("empty --backup-dir");
			d.backup_arg = g.arg;
			break;
		case 'f':
			if (!strcmp(g.arg, "none"))
				d.fsync_mode = FSYNC_NONE;
			else if (!strcmp(g.arg, "batch"))
				d.fsync_mode = FSYNC_BATCH;
			else if (!strcmp(g.arg, "file"))
				d.fsync_mode = FSYNC_FILE;
			else
				box_usage("invalid --fsync '%s': expected none, batch or file", g.arg);
			break;
		case 'd':
			d.delay = box_xparse_duration("--delay", g.arg);
			delay_set = 1;
			break;
		case 'p':
			d.poll = box_xparse_duration("--poll", g.arg);
			if (d.poll == 0)
				box_usage("invalid --poll '%s': must be more than 0", g.arg);
			break;
		}
	}
	if (argc - g.ind < 2)
		box_usage("need SRC and DST");
	if (argc - g.ind > 2)
		box_usage("too many arguments");
	if (!d.watch && (d.poll >= 0 || delay_set))
		box_usage("--delay and --poll need -w");
	if (d.watch && d.dry)
		box_usage("-n and -w cannot be combined");
	d.src = argv[g.ind];
	d.dst = argv[g.ind + 1];
	if (!*d.src || !*d.dst)
		box_usage("empty SRC or DST");
	d.root = geteuid() == 0;
	d.pid = getpid();
	/* every mode is given explicitly: new files get SRC's bits exactly */
	umask(0);

	char *dst_real = check_paths(&d);
	d.dfd = open_dst(&d, !d.dry);
	if (d.backup_arg)
		open_backup(&d, dst_real);
	free(dst_real);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	d.sigfd = box_sigfd_open(&set);

	int status, gone;
	if (d.watch) {
		status = watch_loop(&d);
	} else if (check_source(&d, &gone) < 0) {
		status = EXIT_REFUSED;
	} else {
		status = sync_run(&d, NULL, 0);
	}
	box_buf_free(&d.out);
	return status;
}

const struct applet applet_dirsync = {
	"dirsync", dirsync_main, usage, help, EXIT_USAGE, EXIT_FILEIO,
};
