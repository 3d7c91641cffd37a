/* dirsync: make DST an exact mirror of SRC (files, directories, symlinks,
 * special files, permissions, nanosecond mtimes, owners when root, hard
 * links, xattrs and ACLs on request), once or continuously with inotify,
 * and refuse to delete anything when SRC vanished, was emptied, unmounted,
 * replaced by another filesystem or changed under the run.
 *
 * Every write goes through *at() calls on directory fds opened with
 * O_NOFOLLOW, new data lands in an unnamed file linked into place,
 * deletions happen after all copies and checks, and directory attributes
 * are set through descriptors. */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"dirsync [-nivcwHXA] [--no-delete] [--exclude PAT]... [--max-delete N|PCT%] "
	"[--backup-dir DIR] [--modify-window SECS] [--fsync none|batch|file] [--delay DUR] "
	"[--delete-delay DUR] [--rescan DUR] [--poll DUR] SRC DST";

static const char help[] =
	"Make DST an exact copy of the directory SRC (like rsync -a --delete SRC/ DST/),\n"
	"once, or continuously with -w. Options come before SRC and DST.\n"
	"\n"
	"  -n, --dry-run         change nothing, say what would be done (with -i/-v)\n"
	"  -i, --itemize-changes one rsync-style line per change (YXcstpoguax name)\n"
	"  -v, --verbose         name changed entries, then a stats line\n"
	"  -c, --checksum        compare file contents, not just size and mtime\n"
	"  -H, --hard-links      keep hard-linked files linked in DST\n"
	"  -X, --xattrs          copy extended attributes\n"
	"  -A, --acls            copy POSIX ACLs\n"
	"      --no-delete       keep entries of DST that SRC does not have\n"
	"      --exclude PAT     skip entries matching PAT (repeatable); excluded\n"
	"                        entries of DST are never deleted\n"
	"      --max-delete N    delete at most N entries (exit 25 when more were due);\n"
	"                        PCT% refuses a run deleting more than PCT% of DST\n"
	"                        (default 50% when more than 100 entries would go)\n"
	"      --backup-dir DIR  move replaced and deleted entries to DIR (relative\n"
	"                        to DST unless absolute; same filesystem as DST)\n"
	"      --modify-window S mtimes within S seconds are equal (default: exact, to\n"
	"                        what DST's filesystem keeps)\n"
	"      --fsync MODE      none (default), batch (one syncfs at the end) or\n"
	"                        file (fsync every file before it is linked in)\n"
	"  -w, --watch           keep DST in sync: inotify, else polling\n"
	"      --delay DUR       coalesce changes for DUR before syncing (default 1s)\n"
	"      --delete-delay DUR  deletions wait until SRC saw no removal for DUR\n"
	"                        (default 2s)\n"
	"      --rescan DUR      walk all of SRC again every DUR (default 1h, 0: never)\n"
	"      --poll DUR        poll every DUR instead of using inotify\n"
	"\n"
	"Exit status: 0 ok, 1 usage, 3 bad SRC/DST, 11 file I/O error on DST,\n"
	"16 refused for safety (nothing deleted), 20 interrupted, 23 partial\n"
	"transfer, 24 source files vanished or changed during the run,\n"
	"25 --max-delete limit reached.\n";

/* ---- errors, counted for the exit status ---------------------------------- */

/* Called per file and per chunk of a large one: the signal fd is read
 * at most every 10 ms, not with a system call per small file. */
void ds_check_signal(struct ds *d)
{
	int err = errno;	/* callers report the error before this */
	int64_t now = box_now_ns();
	if (now - d->sig_checked < BOX_NSEC / 100)
		return;
	d->sig_checked = now;
	if (d->sigfd >= 0 && box_sigfd_read(d->sigfd) > 0)
		d->interrupted = 1;
	errno = err;
}

int ds_stopped(const struct ds *d)
{
	return d->fatal || d->interrupted;
}

/* An error writing DST. Running out of space or a dead disk stops the
 * run (exit 11); anything else (a permission) is a partial transfer. */
