/* diskreport: df's table of mounted filesystems with the same numbers,
 * thresholds that turn it into a monitoring check (Nagios exit codes),
 * JSON/CSV output, and mail over SMTP without a local sendmail.
 *
 * Mounts come from /proc/self/mountinfo (getmntent where it is missing)
 * and are chosen as GNU df chooses them. Every stat/statvfs runs in a
 * forked child that answers through shared memory, so a mount that stops
 * answering (dead NFS server, stopped FUSE daemon) costs at most
 * --timeout and is reported instead of hanging the report. */
#include "../libbox/box.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"diskreport [-aliTHhk] [-t TYPE] [-x TYPE] [--warn PCT] [--crit PCT] "
	"[--iwarn PCT] [--icrit PCT] [--timeout DUR] [--json|--csv] "
	"[--mail-to ADDR,... [MAIL OPTIONS]] [PATH...]";

static const char help[] =
	"Report filesystem usage like df -h; check thresholds; mail the report.\n"
	"\n"
	"  PATH...              report the filesystems holding these paths\n"
	"  -a, --all            include pseudo, duplicate and inaccessible filesystems\n"
	"  -l, --local          local filesystems only\n"
	"  -t, --type TYPE      only filesystems of TYPE (repeatable)\n"
	"  -x, --exclude-type TYPE  not filesystems of TYPE (repeatable)\n"
	"  -T, --print-type     show the filesystem type\n"
	"  -i, --inodes         inode usage instead of block usage\n"
	"  -h, --human-readable sizes in powers of 1024 (default)\n"
	"  -H, --si             sizes in powers of 1000\n"
	"  -k                   sizes in 1024-byte blocks\n"
	"  --warn PCT, --crit PCT    mark rows whose Use% reaches PCT\n"
	"  --iwarn PCT, --icrit PCT  the same for IUse%\n"
	"  --timeout DUR        give up on a mount after DUR (default 5s)\n"
	"  --json, --csv        machine-readable output, sizes in bytes\n"
	"  --mail-to ADDR,...   mail the report to these addresses over SMTP\n"
	"  --mail-from ADDR     envelope and From: address (default LOGNAME@HOST)\n"
	"  --smtp HOST[:PORT]   SMTP server (default 127.0.0.1:25)\n"
	"  --smtp-timeout DUR   limit for connecting and for each reply (default 30s)\n"
	"  --subject TEXT       Subject: (default \"Disk usage on HOST: STATUS\")\n"
	"  --mail-if always|warn|crit  when to mail (default always)\n"
	"\n"
	"Exit status: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN (usage error, a mount that\n"
	"did not answer or failed); 4 the mail could not be delivered.\n";

enum { ST_OK, ST_WARN, ST_CRIT, ST_UNKNOWN };
static const char *const status_name[] = { "OK", "WARN", "CRIT", "UNKNOWN" };
#define MAIL_FAILED 4

struct mount {
	char *dev, *dir, *root, *type;
	dev_t me_dev;          /* from mountinfo; (dev_t)-1 when unknown */
	unsigned dummy : 1, remote : 1;
	int probe;             /* index into the probe array, or -1 */
};

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
	dev_t st_dev;
	mode_t st_mode;
	struct fsu fsu;
	char *real;
};

struct row {
	const char *dev, *type, *dir;
	int hung, unknown_values;
	struct fsu fsu;
	int pct, ipct;
	int level;
};

struct opts {
	int all, local, print_type, inodes, json, csv;
	int base;              /* 1024 (-h), 1000 (-H) or 0 (-k) */
	int warn, crit, iwarn, icrit;   /* -1 when not given */
	int64_t timeout, smtp_timeout;
	char **types, **xtypes;
	int ntypes, nxtypes;
	char **mail_to;
	int nmail_to;
	const char *mail_from, *smtp, *subject;
	int mail_if;           /* minimum status to mail, -1 always */
};

static struct opts o;

/* ---- the mount list ------------------------------------------------------ */

/* As gnulib's mountlist.c decides it, so the same mounts are hidden. */
static int is_dummy(const char *type)
{
	static const char *const dummies[] = {
		"autofs", "proc", "subfs", "debugfs", "devpts", "fusectl",
		"fuse.portal", "mqueue", "rpc_pipefs", "sysfs", "devfs", "kernfs",
		"ignore", "none",
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(dummies); i++)
		if (!strcmp(type, dummies[i]))
			return 1;
	return 0;
}

static int is_remote(const char *dev, const char *type)
{
	static const char *const remotes[] = {
		"acfs", "afs", "coda", "auristorfs", "fhgfs", "gpfs", "ibrix",
		"ocfs2", "vxfs",
	};
	if (strchr(dev, ':') || !strcmp(dev, "-hosts"))
		return 1;
	if (dev[0] == '/' && dev[1] == '/' && (!strcmp(type, "smbfs") ||
	    !strcmp(type, "smb3") || !strcmp(type, "cifs")))
		return 1;
	for (size_t i = 0; i < BOX_ARRAY_LEN(remotes); i++)
		if (!strcmp(type, remotes[i]))
			return 1;
	return 0;
}

