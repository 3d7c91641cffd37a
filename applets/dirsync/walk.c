/* dirsync's walk: SRC and DST side by side, one directory at a time, in
 * sorted order, on an explicit stack (no depth limit). Non-directories of
 * a directory are synced first, then its subdirectories; what DST has
 * beyond SRC is scheduled for deletion, and a directory's attributes are
 * set through its descriptor when the walk leaves it (or after the
 * deletions, for a directory that has some).
 *
 * Only the deepest OPEN_LEVELS directories of the stack keep their
 * descriptors; a closed one is reopened through ".." of its child and
 * must be the same directory (device and inode) as before. */
#include "dirsync.h"

#include <stdint.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPEN_LEVELS 48
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The kernel's directory record, as getdents64 fills it. */
struct kdirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* The names in the directory open on fd, sorted; read straight from the
 * descriptor the walk holds (its offset is rewound first). The names
 * share one pool, and ns's arrays are reused (start from a zeroed ns):
 * a walk lists every directory twice, and an allocation per name, freed
 * a moment later, would cost more than the listing. */
int ds_list_dir(int fd, struct names *ns)
{
	char buf[32768] __attribute__((aligned(8)));
	size_t used = 0;
	long n;

	ns->n = 0;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < n;) {
			struct kdirent *e = (struct kdirent *)(buf + at);
			size_t len;
			at += e->reclen;
			if (e->name[0] == '.' && (!e->name[1] || (e->name[1] == '.' && !e->name[2])))
				continue;
			len = strlen(e->name) + 1;
			ns->pool = box_grow(ns->pool, &ns->pcap, used + len, 1);
			memcpy(ns->pool + used, e->name, len);
			/* an offset until the pool stops moving */
			*BOX_PUSH(ns->v, ns->n, ns->vcap) = (char *)(uintptr_t)used;
			used += len;
		}
	}
	int err = n < 0 ? errno : 0;
	for (size_t i = 0; i < ns->n; i++)
		ns->v[i] = ns->pool + (uintptr_t)ns->v[i];
	if (ns->n)
		qsort(ns->v, ns->n, sizeof(*ns->v), cmp_names);
	errno = err;
	return err ? -1 : 0;
}

void ds_free_names(struct names *ns)
{
	if (ns->pool)
		free(ns->pool);
	else
		for (size_t i = 0; i < ns->n; i++)
			free(ns->v[i]);
	free(ns->v);
	*ns = (struct names){ 0 };
}

/* Opens the directory rel below top, one component at a time, never
 * following a symlink, creating missing components (0700) when create is
 * set. -1 with errno when a component is missing or not a directory. */