void ds_dst_error(struct ds *d, const char *what, const char *rel)
{
	int err = errno;
	box_warn_errno("unable to %s %s/%s", what, d->dst, ds_esc(rel));
	if (err == ENOSPC || err == EDQUOT || err == EIO || err == EROFS)
		d->fatal = 1;
	else
		d->read_errs++;
}

/* An error reading SRC: ENOENT means it vanished since it was listed. */
void ds_src_error(struct ds *d, const char *what, const char *rel)
{
	if (errno == ENOENT) {
		box_warn("file has vanished: %s/%s", d->src, ds_esc(rel));
		d->vanished++;
	} else {
		box_warn_errno("unable to %s %s/%s", what, d->src, ds_esc(rel));
		d->read_errs++;
	}
}

static void on_watch(void *ctx, int event, const char *rel, const char *child);

/* ---- one run ---------------------------------------------------------------- */

static void reset_run(struct ds *d)
{
	d->read_errs = d->vanished = d->fatal = d->maxdel_hit = d->refused = d->postponed = 0;
	d->partial = 0;
	d->nfiles = d->ndirs = d->nother = d->nxfer = d->ndeleted = d->bytes = 0;
	d->dst_entries = d->multi_links = 0;
}

static int run_status(struct ds *d)
{
	if (d->interrupted)
		return EXIT_SIGNAL;
	if (d->fatal)
		return EXIT_FILEIO;
	if (d->refused)
		return EXIT_REFUSED;
	if (d->read_errs || d->partial)
		return EXIT_PARTIAL;
	if (d->vanished)
		return EXIT_VANISHED;
	if (d->maxdel_hit)
		return EXIT_MAXDELETE;
	return 0;
}

/* DST and the backup directory are open only while a run needs them, so
 * a watching dirsync never keeps DST's filesystem busy. */
static void open_targets(struct ds *d)
{
	if (d->dfd < 0)
		d->dfd = ds_open_dst(d, !d->dry);
	if (d->backup_arg && d->bfd < 0)
		d->bfd = ds_open_backup(d);
}

static void close_targets(struct ds *d)
{
	if (d->dfd >= 0)
		box_close(d->dfd);
	if (d->bfd >= 0)
		box_close(d->bfd);
	d->dfd = d->bfd = -1;
}

static void free_links(struct ds *d)
{
	for (size_t i = 0; i < d->clinks; i++) {
		for (size_t k = 0; k < d->links[i].n; k++)
			free(d->links[i].rels[k]);
		free(d->links[i].rels);
	}
	free(d->links);
	d->links = NULL;
	d->nlinks = d->clinks = 0;
}

/* The top directory: reported like any other. */
static void report_top(struct ds *d, const struct stat *ss)
{
	struct stat dst;

	if (d->dfd < 0 || d->dst_created) {
		ds_report(d, UPDATE_CREATE, KIND_DIR, CHANGED_NEW, "", NULL);
	} else if (fstat(d->dfd, &dst) == 0) {
		unsigned changed = ds_xattr_changes(d, d->sfd, NULL, d->dfd, NULL,
			ds_attr_changes(d, ss, &dst));
		if (changed)
			ds_report(d, UPDATE_NONE, KIND_DIR, changed, "", NULL);
	}
	d->dst_created = 0;
}

/* Syncs SRC's directories rels (NULL: everything) into DST: copies,
 * then deletions (if safe), then the remaining directory attributes. A
 * rel with deep[i] set is walked whole. */