/* mountinfo escapes blanks, newlines and backslashes as \ooo. */
static void unescape(char *s)
{
	char *d = s;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

static char *next_field(char **p)
{
	char *s = *p, *e;
	while (*s == ' ')
		s++;
	if (!*s)
		return NULL;
	e = strchr(s, ' ');
	if (e)
		*e++ = 0;
	else
		e = s + strlen(s);
	*p = e;
	return s;
}

/* Decimal digits up to `stop`; -1 when there are none or others. */
static long long digits_until(const char **s, char stop)
{
	long long v = 0;
	const char *p = *s;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0') > 0xffffffffLL ? 0xffffffffLL : v * 10 + (*p - '0');
	if (*p != stop)
		return -1;
	*s = p + 1;
	return v;
}

static void add_mount(struct mount **list, size_t *n, char *dev, char *dir, char *root,
		      char *type, dev_t me_dev)
{
	*list = box_xrealloc(*list, (*n + 1) * sizeof(**list));
	struct mount *m = &(*list)[(*n)++];
	m->dev = box_xstrdup(dev);
	m->dir = box_xstrdup(dir);
	m->root = root ? box_xstrdup(root) : NULL;
	m->type = box_xstrdup(type);
	m->me_dev = me_dev;
	m->dummy = is_dummy(type);
	m->remote = is_remote(dev, type);
	m->probe = -1;
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw" */
static int parse_mountinfo_line(char *line, struct mount **list, size_t *n)
{
	char *p = line, *f[5];
	const char *d;
	long long maj, min;

	for (int i = 0; i < 5; i++)
		if (!(f[i] = next_field(&p)))
			return -1;
	d = f[2];
	if ((maj = digits_until(&d, ':')) < 0 || (min = digits_until(&d, 0)) < 0)
		return -1;
	/* optional fields, then a lone "-" */
	for (char *opt; (opt = next_field(&p)) && strcmp(opt, "-");)
		;
	char *type = next_field(&p), *src = next_field(&p);
	if (!type || !src)
		return -1;
	unescape(f[3]);
	unescape(f[4]);
	unescape(type);
	unescape(src);
	add_mount(list, n, src, f[4], f[3], type, makedev((unsigned)maj, (unsigned)min));
	return 0;
}

/* -1 when there is no mountinfo, or nothing in it to use. */
static int read_mountinfo(struct mount **list, size_t *n)
{
	struct box_buf b = { 0 };
	if (box_read_file("/proc/self/mountinfo", &b) < 0 || !b.len) {
		box_buf_free(&b);
		return -1;
	}
	for (char *line = b.p, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		parse_mountinfo_line(line, list, n);
	}
	box_buf_free(&b);
	return *n ? 0 : -1;
}

/* The getmntent(3) format, "fsname dir type options freq passno", read
 * here rather than with getmntent so no stdio is linked for it. */
static void read_mtab(struct mount **list, size_t *n)
{
	static const char *const tables[] = { "/proc/mounts", "/etc/mtab" };
	struct box_buf b = { 0 };
	int ok = -1;

	for (size_t i = 0; i < BOX_ARRAY_LEN(tables) && ok < 0; i++)
		ok = box_read_file(tables[i], &b);
	if (ok < 0)
		box_fatal_errno("unable to read the mount table");
	for (char *line = b.p, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		char *p = line, *dev = next_field(&p), *dir = next_field(&p), *type = next_field(&p);
		if (!type || dev[0] == '#')
			continue;
		unescape(dev);
		unescape(dir);
		unescape(type);
		add_mount(list, n, dev, dir, NULL, type, (dev_t)-1);
	}
	box_buf_free(&b);
}

/* ---- probing in a child, bounded by --timeout ------------------------------ */

/* The child writes each answer into memory shared with the parent and
 * publishes its progress; the parent sleeps until the child exits or the
 * item in progress has run for the timeout: one wakeup in the usual case. */
struct probe_answer {
	int32_t stat_err, vfs_err, real_err;
	uint64_t st_dev;
	uint32_t st_mode;
	struct fsu fsu;
};

/* Followed by the answers, then PATH_MAX bytes per item for realpath
 * when some item wants one. */
struct probe_shared {
	uint32_t next;            /* items before it are answered */
	int64_t started_ns;       /* when the item `next` was started, or later */
	struct probe_answer ans[];
};

static char *probe_real(struct probe_shared *sh, size_t n, size_t i)
{
	return (char *)&sh->ans[n] + i * PATH_MAX;
}

static void probe_one(const struct probe *p, struct probe_answer *a, char *real_buf)
{
	struct stat st;
	struct statvfs vfs;

	memset(a, 0, sizeof(*a));
	if (p->stat_path) {
		if (stat(p->stat_path, &st) == 0) {
			a->st_dev = st.st_dev;
			a->st_mode = st.st_mode;
		} else {
			a->stat_err = errno;
		}
	}
	if (p->want_real) {
		char *real = realpath(p->stat_path, NULL);
		if (!real)
			a->real_err = errno;
		else if (strlen(real) >= PATH_MAX)
			a->real_err = ENAMETOOLONG;
		else
			strcpy(real_buf, real);
		free(real);
	}
	if (p->vfs_path) {
		if (statvfs(p->vfs_path, &vfs) == 0) {
			a->fsu.bsize = vfs.f_frsize ? vfs.f_frsize : vfs.f_bsize;
			a->fsu.blocks = vfs.f_blocks;
			a->fsu.bfree = vfs.f_bfree;
			a->fsu.bavail = vfs.f_bavail;
			a->fsu.bavail_neg = (uint64_t)vfs.f_bavail >> 63;
			a->fsu.files = vfs.f_files;
			a->fsu.ffree = vfs.f_ffree;
		} else {
			a->vfs_err = errno;
		}
	}
}

static void probe_child(const struct probe *items, size_t n, struct probe_shared *sh)
{
	for (size_t i = __atomic_load_n(&sh->next, __ATOMIC_ACQUIRE); i < n; i++) {
		probe_one(&items[i], &sh->ans[i], probe_real(sh, n, i));
		/* the next item's start before the progress, so the parent
		 * never pairs new progress with an old start time */
		__atomic_store_n(&sh->started_ns, box_now_ns(), __ATOMIC_RELAXED);
		__atomic_store_n(&sh->next, (uint32_t)(i + 1), __ATOMIC_RELEASE);
	}
	_exit(0);
}

static void take_answer(struct probe *p, const struct probe_answer *a, const char *real)
{
	p->stat_err = a->stat_err;
	p->vfs_err = a->vfs_err;
	p->real_err = a->real_err;
	p->st_dev = (dev_t)a->st_dev;
	p->st_mode = a->st_mode;
	p->fsu = a->fsu;
	if (p->want_real && !a->real_err)
		p->real = box_xstrdup(real);
}

/* A child that takes longer than the timeout on one item is killed (and
 * not waited for: it may be in uninterruptible sleep); a new one carries
 * on after the stuck item. */
static void probe_all(struct probe *items, size_t n)
{
	size_t size = sizeof(struct probe_shared) + n * sizeof(struct probe_answer);
	for (size_t i = 0; i < n; i++)
		if (items[i].want_real) {
			size += n * PATH_MAX;
			break;
		}
	struct probe_shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	size_t next = 0;

	if (sh == MAP_FAILED)
		box_fatal_errno("unable to map memory");
	while (next < n) {
		int fds[2];
		__atomic_store_n(&sh->next, (uint32_t)next, __ATOMIC_RELAXED);
		__atomic_store_n(&sh->started_ns, box_now_ns(), __ATOMIC_RELAXED);
		if (pipe2(fds, O_CLOEXEC) < 0)
			box_fatal_errno("unable to create a pipe");
		pid_t pid = fork();
		if (pid < 0)
			box_fatal_errno("unable to fork");
		if (pid == 0) {
			close(fds[0]);
			probe_child(items, n, sh);
		}
		close(fds[1]);
		/* the pipe's write end closes when the child exits */
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int exited = 0, status;
		for (;;) {
			next = __atomic_load_n(&sh->next, __ATOMIC_ACQUIRE);
			int64_t deadline = __atomic_load_n(&sh->started_ns, __ATOMIC_RELAXED) + o.timeout;
			if (next >= n || exited)
				break;
			if (box_poll_until(&pfd, 1, deadline) != 0) {
				exited = 1;
				continue;   /* read the progress once more */
			}
			if (__atomic_load_n(&sh->next, __ATOMIC_ACQUIRE) == next) {
				kill(pid, SIGKILL);
				break;
			}
		}
		box_close(fds[0]);
		for (size_t i = 0; i < next; i++)
			if (!items[i].hung && !items[i].answered) {
				take_answer(&items[i], &sh->ans[i], probe_real(sh, n, i));
				items[i].answered = 1;
			}
		if (next < n)   /* stuck, or the child died without answering */
			items[next++].hung = 1;
		if (exited)
			box_waitpid(pid, &status, 0);
		else
			waitpid(pid, &status, WNOHANG);
	}
	munmap(sh, size);
}

static struct probe *new_probe(struct probe **items, size_t *n)
{
	*items = box_xrealloc(*items, (*n + 1) * sizeof(**items));
	struct probe *p = &(*items)[(*n)++];
	memset(p, 0, sizeof(*p));
	return p;
}

/* ---- numbers exactly as df prints them ----------------------------------- */

static int known(uint64_t n)
{
	return n < UINT64_MAX - 1;
}

/* gnulib's human_readable() with the options df uses: round up, and
 * with autoscale one decimal below 10 ("4.0K", "9.9G", "10G"). */
static char *human(char *end, uint64_t n, uint64_t from, uint64_t to, int base)
{
	static const char letters[] = "\0KMGTPEZYRQ";
	unsigned __int128 big = (unsigned __int128)n * from, amt = big / to;
	unsigned r10 = (unsigned)((big % to) * 10 / to);
	uint64_t rem2 = (uint64_t)((big % to) * 10 % to) * 2;
	int tenths = (int)r10, rounding = rem2 < to ? rem2 > 0 : 2 + (to < rem2);
	int exponent = 0;
	char *p = end;

	*p = 0;
	if (base && (unsigned)base <= amt) {
		do {
			unsigned r = (unsigned)(amt % (unsigned)base) * 10 + (unsigned)tenths;
			unsigned r2 = (r % (unsigned)base) * 2 + (unsigned)(rounding >> 1);
			amt /= (unsigned)base;
			tenths = (int)(r / (unsigned)base);
			rounding = r2 < (unsigned)base ? (r2 + (unsigned)rounding) != 0
				: 2 + ((unsigned)base < r2 + (unsigned)rounding);
			exponent++;
		} while ((unsigned)base <= amt && exponent < 10);
		if (amt < 10) {
			if (rounding > 0) {
				tenths++;
				rounding = 0;
				if (tenths == 10) {
					amt++;
					tenths = 0;
				}
			}
			if (amt < 10) {
				*--p = (char)('0' + tenths);
				*--p = '.';
				tenths = rounding = 0;
			}
		}
	}
	if (tenths + rounding > 0) {
		amt++;
		if (base && amt == (unsigned)base && exponent < 10) {
			exponent++;
			*--p = '0';
			*--p = '.';
			amt = 1;
		}
	}
	do
		*--p = (char)('0' + (int)(amt % 10));
	while ((amt /= 10) != 0);
	if (exponent) {
		end[0] = base == 1000 && exponent == 1 ? 'k' : letters[exponent];
		end[1] = 0;
	}
	return p;
}

struct values {
	uint64_t in_units, out_units, total, avail, used;
	int neg_avail, neg_used;
};

static void get_values(const struct fsu *f, int inodes, struct values *v)
{
	if (inodes) {
		v->in_units = v->out_units = 1;
		v->total = f->files;
		v->avail = f->ffree;
		v->neg_avail = 0;
		v->used = UINT64_MAX;
		v->neg_used = 0;
		if (known(f->files) && known(f->ffree)) {
			v->used = f->files - f->ffree;
			v->neg_used = f->files < f->ffree;
		}
		return;
	}
	v->in_units = f->bsize;
	v->out_units = o.base ? 1 : 1024;
	v->total = f->blocks;
	v->avail = f->bavail;
	v->neg_avail = f->bavail_neg && known(f->bavail);
	v->used = UINT64_MAX;
	v->neg_used = 0;
	if (known(f->blocks) && known(f->bfree)) {
		v->used = f->blocks - f->bfree;
		v->neg_used = f->blocks < f->bfree;
	}
}

/* Use% as df computes it: used / (used + available), rounded up. */
static int percent(const struct values *v)
{
	if (!known(v->used) || !known(v->avail))
		return -1;
	if (!v->neg_used && v->used <= UINT64_MAX / 100 && v->used + v->avail != 0 &&
	    (v->used + v->avail < v->used) == v->neg_avail) {
		uint64_t u100 = v->used * 100, total = v->used + v->avail;
		return (int)(u100 / total + (u100 % total != 0));
	}
	double u = v->neg_used ? -(double)-v->used : (double)v->used;
	double a = v->neg_avail ? -(double)-v->avail : (double)v->avail;
	double total = u + a, pct;
	if (!total)
		return -1;
	pct = u * 100 / total;
	long ipct = (long)pct;
	if (ipct - 1 < pct && pct <= ipct + 1)
		pct = (double)ipct + (ipct < pct);
	return (int)pct;
}

static const char *readable(char *buf, size_t size, int negative, uint64_t n,
			    const struct values *v)
{
	if (!known(n) && !negative)
		return "-";
	char *p = human(buf + size - 3, negative ? -n : n, v->in_units, v->out_units, o.base);
	if (negative)
		*--p = '-';
	return p;
}

/* ---- choosing mounts as df does ---------------------------------------- */

static int type_selected(const char *type)
{
	int sel = o.ntypes == 0;
	for (int i = 0; i < o.ntypes; i++)
		sel |= !strcmp(type, o.types[i]);
	for (int i = 0; i < o.nxtypes; i++)
		if (!strcmp(type, o.xtypes[i]))
			return 0;
	return sel;
}

static int wanted(const struct mount *m, int listed)
{
	if (m->remote && o.local)
		return 0;
	if (m->dummy && !o.all && !listed)
		return 0;
	return type_selected(m->type);
}

struct devent {
	dev_t dev;
	size_t mount;          /* index of the winning mount */
};

static struct devent *dev_find(struct devent *d, size_t n, dev_t dev)
{
	for (size_t i = n; i-- > 0;)
		if (d[i].dev == dev)
			return &d[i];
	return NULL;
}

/* df's filter_mount_list: of several mounts of one device keep the one
 * with a real device name, else the one nearest the root; with -a only
 * the device table is built (for the over-mount check). Returns the kept
 * mount indexes in order. */
static size_t filter_mounts(struct mount *ms, size_t n, struct probe *pr, size_t *kept,
			    struct devent *devs, size_t *ndevs)
{
	size_t nkept = 0;

	*ndevs = 0;
	for (size_t i = 0; i < n; i++) {
		struct mount *m = &ms[i];
		struct probe *p = m->probe >= 0 ? &pr[m->probe] : NULL;
		dev_t dev = m->me_dev;
		struct devent *seen = NULL;

		if (p && !p->hung && !p->stat_err) {
			dev = p->st_dev;
			seen = dev_find(devs, *ndevs, dev);
		}
		if (seen) {
			struct mount *sm = &ms[seen->mount];
			int nearer = strlen(sm->dir) > strlen(m->dir);
			int below = sm->root && m->root && strlen(sm->root) < strlen(m->root);
			if (m->remote && sm->remote && strcmp(sm->dev, m->dev))
				;	/* different remote exports: keep both */
			else if ((strchr(m->dev, '/') && !strchr(sm->dev, '/')) ||
				 (nearer && !below) ||
				 (strcmp(sm->dev, m->dev) && !strcmp(m->dir, sm->dir))) {
				for (size_t k = 0; k < nkept; k++)
					if (kept[k] == seen->mount)
						kept[k] = i;
				seen->mount = i;
				continue;
			} else {
				continue;
			}
		}
		devs[*ndevs].dev = dev;
		devs[*ndevs].mount = i;
		(*ndevs)++;
		kept[nkept++] = i;
	}
	if (o.all) {
		for (size_t i = 0; i < n; i++)
			kept[i] = i;
		nkept = n;
	}
	return nkept;
}

static int has_uuid_suffix(const char *s)
{
	size_t len = strlen(s);
	return len > 36 && strspn(s + len - 36, "-0123456789abcdefABCDEF") == 36;
}

/* ---- rows ------------------------------------------------------------------ */

static struct row *rows;
static size_t nrows;
static int worst = ST_OK;

static int severity(int st)
{
	/* Nagios order: CRITICAL > WARNING > UNKNOWN > OK */
	static const int rank[] = { 0, 2, 3, 1 };
	return rank[st];
}

static void raise_status(int st)
{
	if (severity(st) > severity(worst))
		worst = st;
}

static int level_for(int pct, int warn, int crit)
{
	if (pct < 0)
		return ST_OK;
	if (crit >= 0 && pct >= crit)
		return ST_CRIT;
	if (warn >= 0 && pct >= warn)
		return ST_WARN;
	return ST_OK;
}

static void add_row(const char *dev, const char *type, const char *dir, const struct probe *p,
		    int unknown_values)
{
	rows = box_xrealloc(rows, (nrows + 1) * sizeof(*rows));
	struct row *r = &rows[nrows++];
	struct values v;

	memset(r, 0, sizeof(*r));
	r->dev = dev;
	r->type = unknown_values ? "-" : type;
	r->dir = dir;
	r->pct = r->ipct = -1;
	r->hung = p->hung;
	r->unknown_values = unknown_values || p->hung;
	if (r->unknown_values) {
		r->fsu.bsize = r->fsu.blocks = r->fsu.bfree = r->fsu.bavail = UINT64_MAX;
		r->fsu.files = r->fsu.ffree = UINT64_MAX;
		r->level = p->hung ? ST_UNKNOWN : ST_OK;
		raise_status(r->level);
		return;
	}
	r->fsu = p->fsu;
	get_values(&r->fsu, 0, &v);
	r->pct = percent(&v);
	get_values(&r->fsu, 1, &v);
	r->ipct = percent(&v);
	r->level = level_for(r->pct, o.warn, o.crit);
	int il = level_for(r->ipct, o.iwarn, o.icrit);
	if (severity(il) > severity(r->level))
		r->level = il;
	raise_status(r->level);
}

/* "5s", "300ms", "1500ms": exact, and short for the usual values. */
static const char *duration_text(char *buf, size_t size, int64_t ns)
{
	if (ns % BOX_NSEC == 0)
		snprintf(buf, size, "%llds", (long long)(ns / BOX_NSEC));
	else if (ns % 1000000 == 0)
		snprintf(buf, size, "%lldms", (long long)(ns / 1000000));
	else
		snprintf(buf, size, "%lldns", (long long)ns);
	return buf;
}

static void report_hung(const char *what)
{
	char d[32];
	box_warn("%s: not answering after %s", what, duration_text(d, sizeof(d), o.timeout));
}

/* df's get_dev: the row for one mount, or nothing. */
static void get_dev(const struct mount *m, const char *dev, const char *dir,
		    const struct probe *p, int listed, int process_all,
		    const struct mount *winner)
{
	int unknown = 0;

	if (p->hung) {
		report_hung(dir);
		add_row(dev, m ? m->type : "-", dir, p, 0);
		return;
	}
	if (p->vfs_err) {
		if (process_all && (p->vfs_err == EACCES || p->vfs_err == ENOENT)) {
			if (!o.all)
				return;
			unknown = 1;
		} else {
			errno = p->vfs_err;
			box_warn_errno("unable to statvfs %s", p->vfs_path);
			raise_status(ST_UNKNOWN);
			return;
		}
	} else if (process_all && o.all && !p->stat_err && winner && m &&
		   strcmp(winner->dev, dev) && (!winner->remote || !m->remote)) {
		unknown = 1;   /* over-mounted: the numbers belong to another device */
	}
	if (!unknown && p->fsu.blocks == 0 && !o.all && !listed)
		return;
	add_row(dev, m ? m->type : "-", dir, p, unknown);
}

static void report_all(struct mount *ms, size_t n)
{
	struct probe *pr = NULL;
	size_t npr = 0;

	for (size_t i = 0; i < n; i++) {
		if (!wanted(&ms[i], 0) || ms[i].dir[0] != '/')
			continue;
		ms[i].probe = (int)npr;
		struct probe *p = new_probe(&pr, &npr);
		p->stat_path = p->vfs_path = ms[i].dir;
	}
	probe_all(pr, npr);

	size_t *kept = box_xcalloc(n + 1, sizeof(*kept)), ndevs;
	struct devent *devs = box_xcalloc(n + 1, sizeof(*devs));
	size_t nkept = filter_mounts(ms, n, pr, kept, devs, &ndevs);

	for (size_t k = 0; k < nkept; k++) {
		struct mount *m = &ms[kept[k]];
		if (m->probe < 0)
			continue;
		struct probe *p = &pr[m->probe];
		const struct devent *w = p->hung || p->stat_err ? NULL
			: dev_find(devs, ndevs, p->st_dev);
		const char *dev = m->dev;
		char *canon;
		if (has_uuid_suffix(dev) && (canon = realpath(dev, NULL)))
			dev = canon;
		get_dev(m, dev, m->dir, p, 0, 1, w ? &ms[w->mount] : NULL);
	}
	free(kept);
	free(devs);
}

/* df's get_point: the mount whose directory is the longest prefix of the
 * resolved path, confirmed by device number. */
static const struct mount *point_mount(const struct mount *ms, size_t n, const char *real)
{
	const struct mount *best = NULL;
	size_t best_len = 0, rlen = strlen(real);

	for (size_t i = 0; i < n; i++) {
		const struct mount *m = &ms[i];
		if (!strcmp(m->type, "lofs") || (best && !best->dummy && m->dummy))
			continue;
		size_t len = strlen(m->dir);
		if (best_len <= len && len <= rlen && (len == 1 ||
		    ((len == rlen || real[len] == '/') && !strncmp(m->dir, real, len)))) {
			best = m;
			best_len = len;
		}
	}
	return best;
}

static const struct mount *dev_mount(const struct mount *ms, size_t n, dev_t dev)
{
	const struct mount *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (ms[i].me_dev == dev && strcmp(ms[i].type, "lofs") &&
		    (!best || best->dummy || !ms[i].dummy))
			best = &ms[i];
	return best;
}

/* A block device given as PATH: the mount of that device with the
 * shortest directory (df's get_device, without its over-mount check). */
static const struct mount *device_mount(const struct mount *ms, size_t n, const char *real)
{
	const struct mount *best = NULL;
	for (size_t i = 0; i < n; i++) {
		char *canon = realpath(ms[i].dev, NULL);
		const char *name = canon ? canon : ms[i].dev;
		if (!strcmp(name, real) && (!best || strlen(ms[i].dir) < strlen(best->dir)))
			best = &ms[i];
		free(canon);
	}
	return best;
}

static void report_paths(struct mount *ms, size_t n, char **paths, int npaths)
{
	struct probe *first = NULL, *second = NULL;
	size_t nfirst = 0, nsecond = 0;
	const struct mount **match = box_xcalloc((size_t)npaths + 1, sizeof(*match));

	for (int i = 0; i < npaths; i++) {
		struct probe *p = new_probe(&first, &nfirst);
		p->stat_path = paths[i];
		p->want_real = 1;
	}
	probe_all(first, nfirst);
	for (int i = 0; i < npaths; i++) {
		struct probe *p = &first[i];
		struct probe *q = new_probe(&second, &nsecond);
		if (p->hung || p->stat_err || p->real_err)
			continue;
		int is_dev = S_ISBLK(p->st_mode) || S_ISCHR(p->st_mode);
		match[i] = is_dev ? device_mount(ms, n, p->real) : NULL;
		q->vfs_path = match[i] ? match[i]->dir : paths[i];
		if (!match[i])
			match[i] = point_mount(ms, n, p->real);
		q->stat_path = match[i] ? match[i]->dir : NULL;
	}
	probe_all(second, nsecond);
	for (int i = 0; i < npaths; i++) {
		struct probe *p = &first[i], *q = &second[i];
		if (p->hung) {
			report_hung(paths[i]);
			add_row("-", "-", paths[i], p, 0);
			continue;
		}
		if (p->stat_err || p->real_err) {
			errno = p->stat_err ? p->stat_err : p->real_err;
			box_warn_errno("unable to stat %s", paths[i]);
			raise_status(ST_UNKNOWN);
			continue;
		}
		const struct mount *m = match[i];
		int is_dev = S_ISBLK(p->st_mode) || S_ISCHR(p->st_mode);
		if (m && !is_dev && !q->hung && (q->stat_err || q->st_dev != p->st_dev))
			m = dev_mount(ms, n, p->st_dev);
		if (m && !wanted(m, 1))
			continue;
		get_dev(m, m ? m->dev : "-", m ? m->dir : "-", q, 1, 0, NULL);
	}
	free(match);
}

/* ---- output ------------------------------------------------------------------ */

enum { C_SOURCE, C_TYPE, C_SIZE, C_USED, C_AVAIL, C_PCENT, C_BAR, C_STATUS, C_TARGET, NCOL };

#define BAR_WIDTH 20

static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Control characters (a newline in a mount point) would break the table. */
static char *cell_text(const char *s)
{
	char *c = box_xstrdup(s);
	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

static char *number_cell(const struct row *r, int field)
{
	char buf[64];
	struct values v;

	get_values(&r->fsu, o.inodes, &v);
	if (field == C_SIZE)
		return box_xstrdup(readable(buf, sizeof(buf), 0, v.total, &v));
	if (field == C_USED)
		return box_xstrdup(readable(buf, sizeof(buf), v.neg_used, v.used, &v));
	return box_xstrdup(readable(buf, sizeof(buf), v.neg_avail, v.avail, &v));
}

static char *bar_cell(int pct)
{
	char bar[BAR_WIDTH + 3];
	int fill = pct < 0 ? 0 : (pct > 100 ? 100 : pct) * BAR_WIDTH / 100;

	bar[0] = '[';
	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i + 1] = pct < 0 ? ' ' : i < fill ? '#' : '.';
	bar[BAR_WIDTH + 1] = ']';
	bar[BAR_WIDTH + 2] = 0;
	return box_xstrdup(bar);
}

static int has_thresholds(void)
{
	return o.warn >= 0 || o.crit >= 0 || o.iwarn >= 0 || o.icrit >= 0;
}

static void format_table(struct box_buf *out, int bar, int color)
{
	static const char *const heads[NCOL] = { "Filesystem", "Type", "Size", "Used",
		"Avail", "Use%", "Usage", "Status", "Mounted on" };
	static const size_t min_width[NCOL] = { 14, 4, 5, 5, 5, 4, 0, 0, 0 };
	int use[NCOL] = { 1, o.print_type, 1, 1, 1, 1, bar, has_thresholds(), 1 };
	char ***cells = box_xcalloc(nrows + 1, sizeof(*cells));
	size_t width[NCOL];

	for (int c = 0; c < NCOL; c++)
		width[c] = min_width[c];
	for (size_t i = 0; i <= nrows; i++) {
		cells[i] = box_xcalloc(NCOL, sizeof(**cells));
		for (int c = 0; c < NCOL; c++) {
			if (!use[c])
				continue;
			const char *h = heads[c];
			if (i == 0) {
				if (o.inodes && c >= C_SIZE && c <= C_PCENT)
					h = (const char *[]){ "Inodes", "IUsed", "IFree", "IUse%" }[c - C_SIZE];
				else if (!o.base && c == C_SIZE)
					h = "1K-blocks";
				else if (!o.base && c == C_AVAIL)
					h = "Available";
				cells[0][c] = box_xstrdup(h);
			} else {
				const struct row *r = &rows[i - 1];
				int pct = o.inodes ? r->ipct : r->pct;
				switch (c) {
				case C_SOURCE: cells[i][c] = cell_text(r->dev); break;
				case C_TYPE: cells[i][c] = cell_text(r->type); break;
				case C_PCENT:
					cells[i][c] = pct < 0 ? box_xstrdup("-") : box_xasprintf("%d%%", pct);
					break;
				case C_BAR: cells[i][c] = bar_cell(pct); break;
				case C_STATUS:
					cells[i][c] = box_xstrdup(r->hung ? "UNKNOWN" : status_name[r->level]);
					break;
				case C_TARGET: cells[i][c] = cell_text(r->dir); break;
				default: cells[i][c] = number_cell(r, c); break;
				}
			}
			size_t w = text_width(cells[i][c]);
			if (w > width[c])
				width[c] = w;
		}
	}
	for (size_t i = 0; i <= nrows; i++) {
		int first = 1;
		for (int c = 0; c < NCOL; c++) {
			if (!use[c])
				continue;
			const char *s = cells[i][c];
			size_t fill = width[c] - text_width(s);
			int right = c >= C_SIZE && c <= C_PCENT;
			if (!first)
				box_buf_addc(out, ' ');
			first = 0;
			for (; right && fill; fill--)
				box_buf_addc(out, ' ');
			const char *sgr = NULL;
			if (color && i > 0 && (c == C_BAR || c == C_STATUS)) {
				static const char *const colors[] = { "32", "33", "31", "35" };
				const struct row *r = &rows[i - 1];
				int lvl = r->level;
				int pct = o.inodes ? r->ipct : r->pct;
				if (!has_thresholds() && !r->hung)   /* a hint without thresholds */
					lvl = pct >= 90 ? ST_CRIT : pct >= 80 ? ST_WARN : ST_OK;
				sgr = colors[r->hung ? ST_UNKNOWN : lvl];
			}
			if (sgr)
				box_buf_printf(out, "\033[%sm%s\033[0m", sgr, s);
			else
				box_buf_adds(out, s);
			if (c != C_TARGET)
				for (; fill; fill--)
					box_buf_addc(out, ' ');
			free(cells[i][c]);
		}
		box_buf_addc(out, '\n');
		free(cells[i]);
	}
	free(cells);
}

static void json_u128(struct box_buf *out, int negative, unsigned __int128 v)
{
	char buf[48], *p = buf + sizeof(buf) - 1;
	*p = 0;
	do
		*--p = (char)('0' + (int)(v % 10));
	while ((v /= 10) != 0);
	if (negative)
		*--p = '-';
	box_buf_adds(out, p);
}

/* Sizes in bytes, or null when unknown; "sep" separates fields. */
static void machine_numbers(struct box_buf *out, const struct row *r, int json)
{
	static const char *const keys[] = { "size", "used", "avail", "use_percent",
		"inodes", "iused", "ifree", "iuse_percent" };
	struct values v;

	for (int k = 0; k < 8; k++) {
		int inodes = k >= 4, which = k % 4;
		if (json)
			box_buf_printf(out, ",\"%s\":", keys[k]);
		else
			box_buf_addc(out, ',');
		get_values(&r->fsu, inodes, &v);
		v.out_units = 1;
		uint64_t n = which == 0 ? v.total : which == 1 ? v.used : v.avail;
		int neg = which == 1 ? v.neg_used : which == 2 ? v.neg_avail : 0;
		int pct = inodes ? r->ipct : r->pct;
		if (which == 3) {
			if (pct >= 0)
				box_buf_printf(out, "%d", pct);
			else if (json)
				box_buf_adds(out, "null");
		} else if (r->unknown_values || (!known(n) && !neg)) {
			if (json)
				box_buf_adds(out, "null");
		} else {
			json_u128(out, neg, (unsigned __int128)(neg ? -n : n) * v.in_units);
		}
	}
}

static void format_json(struct box_buf *out)
{
	box_buf_adds(out, "{\"filesystems\":[");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		box_buf_adds(out, i ? ",\n{\"filesystem\":" : "\n{\"filesystem\":");
		box_json_str(out, r->dev);
		box_buf_adds(out, ",\"type\":");
		box_json_str(out, r->type);
		box_buf_adds(out, ",\"mounted_on\":");
		box_json_str(out, r->dir);
		box_buf_printf(out, ",\"answered\":%s", r->hung ? "false" : "true");
		machine_numbers(out, r, 1);
		box_buf_printf(out, ",\"status\":\"%s\"}", status_name[r->hung ? ST_UNKNOWN : r->level]);
	}
	box_buf_printf(out, "\n],\"status\":\"%s\",\"exit\":%d}\n", status_name[worst], worst);
}

static void csv_field(struct box_buf *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		box_buf_adds(out, s);
		return;
	}
	box_buf_addc(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			box_buf_addc(out, '"');
		box_buf_addc(out, *s);
	}
	box_buf_addc(out, '"');
}