int ds_open_dir_at(int top, const char *rel, int create)
{
	int fd = openat(top, ".", DIR_FLAGS);
	char *copy = box_xstrdup(rel), *save = NULL;

	for (char *c = strtok_r(copy, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
		int next = create && mkdirat(fd, c, 0700) < 0 && errno != EEXIST ? -1 :
			openat(fd, c, DIR_FLAGS);
		box_close(fd);
		fd = next;
	}
	free(copy);
	return fd;
}

int ds_open_dst_dir(struct ds *d, const char *rel)
{
	return ds_open_dir_at(d->dfd, rel, 0);
}

/* The directory part of a path below SRC or DST: "" for the top. */
char *ds_dir_name(const char *rel)
{
	const char *s = strrchr(rel, '/');
	return s ? box_xasprintf("%.*s", (int)(s - rel), rel) : box_xstrdup("");
}

/* The walk's path: one buffer, a component appended per level. */
size_t ds_path_push(struct ds *d, const char *name)
{
	size_t old = d->plen, n = strlen(name);
	d->path = box_grow(d->path, &d->pcap, old + n + 2, 1);
	if (old)
		d->path[d->plen++] = '/';
	memcpy(d->path + d->plen, name, n + 1);
	d->plen += n;
	return old;
}

void ds_path_pop(struct ds *d, size_t len)
{
	d->plen = len;
	d->path[len] = 0;
}

int ds_reopen_parent(int childfd, int *fd, dev_t dev, ino_t ino)
{
	struct stat st;
	int r = openat(childfd, "..", DIR_FLAGS);

	if (r >= 0 && (fstat(r, &st) < 0 || st.st_dev != dev || st.st_ino != ino)) {
		box_close(r);
		r = -1;
		errno = ESTALE;
	}
	*fd = r;
	return r < 0 ? -1 : 0;
}

/* A directory of DST without write permission for its owner (a read-only
 * directory of SRC, mirrored) is opened up while dirsync fills it; its
 * fix puts SRC's mode back. Returns 1 when it changed the mode. */
int ds_make_writable(struct ds *d, int fd, const struct stat *st)
{
	if (d->dry || (st->st_mode & 0700) == 0700 || (d->root && st->st_uid == 0))
		return 0;
	return fchmod(fd, (st->st_mode & 07777) | 0700) == 0;
}

int ds_excluded(const struct ds *d, const char *rel, int isdir)
{
	for (size_t i = 0; i < d->npats; i++)
		if (dirsync_pattern_match(&d->pats[i], rel, isdir))
			return 1;
	return 0;
}

/* Sets a directory's owner, mode and mtime (and xattrs) to SRC's through
 * its descriptor. */
int ds_fix_dir(struct ds *d, int sfd, const struct ds_xattrs *xa, int dfd,
	const struct stat *ss, const char *rel)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, ss->st_mtim };
	struct stat cur;

	if (fstat(dfd, &cur) < 0 ||
	    (d->root && (cur.st_uid != ss->st_uid || cur.st_gid != ss->st_gid) &&
	     fchown(dfd, ss->st_uid, ss->st_gid) < 0) ||
	    (d->xattrs && (xa || sfd >= 0) && ds_xattr_sync(d, xa, sfd, NULL, dfd, NULL, rel) < 0) ||
	    ((d->xattrs & XA_ACL) && fstat(dfd, &cur) < 0) ||
	    ((cur.st_mode & 07777) != (ss->st_mode & 07777) && fchmod(dfd, ss->st_mode & 07777) < 0) ||
	    futimens(dfd, ts) < 0) {
		ds_dst_error(d, "set attributes of directory", rel);
		return -1;
	}
	return 0;
}

/* A directory whose attributes wait for the deletions. Returns its index. */
size_t ds_add_fix(struct ds *d, const char *rel, const struct stat *ss, int sfd, int dfd)
{
	struct stat st = { 0 };
	struct dir_fix *f = BOX_PUSH(d->fixes, d->nfixes, d->cfixes);

	if (dfd >= 0)
		fstat(dfd, &st);
	*f = (struct dir_fix){ .rel = box_xstrdup(rel), .ss = *ss, .dev = st.st_dev, .ino = st.st_ino };
	if (d->xattrs && sfd >= 0 && ds_xattrs_read(&f->xa, sfd, NULL, d->xattrs | XA_SOURCE) < 0)
		ds_src_error(d, "read the attributes of", rel);
	return d->nfixes - 1;
}

/* The deferred attributes, deepest first, each directory found again by
 * path and checked to be the one the walk saw. A directory whose
 * deletions did not happen because SRC changed under the run stays as it
 * was: its times would be those of a half-deleted source. */
void ds_run_fixes(struct ds *d)
{
	int undone = d->postponed || d->refused || d->vanished || ds_stopped(d);

	for (size_t i = d->nfixes; i-- > 0;) {
		struct dir_fix *f = &d->fixes[i];
		struct stat cur;
		/* waiting only for -H names, and none was linked: nothing to
		 * put back (a no-op run writes nothing) */
		int idle = !f->due && !f->dels && !d->link_changes;
		if (f->set && !idle && !d->dry && !ds_stopped(d) && !(f->dels && undone)) {
			int fd = *f->rel ? ds_open_dst_dir(d, f->rel) : openat(d->dfd, ".", DIR_FLAGS);
			if (fd < 0 || fstat(fd, &cur) < 0 || cur.st_dev != f->dev || cur.st_ino != f->ino) {
				errno = fd < 0 ? errno : ESTALE;
				ds_dst_error(d, "set attributes of directory", f->rel);
			} else {
				ds_fix_dir(d, -1, &f->xa, fd, &f->ss, f->rel);
			}
			if (fd >= 0)
				box_close(fd);
		}
		free(f->rel);
		ds_xattrs_free(&f->xa);
	}
	d->nfixes = 0;
}

