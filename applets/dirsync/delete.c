/* dirsync's deletions: entries of DST that SRC no longer has are removed
 * after every copy of the run, children first, excluded entries kept,
 * counted against --max-delete, or moved to the --backup-dir tree.
 *
 * Before the first one, the run makes sure SRC did not change under it
 * (nothing of it vanished or was removed while the run looked: a running
 * `rm -rf SRC` looks like that), that SRC is still the filesystem and
 * directory it was, and that the deletions are not most of DST. */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define OPEN_LEVELS 48
/* The mass-deletion guard ignores runs deleting no more than this. */
#define MASS_MIN 100
/* One-shot runs: how long SRC must stay still before deletions. */
#define SETTLE_NS (100 * 1000000LL)

/* TREE_QUIET_TOP: the entry itself is replaced, not deleted: rsync does
 * not report it, only what was inside. */
enum { TREE_COUNT = 1, TREE_REPORT = 2, TREE_REMOVE = 4, TREE_QUIET_TOP = 8 };

struct tnode {
	int fd;
	dev_t dev;
	ino_t ino;
	struct names ns;
	size_t i, rel_len;
	int kept;
};

static void path_set(char **p, size_t *cap, size_t *len, size_t at, const char *add)
{
	size_t n = strlen(add);
	*p = box_grow(*p, cap, at + n + 2, 1);
	if (at)
		(*p)[at++] = '/';
	memcpy(*p + at, add, n + 1);
	*len = at + n;
}