static void format_csv(struct box_buf *out)
{
	box_buf_adds(out, "filesystem,type,mounted_on,size,used,avail,use_percent,"
		"inodes,iused,ifree,iuse_percent,status\n");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		csv_field(out, r->dev);
		box_buf_addc(out, ',');
		csv_field(out, r->type);
		box_buf_addc(out, ',');
		csv_field(out, r->dir);
		machine_numbers(out, r, 0);
		box_buf_printf(out, ",%s\n", status_name[r->hung ? ST_UNKNOWN : r->level]);
	}
}

static void format_report(struct box_buf *out, int tty)
{
	if (o.json)
		format_json(out);
	else if (o.csv)
		format_csv(out);
	else if (nrows) {
		const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
		int color = tty && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
		format_table(out, tty, color);
	}
}

/* ---- mail over SMTP ------------------------------------------------------------ */

static int valid_address(const char *a)
{
	const char *at = strchr(a, '@');
	if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) > 254)
		return 0;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("<>()[],;:\\\"", *p))
			return 0;
	return 1;
}

struct smtp {
	int fd;
	char in[4096];
	size_t inlen;
	int64_t timeout;
};

/* "STEP: reason" for the message; returns -1. */
static char mail_err[600];

static int mail_fail(const char *step, const char *fmt, ...) BOX_PRINTF(2, 3);
static int mail_fail(const char *step, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(mail_err, sizeof(mail_err), "%s: %s", step, why);
	return -1;
}

