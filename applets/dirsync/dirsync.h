/* dirsync's state and the mechanisms its files share: the walk (walk.c),
 * the copy engine (copy.c), deletions and backups (delete.c), the itemizer
 * (itemize.c), the safety layer (safety.c); dirsync.c runs them. */
#ifndef DIRSYNC_H
#define DIRSYNC_H

#include "../../libbox/box.h"
#include "exclude.h"
#include "xattr.h"

#include <sys/stat.h>

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

/* The names of temp files where O_TMPFILE cannot be had. */
#define TEMP_TAG ".dirsync."

enum fsync_mode { FSYNC_NONE, FSYNC_BATCH, FSYNC_FILE };

/* Why a run was refused; said once per reason in watch mode. */
enum refusal { REFUSE_NONE, REFUSE_MISSING, REFUSE_OTHER_FS, REFUSE_EMPTIED, REFUSE_MASS,
	REFUSE_INSIDE };

/* What a change does, shown as rsync's itemize code "YXcstpoguax":
 * Y the update, X the kind of entry, then one column per attribute. */
enum ds_update { UPDATE_NONE, UPDATE_SEND, UPDATE_CREATE, UPDATE_DELETE };
enum ds_kind { KIND_FILE, KIND_DIR, KIND_LINK, KIND_SPECIAL, KIND_DEVICE };
/* Bit i is column i of the code. */
enum {
	CHANGED_CONTENT = 1 << 2,	/* c: other bytes (-c), another link target */
	CHANGED_SIZE = 1 << 3,
	CHANGED_TIME = 1 << 4,
	CHANGED_PERMS = 1 << 5,
	CHANGED_OWNER = 1 << 6,
	CHANGED_GROUP = 1 << 7,
	CHANGED_ACL = 1 << 9,
	CHANGED_XATTR = 1 << 10,
	CHANGED_NEW = 1 << 11,		/* a new entry: every column '+' */
};

/* A directory of DST whose attributes are set after the deletions (it
 * has some, or it is the top): found again by path, checked by device
 * and inode. */
struct dir_fix {
	char *rel;
	struct stat ss;		/* the source directory's attributes */
	dev_t dev;		/* DST's directory */
	ino_t ino;
	int set;		/* its attributes are due */
	int due;		/* ...because the walk changed it, not only
				 * because -H names may be linked in */
	int dels;		/* it has deletions: kept as it is when they wait */
	struct ds_xattrs xa;	/* -X/-A: the source directory's */
};

/* An entry of DST that SRC does not have; dir indexes d->fixes. */
struct deletion {
	char *rel;
	size_t dir;
};

/* Sorted names of a directory (without . and ..): in one pool when
 * ds_list_dir read them, else each allocated. */
struct names {
	char **v;
	size_t n, vcap;
	char *pool;
	size_t pcap;
};

/* One entry of a directory as a window of the walk read it (prefetch.c). */
struct ds_read {
	int have;		/* lstat found it; else err */
	int err;
	int want_xa;		/* set by the caller: -X/-A attributes too */
	int xa_ok;		/* ...and they were read */
	struct stat st;
	struct ds_xattrs xa;
};

/* A file of SRC with more than one link (-H): its names met so far. */
struct hardlink {
	dev_t dev;
	ino_t ino;
	char **rels;
	size_t n, cap;
	size_t order;        /* the group's place in walk order */
};

/* What identifies SRC's filesystem (safety.c). */
struct src_id {
	unsigned long long fsid, type, root_ino, dev;
	long long btime_s;
	unsigned btime_ns;
	int has_btime;
	char source[200];
};

/* Watch mode: what the watch reported since the last sync. */
struct pending {
	char **dirty;		/* directories below SRC whose entries changed */
	unsigned char *deep;	/* ... and whether to walk all of it */
	size_t n, cap;
	int events;		/* anything at all was reported this turn */
	int mounts;		/* the mount table changed this turn */
	int rescan;		/* a full rescan is due */
	int root_gone;
	int64_t removed_at;	/* the last removal seen in SRC (CLOCK_MONOTONIC) */
};

