/* diskreport's parts: the mount table (mounts.c), the hang-proof prober
 * (probe.c), df's numbers and the output formats (table.c), and the
 * applet itself (diskreport.c). */
#ifndef DISKREPORT_H
#define DISKREPORT_H

#include "../../libbox/box.h"

/* Nagios exit codes, in the order of status_name. */
enum { ST_OK, ST_WARN, ST_CRIT, ST_UNKNOWN };
extern const char *const status_name[];

struct opts {
	int all, local, print_type, inodes, json, csv;
	int base;              /* 1024 (-h), 1000 (-H) or 0 (blocks: -k, -m, -B) */
	uint64_t block;        /* the block size when base is 0 */
	char block_unit[4];    /* -B M: the unit printed after each number */
	int posix, total;      /* -P, --total */
	int nagios;            /* --nagios */
	int output;            /* --output */
	const char *output_list;   /* its FIELDS, NULL for all */
	struct rule *rules;    /* --warn, --crit, --iwarn, --icrit */
	size_t nrules;
	int64_t timeout, smtp_timeout, smtp_retry_delay;
	int smtp_retries;
	char **types, **xtypes;
	size_t ntypes, nxtypes;
	const char **mail_to;
	size_t nmail_to;
	const char *mail_from, *smtp, *subject;
	int smtp_tls;          /* BOX_SMTP_... */
	const char *smtp_tls_helper, *smtp_auth_file;
	char *smtp_user, *smtp_pass;   /* read from smtp_auth_file at start */
	int mail_if;           /* minimum status to mail, -1 always */
};
extern struct opts o;

/* A threshold, for every row or for a mount point (or PATH argument) or
 * a filesystem type: used (or free) space at or past v, in percent or in
 * bytes; for inodes in percent. */
enum { L_WARN, L_CRIT, L_IWARN, L_ICRIT };
struct rule {
	const char *path, *type;
	int kind, free, pct;
	uint64_t v;
};

/* ---- the mount table (mounts.c) ---- */

struct mount {
	char *dev, *dir, *root, *type;
	dev_t me_dev;          /* from mountinfo; (dev_t)-1 when unknown */
	unsigned dummy : 1, remote : 1;
	int probe;             /* index into the probe array, or -1 */
};

/* /proc/self/mountinfo, else the getmntent(3) tables; dies when none. */
void read_mounts(struct mount **list, size_t *n);
/* Whether -t, -x, -l and -a let the mount through; listed: named as PATH. */
int wanted(const struct mount *m, int listed);

/* ---- probing, bounded by --timeout (probe.c) ---- */

struct fsu {
	uint64_t bsize, blocks, bfree, bavail, files, ffree;
	int bavail_neg;
};

/* One job for the prober child: stat, realpath and statvfs of paths. */
struct probe {
	const char *stat_path, *vfs_path;
	int want_real;
	/* results */
	int answered, hung;
	int stat_err, vfs_err, real_err;
	dev_t st_dev, st_rdev;
	mode_t st_mode;
	struct fsu fsu;
	char *real;
};

/* Answers every probe, marking those that took longer than timeout hung. */
void probe_all(struct probe *items, size_t n, int64_t timeout);
/* A zeroed probe appended to the array. */
struct probe *new_probe(struct probe **items, size_t *n, size_t *cap);

/* ---- choosing mounts as df does (mounts.c) ---- */

struct devent {
	dev_t dev;
	size_t mount;          /* index of the winning mount */
};
struct devent *dev_find(struct devent *d, size_t n, dev_t dev);
size_t filter_mounts(struct mount *ms, size_t n, struct probe *pr, size_t *kept,
	struct devent *devs, size_t *ndevs);
int has_uuid_suffix(const char *s);
const struct mount *point_mount(const struct mount *ms, size_t n, const char *real);
const struct mount *dev_mount(const struct mount *ms, size_t n, dev_t dev);
/* canon: each mount's source resolved (realpath), or NULL */
const struct mount *device_mount(const struct mount *ms, size_t n, char *const *canon,
	const char *real);
/* Each mount's source that is a path, resolved by the prober (bounded by
 * the timeout): an array of n, NULL where unresolved. */
char **resolve_sources(const struct mount *ms, size_t n, int (*which)(const char *));

/* ---- rows, df's numbers and the output (table.c) ---- */

struct row {
	const char *dev, *type, *dir;
	const char *file;      /* the PATH argument, or NULL */
	int hung, unknown_values, is_total;
	struct fsu fsu;
	int pct, ipct;
	int level;
};
extern struct row *rows;
extern size_t nrows;
extern int worst;          /* the report's status */

void raise_status(int st);
/* df's percentage of v in t, rounded up (-1 for a t of 0), and its
 * rounding up of a percentage computed in doubles, without libm. */
double df_percent(uint64_t v, uint64_t t);
double df_round_up(double pct);
void add_row(const char *dev, const char *type, const char *dir, const struct probe *p,
	int unknown_values);
/* --output=LIST's fields as indexes (all when list is NULL); a bad or
 * repeated name is a usage error. Returns how many. */
int output_fields(const char *list, int *cols, int max);
/* --total: df's "total" row, the sum of the rows with numbers. */
void add_total_row(void);
/* The table (a usage bar on a terminal, colored unless NO_COLOR), JSON or CSV. */
void format_report(struct box_buf *out, int tty);
/* How many mounts or PATHs failed (UNKNOWN): not answering, stat or
 * statvfs errors. */
extern int failures;
/* The rule of a kind (L_...) that applies to a row, or NULL. */
const struct rule *rule_for(const struct row *r, int kind);
/* --nagios: check_disk's status line and perfdata; returns the state. */
int format_nagios(struct box_buf *out);

#endif