static int smtp_send(struct smtp *s, const char *step, const char *data, size_t n)
{
	int64_t deadline = box_now_ns() + s->timeout;
	while (n) {
		ssize_t w = send(s->fd, data, n, MSG_NOSIGNAL);
		if (w > 0) {
			data += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return mail_fail(step, "%s", strerror(errno));
		struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
		char d[32];
		if (box_poll_until(&pfd, 1, deadline) == 0)
			return mail_fail(step, "cannot send within %s",
				duration_text(d, sizeof(d), s->timeout));
	}
	return 0;
}

/* Reads a reply (all lines of a multi-line one); returns its code and
 * leaves the last line's text in `text`. */
static int smtp_reply(struct smtp *s, const char *step, char *text, size_t size)
{
	int64_t deadline = box_now_ns() + s->timeout;
	for (;;) {
		char *nl = memchr(s->in, '\n', s->inlen);
		if (nl) {
			size_t len = (size_t)(nl - s->in) + 1;
			size_t tl = len - 1;
			if (tl && s->in[tl - 1] == '\r')
				tl--;
			snprintf(text, size, "%.*s", (int)tl, s->in);
			memmove(s->in, s->in + len, s->inlen - len);
			s->inlen -= len;
			if (tl < 3 || text[0] < '2' || text[0] > '5' || text[1] < '0' ||
			    text[1] > '9' || text[2] < '0' || text[2] > '9' ||
			    (tl > 3 && text[3] != ' ' && text[3] != '-'))
				return mail_fail(step, "malformed reply '%s'", text);
			if (tl > 3 && text[3] == '-')
				continue;
			return atoi(text);
		}
		if (s->inlen == sizeof(s->in))
			return mail_fail(step, "reply line too long");
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		int r = box_poll_until(&pfd, 1, deadline);
		char d[32];
		if (r == 0)
			return mail_fail(step, "no reply within %s",
				duration_text(d, sizeof(d), s->timeout));
		ssize_t got = box_read(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen);
		if (got < 0 && errno == EAGAIN)
			continue;
		if (got < 0)
			return mail_fail(step, "%s", strerror(errno));
		if (got == 0)
			return mail_fail(step, "connection closed by the server");
		s->inlen += (size_t)got;
	}
}

/* Sends a command (NULL: none) and checks the reply's class. */
static int smtp_cmd(struct smtp *s, const char *step, const char *cmd, int want, int *code)
{
	char text[512];
	if (cmd) {
		char *line = box_xasprintf("%s\r\n", cmd);
		int r = smtp_send(s, step, line, strlen(line));
		free(line);
		if (r < 0)
			return -1;
	}
	int c = smtp_reply(s, step, text, sizeof(text));
	if (c < 0)
		return -1;
	if (code)
		*code = c;
	if (c / 100 != want)
		return mail_fail(step, "%s", text);
	return 0;
}

static int smtp_connect(struct smtp *s, const char *spec)
{
	char host[256], port[8] = "25";
	const char *colon;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		snprintf(host, sizeof(host), "%.*s", (int)(close - spec - 1), spec + 1);
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strrchr(spec, ':');
		snprintf(host, sizeof(host), "%.*s", (int)(colon ? colon - spec : (long)strlen(spec)), spec);
	}
	if (colon)
		snprintf(port, sizeof(port), "%s", colon + 1);

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char step[300];
	snprintf(step, sizeof(step), "connect to %s", spec);
	int e = getaddrinfo(host, port, &hints, &res);
	if (e)
		return mail_fail(step, "%s", gai_strerror(e));
	int64_t deadline = box_now_ns() + s->timeout;
	int err = ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			ai->ai_protocol);
		if (s->fd < 0) {
			err = errno;
			continue;
		}
		if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (errno == EINPROGRESS) {
			struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
			socklen_t len = sizeof(err);
			if (box_poll_until(&pfd, 1, deadline) == 0)
				err = ETIMEDOUT;
			else if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && !err)
				break;
		}
		box_close(s->fd);
		s->fd = -1;
	}
	freeaddrinfo(res);
	if (s->fd < 0)
		return mail_fail(step, "%s", strerror(err));
	return 0;
}