static int sync_run(struct ds *d, char **rels, const unsigned char *deep, size_t nrels)
{
	int64_t t0 = box_now_ns();
	struct stat ss;

	reset_run(d);
	open_targets(d);
	if (d->dst_created)
		rels = NULL;	/* DST is new (again): all of it */
	if (fstat(d->sfd, &ss) < 0)
		box_fatal_errno("unable to stat %s", d->src);
	if (d->mwin < 0)
		ds_detect_granularity(d, &ss);
	/* one-shot runs watch SRC while walking it: removals mean rm -rf */
	if (!d->watch && !d->dry && !d->no_delete && d->w.fd < 0 &&
	    box_watch_open(&d->w, BOX_NSEC, 0, on_watch, &d->pending) < 0)
		box_watch_close(&d->w);
	if (!rels) {
		report_top(d, &ss);
		ds_watch_dir(d, d->sfd, "");
		ds_walk(d, openat(d->sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
			d->dfd < 0 ? -1 : openat(d->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "", 1);
	}
	for (size_t i = 0; rels && i < nrels && !ds_stopped(d); i++) {
		int sfd = ds_open_dir_at(d->sfd, rels[i], 0);
		int dfd = sfd < 0 ? -1 : ds_open_dst_dir(d, rels[i]);
		if (sfd >= 0 && dfd >= 0) {
			ds_walk(d, sfd, dfd, rels[i], deep && deep[i]);
			continue;
		}
		if (sfd >= 0)
			box_close(sfd);
		if (dfd >= 0)
			box_close(dfd);
	}
	long long before = d->changes;
	ds_sync_hardlinks(d);
	d->link_changes = d->changes - before;
	ds_check_signal(d);
	if (!ds_stopped(d))
		ds_run_deletions(d, d->watch ? box_now_ns() - d->delete_delay : t0);
	for (size_t i = 0; i < d->ndels; i++)
		free(d->dels[i].rel);
	d->ndels = 0;
	ds_run_fixes(d);
	if (!rels)
		d->dst_total = d->dst_entries;
	if (d->maxdel_hit)
		box_warn("deletions stopped at the --max-delete limit of %lld", d->max_delete);
	if (!d->dry && d->fsync_mode == FSYNC_BATCH && d->dfd >= 0 && syncfs(d->dfd) < 0)
		ds_dst_error(d, "sync the filesystem of", ".");
	if (d->verbose) {
		int64_t us = (box_now_ns() - t0) / 1000;
		box_buf_printf(&d->out, "%s%lld files, %lld directories, %lld other; %lld transferred "
			"(%lld bytes), %lld deleted in %lld.%06lld s\n", d->dry ? "(dry run) " : "",
			d->nfiles, d->ndirs, d->nother, d->nxfer, d->bytes, d->ndeleted,
			(long long)(us / 1000000), (long long)(us % 1000000));
	}
	ds_out_flush(d);
	free_links(d);
	close_targets(d);
	if (!d->watch)
		box_watch_close(&d->w);
	return run_status(d);
}

/* ---- watch mode -------------------------------------------------------------- */

/* Called for every directory the walk enters, while the watch has inotify. */
void ds_watch_dir(struct ds *d, int fd, const char *rel)
{
	if (d->w.fd < 0)
		return;
	char *path = box_xpath_join(d->src, rel);
	if (box_watch_add(&d->w, fd, path, rel, BOX_WATCH_CONTENT | BOX_WATCH_DIR) < 0) {
		if (d->watch)
			box_warn_errno("unable to watch %s/%s, polling instead", d->src, ds_esc(rel));
		d->watch_failed = 1;
	}
	free(path);
}

static void mark_dirty(struct pending *p, const char *rel, int deep)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->dirty[i], rel)) {
			p->deep[i] |= (unsigned char)deep;
			return;
		}
	size_t cap = p->cap;
	*BOX_PUSH(p->dirty, p->n, p->cap) = box_xstrdup(rel);
	p->deep = box_grow(p->deep, &cap, p->n, 1);
	p->deep[p->n - 1] = (unsigned char)deep;
}

static void clear_pending(struct pending *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->dirty[i]);
	p->n = 0;
	p->rescan = p->root_gone = 0;
}

/* What the watch saw, for the next sync. rel: a directory below SRC. */
static void on_watch(void *ctx, int event, const char *rel, const char *child)
{
	struct pending *p = ctx;

	p->events = 1;
	if (event == BOX_WATCH_REMOVED)
		p->removed_at = box_now_ns();
	if (event == BOX_WATCH_RESCAN) {
		p->rescan = 1;
	} else if (!rel) {
		;
	} else if (!*rel && (event == BOX_WATCH_GONE || event == BOX_WATCH_MOVED)) {
		p->root_gone = 1;
	} else if (event == BOX_WATCH_MOVED) {
		p->rescan = 1;	/* paths below it changed */
	} else if (event == BOX_WATCH_GONE) {
		mark_dirty(p, rel, 1);	/* it may come back with other content */
		p->removed_at = box_now_ns();
	} else if (event == BOX_WATCH_NEWDIR && child) {
		char *sub = box_xpath_join(rel, child);
		mark_dirty(p, sub, 1);
		free(sub);
	} else {
		mark_dirty(p, rel, 0);
	}
}