/* ---- one directory ---------------------------------------------------------- */

struct frame {
	int sfd, dfd;		/* -1 while closed; dfd also when DST lacks it */
	dev_t sdev, ddev;
	ino_t sino, dino;
	int has_dst;		/* DST has this directory (not new in a dry run) */
	int deep;		/* walk its subdirectories too */
	int fix;		/* its attributes must be set when leaving */
	size_t fix_index;	/* in d->fixes, when it has deletions; else -1 */
	size_t rel_len;
	struct stat ss;
	struct names subdirs;
	size_t next;
	long long changes;
};

/* One entry present in SRC (s, as its window read it), and in DST when t
 * is not NULL. Directories are only noted in subdirs; they are handled
 * after the other entries. */
static void sync_entry(struct ds *d, struct frame *f, const char *name,
	const struct ds_read *s, const struct ds_read *t)
{
	struct stat ss, dst;
	size_t save = ds_path_push(d, name);
	const char *path = d->path;
	int have = 0;

	if (!s->have) {
		errno = s->err;
		ds_src_error(d, "stat", path);
		goto out;
	}
	ss = s->st;
	if (ds_excluded(d, path, S_ISDIR(ss.st_mode)))
		goto out;
	if (t && (have = t->have))
		dst = t->st;
	if (S_ISDIR(ss.st_mode)) {
		f->subdirs.v[f->subdirs.n++] = box_xstrdup(name);
		goto out;
	}
	/* A directory in the way of a non-directory goes first. */
	if (have && S_ISDIR(dst.st_mode)) {
		if (ds_clear_way(d, f->dfd, path, S_ISREG(ss.st_mode) ? "regular file" :
		    S_ISLNK(ss.st_mode) ? "symlink" : "special file") < 0)
			goto out;
		have = 0;
	}
	if (have && (dst.st_mode & S_IFMT) != (ss.st_mode & S_IFMT)) {
		/* renamed over, atomically; a backup has to move it first */
		if (d->bfd >= 0 && !d->dry && ds_backup_entry(d, f->dfd, path, 0) < 0)
			goto out;
		have = 0;
	}
	if (have && s->xa_ok && t->xa_ok) {
		d->pre_src = &s->xa;	/* for ds_xattr_changes */
		d->pre_dst = &t->xa;
		d->pre_name = name;
	}
	if (S_ISREG(ss.st_mode))
		ds_sync_regular(d, f->sfd, f->dfd, name, path, &ss, have ? &dst : NULL);
	else if (S_ISLNK(ss.st_mode))
		ds_sync_link(d, f->sfd, f->dfd, name, path, &ss, have ? &dst : NULL);
	else
		ds_sync_special(d, f->sfd, f->dfd, name, path, &ss, have ? &dst : NULL);
	d->pre_name = NULL;
out:
	ds_path_pop(d, save);
}

/* Entries of a directory read at once (prefetch.c): a window of the walk
 * through its SRC and DST listings. */
#define WINDOW 512

/* Lists SRC's and DST's directory, syncs its non-directories, notes its
 * subdirectories and schedules the deletions. */