struct ds {
	/* options */
	int dry, itemize, verbose, checksum, no_delete, watch, hard_links;
	unsigned xattrs;	/* XA_* of xattr.h: -X and -A */
	int xattr_warned;	/* DST's filesystem lacks a kind: said once */
	enum fsync_mode fsync_mode;
	long long max_delete;	/* -1: no absolute limit */
	int max_delete_pct;	/* the mass-deletion guard, 100: off */
	int64_t delay, poll, delete_delay, rescan;
	int64_t mwin;		/* --modify-window in ns; -1: the DST's granularity */
	const char *backup_arg;
	struct dirsync_pattern *pats;
	size_t npats, cpats;
	/* paths and fds */
	const char *src, *dst;
	char *dst_real, *backup_real, *state_path;
	int sfd, dfd, bfd, sigfd;
	int64_t sig_checked;  /* when sigfd was last read */
	dev_t dst_dev, bk_dev;	/* DST's and the backup directory's top */
	ino_t dst_ino, bk_ino;
	int root;		/* running as root: owners are copied */
	int dst_created;	/* DST did not exist before this run */
	enum refusal refusal;	/* the reason of the last refusal */
	dev_t root_dev;		/* watch mode: the SRC directory being watched */
	ino_t root_ino;
	int clone_ok, cfr_ok, tmpfile_ok;
	int npats_backup;	/* the backup directory's exclude is in pats */
	gid_t new_gid;		/* the group a new file gets in the current directory */
	gid_t egid;
	int64_t gran;		/* DST's timestamp granularity in ns, 0 unknown */
	/* results of one run */
	int read_errs, vanished, fatal, interrupted, maxdel_hit, refused, postponed;
	int partial;		/* entries not completed that do not hold back deletions */
	long long nfiles, ndirs, nother, nxfer, ndeleted, bytes, dst_entries, dst_total;
	long long changes;	/* reported changes: a directory needs its times fixed */
	long long link_changes;	/* of them, made by ds_sync_hardlinks */
	long long multi_links;	/* transferred files with more than one link */
	int deferred;		/* -H: the current directory has names left for later */
	struct deletion *dels;
	size_t ndels, cdels;
	struct dir_fix *fixes;
	size_t nfixes, cfixes;
	struct hardlink *links;
	size_t nlinks, clinks;
	struct parents {     /* -H: directories of SRC and DST open for links */
		char *dir;
		int sp, dp, refs;
	} parents[4];
	char *path;		/* the walk's current path below the top */
	size_t plen, pcap;
	unsigned tmp_seq;
	pid_t pid;
	struct box_buf out;
	/* watch mode */
	struct box_loop loop;	/* its signal fd is sigfd */
	struct box_watch w;	/* names are directories below SRC */
	int watch_failed;	/* a directory could not be watched: polling */
	struct pending pending;
	/* the attributes of the entry being synced, as its window read
	 * them (NULL: not read), and its name there (ds_xattr_changes) */
	const struct ds_xattrs *pre_src, *pre_dst;
	const char *pre_name;
	struct names lists[2];	/* the walk's listings of SRC and DST (walk.c) */
	struct ds_read *reads;	/* ...and a window of their entries */
};

/* dirsync.c: errors and interruption, counted for the exit status */
void ds_check_signal(struct ds *d);
int ds_stopped(const struct ds *d);
void ds_dst_error(struct ds *d, const char *what, const char *rel);
void ds_src_error(struct ds *d, const char *what, const char *rel);
void ds_watch_dir(struct ds *d, int fd, const char *rel);