/* RFC 2047 for a Subject with bytes outside ASCII. */
static void add_subject(struct box_buf *m, const char *subj)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)subj;
	size_t n = strlen(subj);
	int plain = 1;

	for (size_t i = 0; i < n; i++)
		plain &= p[i] >= ' ' && p[i] < 0x7f;
	box_buf_adds(m, "Subject: ");
	if (plain) {
		box_buf_adds(m, subj);
	} else {
		box_buf_adds(m, "=?UTF-8?B?");
		for (size_t i = 0; i < n; i += 3) {
			unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
				(i + 2 < n ? p[i + 2] : 0);
			box_buf_addc(m, b64[v >> 18 & 63]);
			box_buf_addc(m, b64[v >> 12 & 63]);
			box_buf_addc(m, i + 1 < n ? b64[v >> 6 & 63] : '=');
			box_buf_addc(m, i + 2 < n ? b64[v & 63] : '=');
		}
		box_buf_adds(m, "?=");
	}
	box_buf_adds(m, "\r\n");
}

/* Headers, then the body with CRLF line ends and dot-stuffing, then the
 * terminating ".". */
static void build_message(struct box_buf *m, const char *from, const char *host,
			  const char *body)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	time_t now = time(NULL);
	struct tm tm;

	/* UTC: no time zone database needed, and mail clients show local time */
	gmtime_r(&now, &tm);
	box_buf_printf(m, "Date: %.3s, %02d %.3s %d %02d:%02d:%02d +0000\r\n",
		days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon, tm.tm_year + 1900,
		tm.tm_hour, tm.tm_min, tm.tm_sec);
	box_buf_printf(m, "From: <%s>\r\nTo: ", from);
	for (int i = 0; i < o.nmail_to; i++)
		box_buf_printf(m, "%s<%s>", i ? ", " : "", o.mail_to[i]);
	box_buf_adds(m, "\r\n");
	if (o.subject)
		add_subject(m, o.subject);
	else
		box_buf_printf(m, "Subject: Disk usage on %s: %s\r\n", host, status_name[worst]);
	box_buf_printf(m, "Message-ID: <%lld.%ld.diskreport@%s>\r\n",
		(long long)box_wall_ns(), (long)getpid(), host);
	box_buf_adds(m, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n");
	for (const char *line = body; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (line[0] == '.')
			box_buf_addc(m, '.');
		box_buf_add(m, line, len);
		box_buf_adds(m, "\r\n");
		line += len + (nl != NULL);
	}
	box_buf_adds(m, ".\r\n");
}