static void enter(struct ds *d, struct frame *f)
{
	/* the two listings are reused from directory to directory */
	struct names *sn = &d->lists[0], *dn = &d->lists[1];
	struct ds_read *sr, *dr;
	char **extra;
	size_t nextra = 0, i = 0, j = 0;
	int errs = d->read_errs + d->vanished;
	const char *rel = d->path;

	f->subdirs = (struct names){ 0 };
	dn->n = 0;
	f->next = 0;
	f->fix_index = (size_t)-1;
	f->changes = d->changes;
	if (ds_list_dir(f->sfd, sn) < 0) {
		ds_src_error(d, "read directory", rel);	/* ENOENT: removed meanwhile */
		return;
	}
	d->new_gid = (gid_t)-1;
	if (f->dfd >= 0) {
		struct stat st;
		if (fstat(f->dfd, &st) == 0) {
			if (ds_make_writable(d, f->dfd, &st))
				f->fix = 1;
			/* root's new files are root's, or of a setgid directory's group */
			if (d->root)
				d->new_gid = st.st_mode & S_ISGID ? st.st_gid : d->egid;
		}
		if (ds_list_dir(f->dfd, dn) < 0) {
			ds_dst_error(d, "read directory", rel);
			dn->n = 0;
			return;
		}
		d->dst_entries += (long long)dn->n;
	}
	if (!d->reads)
		d->reads = box_xcalloc(2 * WINDOW, sizeof(*d->reads));
	sr = d->reads;
	dr = d->reads + WINDOW;
	f->subdirs.v = box_xmalloc((sn->n + 1) * sizeof(char *));
	extra = box_xmalloc((dn->n + 1) * sizeof(char *));
	d->deferred = 0;
	while ((i < sn->n || j < dn->n) && !ds_stopped(d)) {
		/* the window: the next merge steps, both sides read at once;
		 * attributes only of names on both sides */
		size_t i0 = i, j0 = j, i2 = i, j2 = j;
		for (int k = 0; k < WINDOW && (i2 < sn->n || j2 < dn->n); k++) {
			int c = i2 == sn->n ? 1 : j2 == dn->n ? -1 : strcmp(sn->v[i2], dn->v[j2]);
			if (c >= 0)
				dr[j2++ - j0].want_xa = c == 0;
			if (c <= 0)
				sr[i2++ - i0].want_xa = c == 0;
		}
		/* (a side without names may have no array) */
		ds_read_both(d, f->sfd, i2 > i0 ? sn->v + i0 : NULL, i2 - i0, sr,
			f->dfd, j2 > j0 ? dn->v + j0 : NULL, j2 - j0, dr);
		while ((i < i2 || j < j2) && !ds_stopped(d)) {
			int c = i == i2 ? 1 : j == j2 ? -1 : strcmp(sn->v[i], dn->v[j]);
			if (c > 0) {
				const struct ds_read *t = &dr[j - j0];
				size_t save = ds_path_push(d, dn->v[j]);
				if (t->have && !ds_excluded(d, d->path, S_ISDIR(t->st.st_mode)))
					extra[nextra++] = box_xstrdup(d->path);
				ds_path_pop(d, save);
				j++;
				continue;
			}
			sync_entry(d, f, sn->v[i], &sr[i - i0], c == 0 ? &dr[j - j0] : NULL);
			i++;
			j += c == 0;
			if ((i & 63) == 0)
				ds_check_signal(d);
		}
	}
	/* (d->path may have moved: sync_entry grows it) */
	rel = d->path;
	/* -H names are linked in after the walk, deletions after the checks:
	 * the directory's attributes after them */
	if ((d->deferred || nextra) && f->fix_index == (size_t)-1)
		f->fix_index = ds_add_fix(d, rel, &f->ss, f->sfd, f->dfd);
	if (nextra)
		d->fixes[f->fix_index].dels = 1;
	/* A source entry that could not be read may be one DST still needs. */
	if (nextra && d->read_errs + d->vanished == errs && !d->no_delete) {
		for (size_t k = 0; k < nextra; k++)
			*BOX_PUSH(d->dels, d->ndels, d->cdels) = (struct deletion){ extra[k], f->fix_index };
	} else {
		for (size_t k = 0; k < nextra; k++)
			free(extra[k]);
	}
	free(extra);
}