static void on_mounts(void *ctx, int fd, short revents)
{
	struct pending *p = ctx;

	(void)fd;
	(void)revents;
	p->mounts = 1;
}

static void on_signal(void *ctx, int sig)
{
	struct ds *d = ctx;

	(void)sig;
	d->interrupted = 1;
}

/* A dirty directory may be gone by now: sync its nearest existing
 * ancestor instead (all of it: what is below changed too). */
static void resolve_dirty(struct ds *d, struct pending *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct stat st;
		while (*p->dirty[i] && (fstatat(d->sfd, p->dirty[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))) {
			char *up = ds_dir_name(p->dirty[i]);
			free(p->dirty[i]);
			p->dirty[i] = up;
			p->deep[i] = 0;
		}
	}
}

/* A detached bind mount sends no inotify event: is SRC still the
 * directory that is watched? */
static int source_replaced(const struct ds *d)
{
	struct stat st;
	return stat(d->src, &st) < 0 || st.st_dev != d->root_dev || st.st_ino != d->root_ino;
}

struct below {
	const char *src;
	uint64_t h;
};

static int mount_below(void *ctx, const struct box_mount *m)
{
	struct below *q = ctx;
	size_t n = strlen(q->src);
	if (strncmp(m->dir, q->src, n) || m->dir[n] != '/')
		return 0;
	for (const char *c = m->dir; *c; c++)
		q->h = (q->h ^ (unsigned char)*c) * 1099511628211ULL;
	q->h = (q->h ^ m->id) * 1099511628211ULL;
	return 0;
}

/* The mounts below SRC, as one number: when it changes, a filesystem
 * inside SRC was mounted, unmounted or replaced. */
static uint64_t mounts_below(const char *src_real)
{
	struct below q = { src_real, 14695981039346656037ULL };
	box_mountinfo(mount_below, &q);
	return q.h;
}

/* Between syncs no fd may pin SRC: it must stay unmountable. */
static void release_source(struct ds *d)
{
	if (d->sfd >= 0)
		box_close(d->sfd);
	d->sfd = -1;
}

static int64_t poll_interval(const struct ds *d)
{
	return d->poll > 0 ? d->poll : BOX_NSEC;
}

/* After a refusal: wake up when an entry appears in SRC's parent or the
 * mount table changes (the source may be back), or poll. Returns 1 when
 * SRC came back before the watch was there. */
static int arm_waiting(struct ds *d, const char *parent, int use_inotify)
{
	box_watch_close(&d->w);
	box_watch_open(&d->w, poll_interval(d), !use_inotify, on_watch, &d->pending);
	box_watch_add(&d->w, -1, parent, parent, BOX_WATCH_ARRIVALS | BOX_WATCH_DIR);
	if (d->w.polling || d->refusal != REFUSE_MISSING)
		return 0;
	int fd = box_open(d->src, O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0)
		box_close(fd);
	return fd >= 0;
}

