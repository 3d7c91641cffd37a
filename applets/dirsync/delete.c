/* dirsync's deletions: entries of DST that SRC no longer has are removed
 * after every copy of the run (children first, excluded entries kept),
 * counted against --max-delete, or moved to the --backup-dir tree. */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
	if (ds_list_dir(fd, &ns) == 0)
		for (size_t i = 0; i < ns.n; i++)
			remove_tree(fd, ns.v[i]);
	ds_free_names(&ns);
	box_close(fd);
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Puts DST's entry rel (in directory pfd) into the backup tree: hard
 * linked when keep is set (it is about to be replaced atomically), moved
 * otherwise. An older backup of the same path is replaced. */
int ds_backup_entry(struct ds *d, int pfd, const char *rel, int keep)
{
	char *dir = ds_dir_name(rel);
	int bfd = ds_open_dir_at(d->bfd, dir, 1), r = -1;
	const char *name = box_basename(rel);

	free(dir);
	if (bfd >= 0) {
		remove_tree(bfd, name);
		r = keep ? linkat(pfd, name, bfd, name, 0) : renameat(pfd, name, bfd, name);
		box_close(bfd);
	}
	if (r < 0)
		ds_dst_error(d, "back up", rel);
	return r;
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
	if (ds_list_dir(fd, &ns) == 0)
		for (size_t i = 0; i < ns.n; i++)
			n += count_tree(fd, ns.v[i]);
	ds_free_names(&ns);
	box_close(fd);
	return n;
}

/* Reports (and unless -n, removes) DST's entry rel in directory pfd,
 * children first. Entries matching an exclude pattern stay, and so does
 * the directory holding them. Returns 1 when the entry is (or would be)
 * gone. With a backup dir the top entry is moved there whole. */
static int delete_entry(struct ds *d, int pfd, const char *rel, int top)
{
	const char *name = box_basename(rel);
	struct stat st;
	int gone = 1;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT;
	int isdir = S_ISDIR(st.st_mode);
	if (!top && ds_excluded(d, rel, isdir))
		return 0;
	if (isdir) {
		int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct names ns;
		if (fd < 0 || ds_list_dir(fd, &ns) < 0) {
			ds_dst_error(d, "read directory", rel);
			if (fd >= 0)
				box_close(fd);
			return 0;
		}
		for (size_t i = 0; i < ns.n; i++) {
			char *sub = box_xpath_join(rel, ns.v[i]);
			gone &= delete_entry(d, fd, sub, 0);
			free(sub);
		}
		ds_free_names(&ns);
		box_close(fd);
	}
	if (!gone)
		return 0;
	ds_report(d, UPDATE_DELETE, isdir ? KIND_DIR : KIND_FILE, 0, rel, NULL);
	d->ndeleted++;
	if (d->dry || (!top && d->bfd >= 0))
		return 1;
	if (top && d->bfd >= 0)
		return ds_backup_entry(d, pfd, rel, 0) == 0;
	if (unlinkat(pfd, name, isdir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT) {
		ds_dst_error(d, "delete", rel);
		return 0;
	}
	return 1;
}

/* Deletes DST's entry rel now (it is in the way of a new entry of another
 * type). 0 when it is gone or was not there. */
int ds_clear_way(struct ds *d, int pfd, const char *rel)
{
	if (d->max_delete >= 0) {
		long long n = count_tree(pfd, box_basename(rel));
		if (d->maxdel_hit || d->ndeleted + n > d->max_delete) {
			d->maxdel_hit = 1;
			return -1;
		}
	}
	return delete_entry(d, pfd, rel, 1) ? 0 : -1;
}

void ds_run_deletions(struct ds *d)
{
	for (size_t i = 0; i < d->ndels && !ds_stopped(d) && !d->maxdel_hit; i++) {
		char *dir = ds_dir_name(d->dels[i]);
		int pfd = ds_open_dst_dir(d, dir);
		free(dir);
		if (pfd < 0)
			continue;
		if (d->max_delete >= 0 &&
		    d->ndeleted + count_tree(pfd, box_basename(d->dels[i])) > d->max_delete) {
			box_close(pfd);
			d->maxdel_hit = 1;
			break;
		}
		delete_entry(d, pfd, d->dels[i], 1);
		box_close(pfd);
		ds_check_signal(d);
	}
}