static int send_mail(const char *body)
{
	struct smtp s = { .fd = -1, .timeout = o.smtp_timeout };
	struct utsname u;
	char from_buf[300], step[300];
	const char *host = uname(&u) == 0 ? u.nodename : "localhost";
	const char *from = o.mail_from;
	int code = 0, accepted = 0, failed = 0;

	if (!from) {
		/* cron sets LOGNAME; no passwd lookup keeps the binary small */
		const char *user = getenv("LOGNAME");
		if (!user || !*user)
			user = getenv("USER");
		if (!user || !*user)
			user = getuid() == 0 ? "root" : "diskreport";
		snprintf(from_buf, sizeof(from_buf), "%s@%s", user, host);
		from = from_buf;
	}
	if (smtp_connect(&s, o.smtp) < 0)
		return -1;
	char *cmd = NULL;
	int r = smtp_cmd(&s, "greeting", NULL, 2, NULL);
	if (r == 0) {
		cmd = box_xasprintf("EHLO %s", host);
		r = smtp_cmd(&s, "EHLO", cmd, 2, &code);
		if (r < 0 && code / 100 == 5) {
			free(cmd);
			cmd = box_xasprintf("HELO %s", host);
			r = smtp_cmd(&s, "HELO", cmd, 2, NULL);
		}
		free(cmd);
	}
	if (r == 0) {
		cmd = box_xasprintf("MAIL FROM:<%s>", from);
		r = smtp_cmd(&s, "MAIL FROM", cmd, 2, NULL);
		free(cmd);
	}
	for (int i = 0; r == 0 && i < o.nmail_to; i++) {
		cmd = box_xasprintf("RCPT TO:<%s>", o.mail_to[i]);
		snprintf(step, sizeof(step), "RCPT TO <%s>", o.mail_to[i]);
		code = 0;
		if (smtp_cmd(&s, step, cmd, 2, &code) == 0) {
			accepted++;
		} else if (code >= 400) {
			/* the others still get the report */
			box_warn("mail: %s", mail_err);
			failed++;
		} else {
			r = -1;
		}
		free(cmd);
	}
	if (r == 0 && !accepted)
		r = mail_fail("RCPT TO", "no recipient accepted");
	if (r == 0)
		r = smtp_cmd(&s, "DATA", "DATA", 3, NULL);
	if (r == 0) {
		struct box_buf m = { 0 };
		build_message(&m, from, host, body);
		r = smtp_send(&s, "DATA", m.p, m.len);
		box_buf_free(&m);
		if (r == 0)
			r = smtp_cmd(&s, "end of DATA", NULL, 2, NULL);
	}
	if (r == 0 && smtp_cmd(&s, "QUIT", "QUIT", 2, NULL) < 0)
		box_warn("mail: %s (the message was accepted)", mail_err);
	box_close(s.fd);
	if (r < 0)
		return -1;
	return failed ? -2 : 0;
}