static void close_frame(struct frame *f)
{
	if (f->sfd >= 0)
		box_close(f->sfd);
	if (f->dfd >= 0)
		box_close(f->dfd);
	f->sfd = f->dfd = -1;
}

/* The subdirectory name of f: created or checked in DST, reported, and
 * either set up in c to be walked (returns 1) or finished here (0). */
static int open_child(struct ds *d, struct frame *f, const char *name, struct frame *c)
{
	struct stat ss, dst, st;
	size_t save = ds_path_push(d, name);
	const char *rel = d->path;
	int have = f->dfd >= 0 && fstatat(f->dfd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;

	if (fstatat(f->sfd, name, &ss, AT_SYMLINK_NOFOLLOW) < 0)
		goto src_err;
	if (!S_ISDIR(ss.st_mode)) {
		errno = ENOENT;	/* replaced since listed: next run */
		goto src_err;
	}
	if (ds_inside_dst(d, &ss)) {
		ds_refuse(d, REFUSE_INSIDE, "destination %s is inside source %s (as %s/%s)",
			d->dst, d->src, d->src, ds_esc(rel));
		d->refused = 1;
		goto out;
	}
	if (have && !S_ISDIR(dst.st_mode)) {
		if (ds_clear_way(d, f->dfd, rel, "directory") < 0)
			goto out;
		have = 0;
	}
	unsigned changed = have ? ds_xattr_changes(d, f->sfd, name, f->dfd, name,
		ds_attr_changes(d, &ss, &dst)) : CHANGED_NEW;
	d->ndirs++;
	if (changed)
		ds_report(d, have ? UPDATE_NONE : UPDATE_CREATE, KIND_DIR, changed, rel, NULL);
	if (!have && !d->dry && mkdirat(f->dfd, name, 0700) < 0) {
		ds_dst_error(d, "create directory", rel);
		goto out;
	}
	*c = (struct frame){ .sfd = -1, .dfd = -1, .ss = ss, .fix = changed != 0,
		.deep = f->deep || !have, .has_dst = f->has_dst && (have || !d->dry) };
	c->sfd = openat(f->sfd, name, DIR_FLAGS);
	if (c->sfd < 0 || fstat(c->sfd, &st) < 0 || st.st_ino != ss.st_ino || st.st_dev != ss.st_dev) {
		if (c->sfd >= 0)
			errno = ENOENT;
		ds_src_error(d, "open directory", rel);
		if (!have && !d->dry && (c->dfd = openat(f->dfd, name, DIR_FLAGS)) >= 0)
			ds_fix_dir(d, -1, NULL, c->dfd, &ss, rel);
		close_frame(c);
		goto out;
	}
	c->sdev = st.st_dev;
	c->sino = st.st_ino;
	if (c->has_dst) {
		c->dfd = openat(f->dfd, name, DIR_FLAGS);
		if (c->dfd < 0 || fstat(c->dfd, &st) < 0) {
			ds_dst_error(d, "open directory", rel);
			close_frame(c);
			goto out;
		}
		c->ddev = st.st_dev;
		c->dino = st.st_ino;
	}
	ds_watch_dir(d, c->sfd, rel);
	if (c->deep) {
		c->rel_len = d->plen;
		return 1;
	}
	/* not walked: its entries are synced (if they changed) from their own
	 * event; its attributes wait for the run's deletions like theirs */
	if (c->fix && c->dfd >= 0 && !d->dry) {
		size_t i = ds_add_fix(d, rel, &ss, c->sfd, c->dfd);
		d->fixes[i].set = d->fixes[i].dels = 1;
	}
	close_frame(c);
	goto out;
src_err:
	ds_src_error(d, "stat", rel);
out:
	ds_path_pop(d, save);
	return 0;
}

/* DST's side of a closed parent: through ".." of the child, or by path
 * when the child is new in a dry run. */
static int reopen_dst(struct ds *d, struct frame *f, struct frame *p)
{
	struct stat st;

	if (f->dfd >= 0)
		return ds_reopen_parent(f->dfd, &p->dfd, p->ddev, p->dino);
	char *rel = box_xasprintf("%.*s", (int)p->rel_len, d->path);
	p->dfd = ds_open_dst_dir(d, rel);
	free(rel);
	if (p->dfd >= 0 && (fstat(p->dfd, &st) < 0 || st.st_dev != p->ddev || st.st_ino != p->dino)) {
		box_close(p->dfd);
		p->dfd = -1;
	}
	return p->dfd < 0 ? -1 : 0;
}

/* Leaves the top frame: its attributes now, or after the deletions when
 * it has some; its parent reopened when it was closed. */
static void leave(struct ds *d, struct frame *v, size_t *n)
{
	struct frame *f = &v[*n - 1], *p = *n > 1 ? f - 1 : NULL;
	int due = f->fix || d->changes != f->changes;

	if (f->fix_index != (size_t)-1) {
		d->fixes[f->fix_index].set = 1;
		d->fixes[f->fix_index].due = due;
	}
	else if (due && f->dfd >= 0 && !d->dry && !ds_stopped(d))
		ds_fix_dir(d, f->sfd, NULL, f->dfd, &f->ss, d->path);
	if (p && p->sfd < 0) {
		if (ds_reopen_parent(f->sfd, &p->sfd, p->sdev, p->sino) < 0 ||
		    (p->has_dst && reopen_dst(d, f, p) < 0)) {
			box_warn("directory %s/%s moved during the run; the rest of it is left "
				"for the next run", d->src, ds_esc(d->path));
			d->read_errs++;
			p->next = p->subdirs.n;
		}
	}
	close_frame(f);
	ds_free_names(&f->subdirs);
	(*n)--;
	if (p)
		ds_path_pop(d, p->rel_len);
}

/* Walks SRC's directory rel (sfd) and DST's (dfd, -1 when new in a dry
 * run): every level below it when deep, else its entries and the
 * subdirectories that are new in DST. Takes over both descriptors. */
void ds_walk(struct ds *d, int sfd, int dfd, const char *rel, int deep)
{
	struct frame *v = box_xmalloc(sizeof(*v) * 8), *f;
	size_t n = 1, cap = 8;
	struct stat st;

	d->plen = 0;
	d->path = box_grow(d->path, &d->pcap, 1, 1);
	d->path[0] = 0;
	if (*rel)
		ds_path_push(d, rel);
	v[0] = (struct frame){ .sfd = sfd, .dfd = dfd, .deep = deep, .has_dst = dfd >= 0,
		.rel_len = d->plen };
	fstat(sfd, &v[0].ss);
	v[0].sdev = v[0].ss.st_dev;
	v[0].sino = v[0].ss.st_ino;
	if (dfd >= 0 && fstat(dfd, &st) == 0) {
		v[0].ddev = st.st_dev;
		v[0].dino = st.st_ino;
		v[0].fix = d->xattrs || ds_attr_changes(d, &v[0].ss, &st) != 0;
	}
	enter(d, &v[0]);
	/* the top's attributes wait for the deletions, like any with some */
	if (v[0].fix_index == (size_t)-1 && dfd >= 0)
		v[0].fix_index = ds_add_fix(d, rel, &v[0].ss, sfd, dfd);
	while (n) {
		f = &v[n - 1];
		if (ds_stopped(d) || f->next == f->subdirs.n) {
			leave(d, v, &n);
			continue;
		}
		struct frame c;
		if (!open_child(d, f, f->subdirs.v[f->next++], &c))
			continue;
		v = box_grow(v, &cap, n + 1, sizeof(*v));
		v[n++] = c;
		if (n > OPEN_LEVELS)
			close_frame(&v[n - 1 - OPEN_LEVELS]);
		enter(d, &v[n - 1]);
	}
	free(v);
	ds_free_names(&d->lists[0]);
	ds_free_names(&d->lists[1]);
	if (d->reads)
		for (size_t k = 0; k < 2 * WINDOW; k++)
			ds_xattrs_free(&d->reads[k].xa);
	free(d->reads);
	d->reads = NULL;
}
