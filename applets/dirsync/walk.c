/* dirsync's walk: SRC and DST side by side, one directory at a time, in
 * sorted order. Non-directories are synced first, then subdirectories;
 * what DST has beyond SRC is scheduled for deletion, and each directory's
 * attributes are fixed last (writing into it changes its mtime). */
#include "dirsync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ds_list_dir(int fd, struct names *ns)
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
		*BOX_PUSH(ns->v, ns->n, cap) = box_xstrdup(e->d_name);
	}
	int err = errno;
	closedir(dir);
	if (ns->n)
		qsort(ns->v, ns->n, sizeof(*ns->v), cmp_names);
	errno = err;
	return err ? -1 : 0;
}

void ds_free_names(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

/* Opens the directory rel below top, one component at a time, never
 * following a symlink, creating missing components (0700) when create is
 * set. -1 with errno when a component is missing or not a directory. */
int ds_open_dir_at(int top, const char *rel, int create)
{
	int fd = dup(top);
	char *copy = box_xstrdup(rel), *save = NULL;

	box_set_cloexec(fd, 1);
	for (char *c = strtok_r(copy, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
		int next = create && mkdirat(fd, c, 0700) < 0 && errno != EEXIST ? -1 :
			openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

int ds_excluded(const struct ds *d, const char *rel, int isdir)
{
	for (size_t i = 0; i < d->npats; i++)
		if (dirsync_pattern_match(&d->pats[i], rel, isdir))
			return 1;
	return 0;
}

void ds_add_fix(struct ds *d, const char *rel, const struct stat *ss)
{
	*BOX_PUSH(d->fixes, d->nfixes, d->cfixes) = (struct dir_fix){ box_xstrdup(rel), *ss };
}

/* A subdirectory: create or fix it in DST, then descend (always when deep
 * or when it is new in DST). */
static void sync_subdir(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst, int deep)
{
	int created = !dst;
	unsigned changed = created ? CHANGED_NEW : ds_attr_changes(d, ss, dst);

	d->ndirs++;
	if (changed)
		ds_report(d, created ? UPDATE_CREATE : UPDATE_NONE, KIND_DIR, changed, rel, NULL);
	if (created && !d->dry && mkdirat(dfd, name, 0700) < 0) {
		ds_dst_error(d, "create directory", rel);
		return;
	}
	int sub_s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub_s < 0) {
		ds_src_error(d, "open directory", rel);
		if (created)
			ds_add_fix(d, rel, ss);
		return;
	}
	int sub_d = -1;
	if (dfd >= 0 && !(created && d->dry)) {
		sub_d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub_d < 0) {
			ds_dst_error(d, "open directory", rel);
			box_close(sub_s);
			return;
		}
	}
	ds_watch_dir(d, sub_s, rel);
	long long before = d->changes;
	size_t dels = deep || created ? ds_sync_dir(d, sub_s, sub_d, rel, 1) : 0;
	/* untouched and equal: no need to set its attributes again */
	if (created || dels || d->changes != before || changed)
		ds_add_fix(d, rel, ss);
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
	char *path = box_xpath_join(rel, name);
	int have = 0;

	if (fstatat(sfd, name, &ss, AT_SYMLINK_NOFOLLOW) < 0) {
		ds_src_error(d, "stat", path);
		goto out;
	}
	if (ds_excluded(d, path, S_ISDIR(ss.st_mode)))
		goto out;
	if (in_dst && dfd >= 0)
		have = fstatat(dfd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
	if (S_ISDIR(ss.st_mode)) {
		subdirs->v[subdirs->n++] = box_xstrdup(name);
		goto out;
	}
	/* A directory in the way of a non-directory goes first. */
	if (have && S_ISDIR(dst.st_mode)) {
		if (ds_clear_way(d, dfd, path) < 0)
			goto out;
		have = 0;
	}
	if (have && (dst.st_mode & S_IFMT) != (ss.st_mode & S_IFMT)) {
		/* renamed over, atomically; a backup has to move it first */
		if (d->bfd >= 0 && !d->dry && ds_backup_entry(d, dfd, path, 0) < 0)
			goto out;
		have = 0;
	}
	if (S_ISREG(ss.st_mode))
		ds_sync_regular(d, sfd, dfd, name, path, &ss, have ? &dst : NULL);
	else if (S_ISLNK(ss.st_mode))
		ds_sync_link(d, sfd, dfd, name, path, &ss, have ? &dst : NULL);
	else
		ds_sync_special(d, dfd, name, path, &ss, have ? &dst : NULL);
out:
	free(path);
}

/* Returns the number of deletions it scheduled in this directory. */
size_t ds_sync_dir(struct ds *d, int sfd, int dfd, const char *rel, int deep)
{
	struct names sn, dn = { NULL, 0 }, subdirs;
	char **extra = NULL;
	size_t nextra = 0, ndel = 0;
	int errs = d->read_errs;

	if (ds_list_dir(sfd, &sn) < 0) {
		box_warn_errno("unable to read directory %s/%s", d->src, rel);
		d->read_errs++;
		ds_free_names(&sn);
		return 0;
	}
	if (dfd >= 0 && ds_list_dir(dfd, &dn) < 0) {
		ds_dst_error(d, "read directory", rel);
		ds_free_names(&sn);
		ds_free_names(&dn);
		return 0;
	}
	subdirs.v = box_xmalloc((sn.n + 1) * sizeof(char *));
	subdirs.n = 0;
	extra = box_xmalloc((dn.n + 1) * sizeof(char *));
	for (size_t i = 0, j = 0; (i < sn.n || j < dn.n) && !ds_stopped(d);) {
		int c = i == sn.n ? 1 : j == dn.n ? -1 : strcmp(sn.v[i], dn.v[j]);
		if (c > 0) {
			const char *name = dn.v[j++];
			struct stat st;
			char *path = box_xpath_join(rel, name);
			if (ds_is_temp_name(name)) {
				if (!d->dry)
					unlinkat(dfd, name, 0);
			} else if ((!*rel && !strcmp(name, STATE_NAME)) ||
			    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    ds_excluded(d, path, S_ISDIR(st.st_mode))) {
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
			ds_check_signal(d);
	}
	for (size_t k = 0; k < subdirs.n && !ds_stopped(d); k++) {
		char *path = box_xpath_join(rel, subdirs.v[k]);
		struct stat ss, dst;
		int have = dfd >= 0 && fstatat(dfd, subdirs.v[k], &dst, AT_SYMLINK_NOFOLLOW) == 0;
		if (fstatat(sfd, subdirs.v[k], &ss, AT_SYMLINK_NOFOLLOW) < 0) {
			ds_src_error(d, "stat", path);
		} else if (!S_ISDIR(ss.st_mode)) {
			errno = ENOENT;	/* replaced since listed: next run */
			ds_src_error(d, "stat", path);
		} else if (have && !S_ISDIR(dst.st_mode) && ds_clear_way(d, dfd, path) < 0) {
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
			*BOX_PUSH(d->dels, d->ndels, d->cdels) = extra[k];
			ndel++;
		} else
			free(extra[k]);
	}
	free(extra);
	ds_free_names(&subdirs);
	ds_free_names(&sn);
	ds_free_names(&dn);
	return ndel;
}

/* Directory modes and times, after everything else touched them. */
void ds_run_fixes(struct ds *d)
{
	for (size_t i = d->nfixes; i-- > 0;) {
		struct dir_fix *f = &d->fixes[i];
		struct stat cur;
		if (!d->dry && !ds_stopped(d)) {
			char *dir = ds_dir_name(f->rel);
			int pfd = *f->rel ? ds_open_dst_dir(d, dir) : -1;
			int ok;
			if (!*f->rel) {
				struct timespec ts[2] = { { 0, UTIME_OMIT }, f->st.st_mtim };
				ok = fstat(d->dfd, &cur) == 0 &&
					(!d->root || fchown(d->dfd, f->st.st_uid, f->st.st_gid) == 0) &&
					((cur.st_mode & 07777) == (f->st.st_mode & 07777) ||
					 fchmod(d->dfd, f->st.st_mode & 07777) == 0) &&
					futimens(d->dfd, ts) == 0;
			} else {
				ok = pfd >= 0 && ds_set_attrs(d, pfd, box_basename(f->rel), &f->st, 0) == 0;
			}
			if (!ok)
				ds_dst_error(d, "set attributes of directory", f->rel);
			if (pfd >= 0)
				box_close(pfd);
			free(dir);
		}
		free(f->rel);
	}
	d->nfixes = 0;
}