/* ---- options ------------------------------------------------------------------ */

enum {
	OPT_WARN = 256, OPT_CRIT, OPT_IWARN, OPT_ICRIT, OPT_TIMEOUT, OPT_JSON, OPT_CSV,
	OPT_MAIL_TO, OPT_MAIL_FROM, OPT_SMTP, OPT_SUBJECT, OPT_MAIL_IF, OPT_SMTP_TIMEOUT,
};

static const struct box_opt opts[] = {
	{ 'a', 'a', "all", 0 },
	{ 'l', 'l', "local", 0 },
	{ 't', 't', "type", 1 },
	{ 'x', 'x', "exclude-type", 1 },
	{ 'T', 'T', "print-type", 0 },
	{ 'i', 'i', "inodes", 0 },
	{ 'h', 'h', "human-readable", 0 },
	{ 'H', 'H', "si", 0 },
	{ 'k', 'k', NULL, 0 },
	{ OPT_WARN, 0, "warn", 1 },
	{ OPT_CRIT, 0, "crit", 1 },
	{ OPT_IWARN, 0, "iwarn", 1 },
	{ OPT_ICRIT, 0, "icrit", 1 },
	{ OPT_TIMEOUT, 0, "timeout", 1 },
	{ OPT_JSON, 0, "json", 0 },
	{ OPT_CSV, 0, "csv", 0 },
	{ OPT_MAIL_TO, 0, "mail-to", 1 },
	{ OPT_MAIL_FROM, 0, "mail-from", 1 },
	{ OPT_SMTP, 0, "smtp", 1 },
	{ OPT_SUBJECT, 0, "subject", 1 },
	{ OPT_MAIL_IF, 0, "mail-if", 1 },
	{ OPT_SMTP_TIMEOUT, 0, "smtp-timeout", 1 },
	{ 0 },
};