/* walk.c: the tree walk, directory by directory, without recursion */
int ds_excluded(const struct ds *d, const char *rel, int isdir);
int ds_list_dir(int fd, struct names *ns);
void ds_free_names(struct names *ns);
int ds_open_dir_at(int top, const char *rel, int create);
int ds_open_dst_dir(struct ds *d, const char *rel);
char *ds_dir_name(const char *rel);
size_t ds_path_push(struct ds *d, const char *name);
void ds_path_pop(struct ds *d, size_t len);
int ds_reopen_parent(int childfd, int *fd, dev_t dev, ino_t ino);
int ds_make_writable(struct ds *d, int fd, const struct stat *st);
void ds_walk(struct ds *d, int sfd, int dfd, const char *rel, int deep);
size_t ds_add_fix(struct ds *d, const char *rel, const struct stat *ss, int sfd, int dfd);
int ds_fix_dir(struct ds *d, int sfd, const struct ds_xattrs *xa, int dfd,
	const struct stat *ss, const char *rel);
void ds_run_fixes(struct ds *d);

/* copy.c: one non-directory entry into DST, through an unnamed or temp file */
void ds_temp_name(struct ds *d, const char *name, char *buf, size_t size);
int ds_set_attrs(struct ds *d, int sfd, const char *sname, int dfd, const char *name,
	const struct stat *ss, int islink);
unsigned ds_xattr_changes(struct ds *d, int sfd, const char *sname, int dfd, const char *dname,
	unsigned changed);
int ds_xattr_sync(struct ds *d, const struct ds_xattrs *want, int sfd, const char *sname,
	int dfd, const char *dname, const char *rel);
int ds_times_differ(const struct ds *d, const struct timespec *a, const struct timespec *b);
void ds_detect_granularity(struct ds *d, const struct stat *src_top);
void ds_sync_regular(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst);
void ds_sync_link(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst);
void ds_sync_hardlinks(struct ds *d);
void ds_sync_special(struct ds *d, int sfd, int dfd, const char *name, const char *rel,
	const struct stat *ss, const struct stat *dst);

/* prefetch.c: reading the entries of a window of a directory into r
 * (the same array from window to window: its attribute lists are
 * reused). read_both reads SRC's names here and DST's on a worker thread
 * at the same time. */
void ds_read_entries(int fd, char **names, size_t n, unsigned kinds, struct ds_read *r);
void ds_read_both(struct ds *d, int sfd, char **sn, size_t ns, struct ds_read *sr,
	int dfd, char **dn, size_t nd, struct ds_read *dr);

/* delete.c: deletions, after all copies and checks, and the backup directory */
int ds_backup_entry(struct ds *d, int pfd, const char *rel, int keep);
int ds_clear_way(struct ds *d, int pfd, const char *rel, const char *what);
void ds_run_deletions(struct ds *d, int64_t since);

/* itemize.c: the -i and -v lines */
unsigned ds_attr_changes(const struct ds *d, const struct stat *src, const struct stat *dst);
void ds_report(struct ds *d, enum ds_update u, enum ds_kind k, unsigned changed,
	const char *rel, const char *target);
void ds_out_flush(struct ds *d);
/* A hard link to first, its group's entry already in DST: "hf... rel => first"
 * (first "": rsync's h line without a name). */
void ds_report_hlink(struct ds *d, enum ds_kind k, unsigned changed, const char *rel,
	const char *first);
/* name with its control characters, invalid UTF-8 and literal "\#ooo"
 * escaped as \#ooo, for messages; valid for the next three calls. */
const char *ds_esc(const char *name);

/* safety.c: refusing to sync when SRC is not what it was */
int ds_dir_is_empty(struct ds *d, int fd);
int ds_check_source(struct ds *d, int *gone);
int ds_source_still(struct ds *d);
void ds_refuse(struct ds *d, enum refusal why, const char *fmt, ...) BOX_PRINTF(3, 4);
void ds_check_paths(struct ds *d);
int ds_open_dst(struct ds *d, int create);
int ds_open_backup(struct ds *d);
int ds_inside_dst(const struct ds *d, const struct stat *st);

#endif