static int64_t earliest(int64_t a, int64_t b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* Waits for the next full scan (returns 0) or a signal (-1, or -2 when a
 * sync was cut short). Changes the watch reports are synced here, per
 * directory, once the --delay window after the first of them has passed;
 * deletions wait for --delete-delay without removals in SRC. */
static int wait_changes(struct ds *d, int waiting, int mfd, const char *parent,
	const char *src_real, int64_t next_rescan)
{
	struct pending *p = &d->pending;
	int64_t deadline = -1;
	int gone, r = 0;
	uint64_t mounts = mounts_below(src_real);

	if (waiting && arm_waiting(d, parent, !d->w.polling))
		return 0;
	if (d->postponed && p->n)
		deadline = p->removed_at + d->delete_delay;
	for (;;) {
		box_loop_begin(&d->loop);
		box_loop_signals(&d->loop);
		box_loop_fd(&d->loop, mfd, POLLPRI, on_mounts, p);
		box_watch_turn(&d->w, &d->loop);
		box_loop_deadline(&d->loop, waiting ? deadline : earliest(deadline, next_rescan));
		p->events = p->mounts = 0;
		int ready = box_loop_wait(&d->loop);
		if (d->interrupted) {
			r = -1;
			break;
		}
		if (box_watch_due(&d->w))
			break;	/* polling: scan everything, or re-check SRC */
		if (waiting && (p->mounts || p->events))
			break;	/* the source may be back */
		if ((p->mounts && source_replaced(d)) || p->root_gone) {
			box_warn("source %s went away; pending sync cancelled", d->src);
			break;
		}
		if (p->mounts && mounts_below(src_real) != mounts)
			break;	/* a filesystem inside SRC changed: rescan */
		if (p->events && deadline < 0)
			deadline = box_now_ns() + d->delay;
		if (ready)
			continue;
		if (p->rescan || (!waiting && next_rescan >= 0 && box_now_ns() >= next_rescan))
			break;
		if (deadline < 0 || box_now_ns() < deadline)
			continue;
		if (ds_check_source(d, &gone) < 0) {
			box_warn("pending sync cancelled");
			release_source(d);
			clear_pending(p);
			deadline = -1;
			if (!gone)
				continue;	/* still there: its watches tell when it fills */
			waiting = 1;
			if (arm_waiting(d, parent, 1))
				break;
			continue;
		}
		resolve_dirty(d, p);
		/* the round's directories, kept for deletions that must wait */
		size_t n = p->n;
		char **rels = p->dirty;
		unsigned char *deep = p->deep;
		p->dirty = NULL;
		p->deep = NULL;
		p->n = p->cap = 0;
		sync_run(d, rels, deep, n);
		release_source(d);
		deadline = -1;
		if (d->postponed)
			for (size_t i = 0; i < n; i++)
				mark_dirty(p, rels[i], deep[i]);
		for (size_t i = 0; i < n; i++)
			free(rels[i]);
		free(rels);
		free(deep);
		if (d->postponed)
			deadline = p->removed_at + d->delete_delay;
		if (d->interrupted) {
			r = -2;
			break;
		}
		if (d->multi_links)
			break;	/* a file with other names changed: they must follow */
	}
	clear_pending(p);
	return r;
}

/* -w: a full sync, then incremental ones; every refusal (SRC gone,
 * emptied, on another filesystem) waits for SRC to be back. Ends on
 * SIGINT/SIGTERM/SIGHUP: 0 when idle, 20 when a sync was cut short. */
static int watch_loop(struct ds *d)
{
	int use_inotify = d->poll < 0, r, gone;
	char *parent = ds_dir_name(d->src), *src_real = realpath(d->src, NULL);
	int mfd = box_open("/proc/self/mountinfo", O_RDONLY, 0);
	int64_t next_rescan = -1;

	if (!*parent || !strchr(d->src, '/')) {
		free(parent);
		parent = box_xstrdup(d->src[0] == '/' ? "/" : ".");
	}
	if (!src_real)
		src_real = box_xstrdup(d->src);
	do {
		box_watch_close(&d->w);
		d->watch_failed = 0;
		if (box_watch_open(&d->w, poll_interval(d), !use_inotify, on_watch, &d->pending) < 0) {
			box_warn_errno("unable to use inotify, polling instead");
			use_inotify = 0;
		}
		int waiting = ds_check_source(d, &gone) < 0;
		struct stat st;
		if (!waiting && fstat(d->sfd, &st) == 0) {
			d->root_dev = st.st_dev;
			d->root_ino = st.st_ino;
		}
		if (waiting && !gone && !d->w.polling) {
			ds_watch_dir(d, d->sfd, "");	/* emptied: wait for content */
			if (!ds_dir_is_empty(d, d->sfd)) {
				r = 0;	/* filled before the watch was there */
				continue;
			}
			waiting = 0;
		} else if (!waiting) {
			sync_run(d, NULL, NULL, 0);
			release_source(d);
			if (d->postponed)
				mark_dirty(&d->pending, "", 1);
			if (d->interrupted) {
				r = -2;
				break;
			}
			if (d->watch_failed)
				use_inotify = 0;	/* the watch polls already */
			next_rescan = d->rescan > 0 ? box_now_ns() + d->rescan : -1;
		}
		release_source(d);
		r = wait_changes(d, waiting, mfd, parent, src_real, next_rescan);
	} while (r == 0);
	free(parent);
	free(src_real);
	if (mfd >= 0)
		box_close(mfd);
	box_watch_close(&d->w);
	free(d->pending.dirty);
	free(d->pending.deep);
	return r == -2 ? EXIT_SIGNAL : 0;
}

/* ---- main -------------------------------------------------------------------- */

enum { OPT_NO_DELETE = 256, OPT_EXCLUDE, OPT_MAX_DELETE, OPT_BACKUP_DIR, OPT_FSYNC,
	OPT_DELAY, OPT_POLL, OPT_DELETE_DELAY, OPT_RESCAN, OPT_MODIFY_WINDOW };

static const struct box_opt opts[] = {
	{ "dry-run", 'n', 'n', 0 },
	{ "itemize-changes", 'i', 'i', 0 },
	{ "verbose", 'v', 'v', 0 },
	{ "checksum", 'c', 'c', 0 },
	{ "watch", 'w', 'w', 0 },
	{ "hard-links", 'H', 'H', 0 },
	{ "xattrs", 'X', 'X', 0 },
	{ "acls", 'A', 'A', 0 },
	{ "no-delete", OPT_NO_DELETE, 0, 0 },
	{ "exclude", OPT_EXCLUDE, 0, 1 },
	{ "max-delete", OPT_MAX_DELETE, 0, 1 },
	{ "backup-dir", OPT_BACKUP_DIR, 0, 1 },
	{ "modify-window", OPT_MODIFY_WINDOW, 0, 1 },
	{ "fsync", OPT_FSYNC, 0, 1 },
	{ "delay", OPT_DELAY, 0, 1 },
	{ "delete-delay", OPT_DELETE_DELAY, 0, 1 },
	{ "rescan", OPT_RESCAN, 0, 1 },
	{ "poll", OPT_POLL, 0, 1 },
	{ 0 },
};

static const char *const fsync_modes[] = {
	[FSYNC_NONE] = "none", [FSYNC_BATCH] = "batch", [FSYNC_FILE] = "file",
};

static enum fsync_mode parse_fsync(const char *s)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(fsync_modes); i++)
		if (!strcmp(s, fsync_modes[i]))
			return (enum fsync_mode)i;
	box_usage("invalid --fsync '%s': expected none, batch or file", s);
}