static int parse_pct(const char *what, const char *s)
{
	char buf[16];
	size_t n = strlen(s);
	if (n && n < sizeof(buf) && s[n - 1] == '%') {
		memcpy(buf, s, n - 1);
		buf[n - 1] = 0;
		long long v;
		if (box_parse_ll(buf, 0, 100, &v) == BOX_PARSE_OK)
			return (int)v;
	} else {
		long long v;
		if (box_parse_ll(s, 0, 100, &v) == BOX_PARSE_OK)
			return (int)v;
	}
	box_usage("invalid %s '%s': expected a percentage 0-100", what, s);
}

static void add_type(char ***list, int *n, const char *t)
{
	if (!*t)
		box_usage("empty filesystem type");
	*list = box_xrealloc(*list, (size_t)(*n + 1) * sizeof(**list));
	(*list)[(*n)++] = (char *)t;
}

static void parse_mail_to(const char *spec)
{
	char *copy = box_xstrdup(spec), *save = NULL;
	for (char *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		while (*a == ' ')
			a++;
		if (!valid_address(a))
			box_usage("invalid mail address '%s'", a);
		o.mail_to = box_xrealloc(o.mail_to, (size_t)(o.nmail_to + 1) * sizeof(*o.mail_to));
		o.mail_to[o.nmail_to++] = a;
	}
	if (!o.nmail_to)
		box_usage("invalid --mail-to '%s': no address", spec);
}

static void check_smtp(const char *spec)
{
	const char *port = NULL;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close == spec + 1 || (close[1] && close[1] != ':'))
			box_usage("invalid --smtp '%s': expected HOST[:PORT] or [ADDR]:PORT", spec);
		if (close[1])
			port = close + 2;
	} else {
		const char *colon = strchr(spec, ':');
		if (!*spec || colon == spec || (colon && strchr(colon + 1, ':')))
			box_usage("invalid --smtp '%s': expected HOST[:PORT] or [ADDR]:PORT", spec);
		if (colon)
			port = colon + 1;
	}
	long long v;
	if (port && box_parse_ll(port, 1, 65535, &v) != BOX_PARSE_OK)
		box_usage("invalid --smtp port '%s': expected 1-65535", port);
}

/* Options may follow the paths, as with df; the paths are moved to
 * argv[1...] in their order and counted. */
static int parse_options(int argc, char **argv, struct box_getopt *g)
{
	int c, npaths = 0;
	o.base = 1024;
	o.warn = o.crit = o.iwarn = o.icrit = -1;
	o.timeout = 5 * BOX_NSEC;
	o.smtp_timeout = 30 * BOX_NSEC;
	o.smtp = "127.0.0.1:25";
	o.mail_if = -1;
	int mail_opt = 0;

	box_getopt_init(g, argc, argv);
	for (;;) {
		c = box_getopt(g, opts);
		if (c == -1) {
			if (g->ind >= argc)
				break;
			argv[1 + npaths++] = argv[g->ind++];
			if (g->dashdash) {
				while (g->ind < argc)
					argv[1 + npaths++] = argv[g->ind++];
				break;
			}
			continue;
		}
		switch (c) {
		case 'a': o.all = 1; break;
		case 'l': o.local = 1; break;
		case 't': add_type(&o.types, &o.ntypes, g->arg); break;
		case 'x': add_type(&o.xtypes, &o.nxtypes, g->arg); break;
		case 'T': o.print_type = 1; break;
		case 'i': o.inodes = 1; break;
		case 'h': o.base = 1024; break;
		case 'H': o.base = 1000; break;
		case 'k': o.base = 0; break;
		case OPT_WARN: o.warn = parse_pct("--warn", g->arg); break;
		case OPT_CRIT: o.crit = parse_pct("--crit", g->arg); break;
		case OPT_IWARN: o.iwarn = parse_pct("--iwarn", g->arg); break;
		case OPT_ICRIT: o.icrit = parse_pct("--icrit", g->arg); break;
		case OPT_TIMEOUT:
			o.timeout = box_xparse_duration("--timeout", g->arg);
			if (!o.timeout)
				box_usage("invalid --timeout '%s': must be more than 0", g->arg);
			break;
		case OPT_SMTP_TIMEOUT:
			o.smtp_timeout = box_xparse_duration("--smtp-timeout", g->arg);
			if (!o.smtp_timeout)
				box_usage("invalid --smtp-timeout '%s': must be more than 0", g->arg);
			break;
		case OPT_JSON: o.json = 1; break;
		case OPT_CSV: o.csv = 1; break;
		case OPT_MAIL_TO: parse_mail_to(g->arg); break;
		case OPT_MAIL_FROM:
			if (!valid_address(g->arg))
				box_usage("invalid mail address '%s'", g->arg);
			o.mail_from = g->arg;
			mail_opt = 1;
			break;
		case OPT_SMTP: check_smtp(g->arg); o.smtp = g->arg; mail_opt = 1; break;
		case OPT_SUBJECT:
			if (strpbrk(g->arg, "\r\n"))
				box_usage("invalid --subject: it must be one line");
			o.subject = g->arg;
			mail_opt = 1;
			break;
		case OPT_MAIL_IF:
			if (!strcmp(g->arg, "always"))
				o.mail_if = -1;
			else if (!strcmp(g->arg, "warn"))
				o.mail_if = ST_WARN;
			else if (!strcmp(g->arg, "crit"))
				o.mail_if = ST_CRIT;
			else
				box_usage("invalid --mail-if '%s': expected always, warn or crit", g->arg);
			mail_opt = 1;
			break;
		}
	}
	if (o.json && o.csv)
		box_usage("--json and --csv cannot be combined");
	if (o.warn >= 0 && o.crit >= 0 && o.warn > o.crit)
		box_usage("--warn %d is above --crit %d", o.warn, o.crit);
	if (o.iwarn >= 0 && o.icrit >= 0 && o.iwarn > o.icrit)
		box_usage("--iwarn %d is above --icrit %d", o.iwarn, o.icrit);
	if (mail_opt && !o.nmail_to)
		box_usage("mail options need --mail-to");
	return npaths;
}

/* Whether the status asks for a mail under --mail-if. */
static int mail_wanted(void)
{
	if (o.mail_if < 0)
		return 1;
	if (o.mail_if == ST_WARN)
		return worst != ST_OK;
	return worst == ST_CRIT || worst == ST_UNKNOWN;
}

static int diskreport_main(int argc, char **argv)
{
	struct box_getopt g;
	struct mount *ms = NULL;
	size_t nms = 0;

	int npaths = parse_options(argc, argv, &g);
	if (read_mountinfo(&ms, &nms) < 0)
		read_mtab(&ms, &nms);
	if (npaths)
		report_paths(ms, nms, argv + 1, npaths);
	else
		report_all(ms, nms);
	if (!nrows && worst == ST_OK) {
		box_warn("no file systems processed");
		worst = ST_UNKNOWN;
	}

	struct box_buf out = { 0 };
	int tty = isatty(1);
	format_report(&out, tty);
	box_write_all(1, out.p, out.len);

	int code = worst;
	if (o.nmail_to && mail_wanted()) {
		struct box_buf body = { 0 };
		if (tty)
			format_report(&body, 0);
		int r = send_mail(tty ? body.p : out.p);
		if (r == -1)
			box_warn("mail: %s", mail_err);
		if (r < 0)
			code = MAIL_FAILED;
		box_buf_free(&body);
	}
	box_buf_free(&out);
	return code;
}

const struct applet applet_diskreport = {
	"diskreport", diskreport_main, usage, help, ST_UNKNOWN, ST_UNKNOWN,
};