/* One entry of a tree going away. Returns 1 when it is (or would be) gone. */
static int drop(struct ds *d, int pfd, const char *name, const char *rel, int isdir, int how)
{
	if (how & TREE_COUNT)
		return 1;
	if ((how & TREE_REMOVE) && d->max_delete >= 0 && d->ndeleted >= d->max_delete) {
		d->maxdel_hit = 1;
		return 0;
	}
	if (how & TREE_REPORT)
		ds_report(d, UPDATE_DELETE, isdir ? KIND_DIR : KIND_FILE, 0, rel, NULL);
	d->ndeleted++;
	if (!(how & TREE_REMOVE) || d->dry)
		return 1;
	if (unlinkat(pfd, name, isdir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT) {
		ds_dst_error(d, "delete", rel);
		return 0;
	}
	return 1;
}

/* DST's entry rel in pfd and everything below it, children first and
 * without recursion: counted (TREE_COUNT), reported, removed. Excluded
 * entries stay, and so do the directories holding them. Returns the
 * number of entries; *kept tells whether rel itself stays. */
static long long tree(struct ds *d, int pfd, const char *rel, int how, int *kept)
{
	const char *name = box_basename(rel);
	struct tnode *v = NULL;
	size_t n = 0, cap = 0, pcap = 0, plen;
	char *path = NULL;
	long long count = 0;
	struct stat st;

	*kept = 0;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	int top_how = how & TREE_QUIET_TOP ? how & ~TREE_REPORT : how;
	if (!S_ISDIR(st.st_mode)) {
		*kept = !drop(d, pfd, name, rel, 0, top_how);
		return !*kept;
	}
	int fd = openat(pfd, name, DIR_FLAGS);
	if (fd < 0) {
		if (!(how & TREE_COUNT))
			ds_dst_error(d, "open directory", rel);
		*kept = 1;
		return 0;
	}
	path_set(&path, &pcap, &plen, 0, rel);
	for (;;) {
		/* fd: a directory to descend into, at path */
		if (fd >= 0) {
			struct tnode *t = BOX_PUSH(v, n, cap);
			*t = (struct tnode){ .fd = fd, .rel_len = plen };
			fstat(fd, &st);
			t->dev = st.st_dev;
			t->ino = st.st_ino;
			if ((how & TREE_REMOVE) && !d->dry)
				ds_make_writable(d, fd, &st);
			if (ds_list_dir(fd, &t->ns) < 0) {
				if (!(how & TREE_COUNT))
					ds_dst_error(d, "read directory", path);
				t->kept = 1;
				t->i = t->ns.n;
			}
			if (n > OPEN_LEVELS && v[n - 1 - OPEN_LEVELS].fd >= 0) {
				box_close(v[n - 1 - OPEN_LEVELS].fd);
				v[n - 1 - OPEN_LEVELS].fd = -1;
			}
			fd = -1;
		} else if (n == 0) {
			break;
		}
		struct tnode *t = &v[n - 1];
		if (t->i < t->ns.n && !ds_stopped(d) && !d->maxdel_hit) {
			const char *c = t->ns.v[t->i++];
			path_set(&path, &pcap, &plen, t->rel_len, c);
			if (fstatat(t->fd, c, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (ds_excluded(d, path, S_ISDIR(st.st_mode)))
				t->kept = 1;
			else if (S_ISDIR(st.st_mode) && (fd = openat(t->fd, c, DIR_FLAGS)) < 0)
				t->kept = 1;
			else if (!S_ISDIR(st.st_mode) && drop(d, t->fd, c, path, 0, how))
				count++;
			else if (!S_ISDIR(st.st_mode))
				t->kept = 1;
			continue;
		}
		/* t is done: remove it from its parent */
		int keep = t->kept || t->i < t->ns.n;
		struct tnode *p = n > 1 ? t - 1 : NULL;
		if (p && p->fd < 0 && ds_reopen_parent(t->fd, &p->fd, p->dev, p->ino) < 0) {
			ds_dst_error(d, "find the parent directory of", path);
			p->kept = 1;
			p->i = p->ns.n;
		}
		box_close(t->fd);
		ds_free_names(&t->ns);
		path[t->rel_len] = 0;
		plen = t->rel_len;
		n--;
		if (!keep && drop(d, p ? p->fd : pfd, box_basename(path), path, 1, p ? how : top_how))
			count++;
		else if (p)
			p->kept = 1;
		else
			*kept = 1;
		if (p) {
			path[p->rel_len] = 0;
			plen = p->rel_len;
		}
	}
	free(v);
	free(path);
	return count;
}

/* Puts DST's entry rel (in directory pfd) into the backup tree: hard
 * linked when keep is set (it is about to be replaced atomically), moved
 * otherwise. An older backup of the same path is replaced. */
int ds_backup_entry(struct ds *d, int pfd, const char *rel, int keep)
{
	char *dir = ds_dir_name(rel);
	int bfd = ds_open_dir_at(d->bfd, dir, 1), r = -1, kept;
	const char *name = box_basename(rel);

	free(dir);
	if (bfd >= 0) {
		struct ds quiet = *d;	/* the old backup goes without a report */
		quiet.itemize = quiet.verbose = 0;
		quiet.max_delete = -1;
		quiet.npats = 0;
		tree(&quiet, bfd, name, TREE_REMOVE, &kept);
		r = keep ? linkat(pfd, name, bfd, name, 0) : renameat(pfd, name, bfd, name);
		box_close(bfd);
	}
	if (r < 0)
		ds_dst_error(d, "back up", rel);
	return r;
}

/* Deletes DST's entry rel now: it is in the way of a new entry of another
 * type (what). Without --delete only an empty directory may go, as with
 * rsync. 0 when it is gone or was not there. */
int ds_clear_way(struct ds *d, int pfd, const char *rel, const char *what)
{
	const char *name = box_basename(rel);
	int kept;

	if (d->no_delete && unlinkat(pfd, name, AT_REMOVEDIR) < 0 && errno == ENOTEMPTY) {
		box_warn("cannot delete non-empty directory: %s/%s; could not make way for "
			"new %s", d->dst, ds_esc(rel), what);
		d->read_errs++;
		return -1;
	}
	if (d->bfd >= 0 && !d->dry) {
		tree(d, pfd, rel, TREE_REPORT | TREE_QUIET_TOP, &kept);
		if (!kept)
			return ds_backup_entry(d, pfd, rel, 0) == 0 ? 0 : -1;
	} else {
		tree(d, pfd, rel, TREE_REPORT | TREE_REMOVE | TREE_QUIET_TOP, &kept);
	}
	if (kept && !d->maxdel_hit) {
		box_warn("could not make way for new %s: %s/%s", what, d->dst, ds_esc(rel));
		d->read_errs++;
	}
	return kept ? -1 : 0;
}

/* One-shot runs watch SRC while they walk it (ds_watch_dir); before the
 * first deletion SRC must have been still for a moment. */
static int source_changed(struct ds *d, int64_t since)
{
	if (d->vanished)
		return 1;
	if (d->w.fd >= 0) {
		if (!d->watch) {
			struct timespec ts = { 0, SETTLE_NS };
			nanosleep(&ts, NULL);
		}
		box_watch_read(&d->w);
	}
	return d->pending.removed_at > since;
}

/* The deletions of the run, if they are safe. since: when the run began. */
static int deletions_safe(struct ds *d, int64_t since)
{
	int kept;

	if (source_changed(d, since)) {
		box_warn("source %s changed during the run (entries removed); deletions "
			"postponed%s", d->src, d->watch ? "" : " to the next run");
		d->postponed = 1;
		if (!d->vanished)
			d->vanished = 1;
		return 0;
	}
	if (ds_source_still(d) < 0) {
		d->refused = 1;
		return 0;
	}
	if (d->max_delete >= 0 || d->max_delete_pct >= 100)
		return 1;
	long long total = 0, base = d->watch && d->dst_total ? d->dst_total : d->dst_entries;
	for (size_t i = 0; i < d->ndels; i++) {
		char *dir = ds_dir_name(d->dels[i].rel);
		int pfd = ds_open_dst_dir(d, dir);
		free(dir);
		if (pfd >= 0) {
			total += tree(d, pfd, d->dels[i].rel, TREE_COUNT, &kept);
			box_close(pfd);
		}
	}
	base += total - (long long)d->ndels;
	if (total <= MASS_MIN || total * 100 <= base * d->max_delete_pct)
		return 1;
	ds_refuse(d, REFUSE_MASS, "deleting %lld of %lld entries in %s is more than %d%%; "
		"nothing deleted (--max-delete 100%% allows it)", total, base, d->dst,
		d->max_delete_pct);
	d->refused = 1;
	return 0;
}

void ds_run_deletions(struct ds *d, int64_t since)
{
	int pfd = -1, kept;
	size_t dir = (size_t)-1;

	if (!d->ndels || !deletions_safe(d, since))
		return;
	for (size_t i = 0; i < d->ndels && !ds_stopped(d) && !d->maxdel_hit; i++) {
		struct deletion *del = &d->dels[i];
		if (del->dir != dir) {
			struct dir_fix *f = &d->fixes[del->dir];
			struct stat st;
			if (pfd >= 0)
				box_close(pfd);
			dir = del->dir;
			pfd = ds_open_dst_dir(d, f->rel);
			if (pfd >= 0 && (fstat(pfd, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino)) {
				box_close(pfd);
				pfd = -1;
				errno = ESTALE;
			}
			if (pfd < 0)
				ds_dst_error(d, "open directory", f->rel);
			else
				ds_make_writable(d, pfd, &st);
		}
		if (pfd < 0)
			continue;
		if (d->bfd >= 0 && !d->dry) {
			tree(d, pfd, del->rel, TREE_REPORT, &kept);
			if (!kept)
				ds_backup_entry(d, pfd, del->rel, 0);
		} else {
			tree(d, pfd, del->rel, TREE_REPORT | TREE_REMOVE, &kept);
		}
		ds_check_signal(d);
	}
	if (pfd >= 0)
		box_close(pfd);
}