/* N (rsync's absolute limit) or PCT% (the mass-deletion guard). */
static void parse_max_delete(struct ds *d, const char *s)
{
	size_t n = strlen(s);
	if (n > 1 && s[n - 1] == '%') {
		char num[16];
		if (n - 1 >= sizeof(num))
			box_usage("invalid --max-delete '%s': expected N or PCT%%", s);
		memcpy(num, s, n - 1);
		num[n - 1] = 0;
		d->max_delete_pct = (int)box_xparse_ll("--max-delete", num, 0, 100);
		d->max_delete = -1;
	} else {
		d->max_delete = box_xparse_ll("--max-delete", s, 0, LLONG_MAX);
	}
}

/* Options and operands into d; dies with a usage error. */
static void parse_args(struct ds *d, int argc, char **argv)
{
	struct box_getopt g;
	int c, watch_only = 0;

	box_getopt_init(&g, argc, argv);
	while ((c = box_getopt(&g, opts)) != -1) {
		switch (c) {
		case 'n': d->dry = 1; break;
		case 'i': d->itemize = 1; break;
		case 'v': d->verbose = 1; break;
		case 'c': d->checksum = 1; break;
		case 'w': d->watch = 1; break;
		case 'H': d->hard_links = 1; break;
		case 'X': d->xattrs |= XA_XATTRS; break;
		case 'A': d->xattrs |= XA_ACL; break;
		case OPT_NO_DELETE: d->no_delete = 1; break;
		case OPT_EXCLUDE:
			if (dirsync_pattern_parse(g.arg, BOX_PUSH(d->pats, d->npats, d->cpats)) < 0)
				box_usage("invalid exclude pattern '%s'", g.arg);
			break;
		case OPT_MAX_DELETE: parse_max_delete(d, g.arg); break;
		case OPT_BACKUP_DIR:
			if (!*g.arg)
				box_usage("empty --backup-dir");
			d->backup_arg = g.arg;
			break;
		case OPT_MODIFY_WINDOW:
			d->mwin = box_xparse_ll("--modify-window", g.arg, 0, 1000000000) * BOX_NSEC;
			break;
		case OPT_FSYNC: d->fsync_mode = parse_fsync(g.arg); break;
		case OPT_DELAY:
			d->delay = box_xparse_duration("--delay", g.arg);
			watch_only = 1;
			break;
		case OPT_DELETE_DELAY:
			d->delete_delay = box_xparse_duration("--delete-delay", g.arg);
			watch_only = 1;
			break;
		case OPT_RESCAN:
			d->rescan = box_xparse_duration("--rescan", g.arg);
			watch_only = 1;
			break;
		case OPT_POLL:
			d->poll = box_xparse_duration("--poll", g.arg);
			if (d->poll == 0)
				box_usage("invalid --poll '%s': must be more than 0", g.arg);
			break;
		}
	}
	if (argc - g.ind < 2)
		box_usage("need SRC and DST");
	if (argc - g.ind > 2)
		box_usage("too many arguments");
	if (!d->watch && (d->poll >= 0 || watch_only))
		box_usage("--delay, --delete-delay, --rescan and --poll need -w");
	if (d->watch && d->dry)
		box_usage("-n and -w cannot be combined");
	d->src = argv[g.ind];
	d->dst = argv[g.ind + 1];
	if (!*d->src || !*d->dst)
		box_usage("empty SRC or DST");
}

static int dirsync_main(int argc, char **argv)
{
	struct ds d = { .max_delete = -1, .max_delete_pct = 50, .delay = BOX_NSEC, .poll = -1,
		.delete_delay = 2 * BOX_NSEC, .rescan = 3600 * BOX_NSEC, .mwin = -1,
		.sfd = -1, .dfd = -1, .bfd = -1, .clone_ok = 1, .cfr_ok = 1, .w.fd = -1 };
	sigset_t set;
	int status, gone;

	parse_args(&d, argc, argv);
	d.root = geteuid() == 0;
	d.egid = getegid();
	d.pid = getpid();
	if (d.xattrs)
		d.xattrs = ds_xattrs_kinds(d.xattrs & XA_XATTRS, d.xattrs & XA_ACL, d.root);
	/* an unnamed file is linked in through /proc, or by root without it */
	d.tmpfile_ok = access("/proc/self/fd", X_OK) == 0;
	/* every mode is given explicitly: new files get SRC's bits exactly */
	umask(0);

	ds_check_paths(&d);
	/* DST and --backup-dir are checked before anything else happens */
	open_targets(&d);

	box_sigset(&set, SIGINT, SIGTERM, SIGHUP, 0);
	box_loop_open_signals(&d.loop, &set, on_signal, &d);
	d.sigfd = d.loop.sigfd;

	if (d.watch) {
		close_targets(&d);
		status = watch_loop(&d);
	} else if (ds_check_source(&d, &gone) < 0) {
		status = EXIT_REFUSED;
	} else {
		status = sync_run(&d, NULL, NULL, 0);
	}
	box_loop_free(&d.loop);
	box_buf_free(&d.out);
	return status;
}

const struct applet applet_dirsync = {
	"dirsync", dirsync_main, usage, help, EXIT_USAGE, EXIT_FILEIO,
};
