/* dirsync -X and -A: extended attributes and POSIX ACLs, rsync's way.
 *
 * Which names a run copies is rsync's rule on Linux: as root every
 * namespace but system.*; otherwise user.* alone (the only one an
 * ordinary user may write). -A adds the two system.posix_acl_* names,
 * copied as raw values (the kernel's own format: no libacl). DST's extras
 * of the kinds copied are removed; other kinds on DST are left alone.
 *
 * An entry is reached through an fd (f*xattr), or, for O_PATH fds and
 * for entries that are not opened (symlinks, FIFOs, unchanged files), by
 * directory fd and name: the *xattrat calls, else /proc/self/fd/N/name. */
#include "xattr.h"
#include "../../libbox/box.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The kernel's limits for a name list and for one value. */
#define LIST_MAX 65536
#define VALUE_MAX 65536
#define SMALL 1024

#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"
#define RSYNC_META "user.rsync.%"

/* The *xattrat calls (Linux 6.13) reach a name in a directory fd without
 * /proc (not an O_PATH fd itself: EBADF); their numbers are the same on
 * every architecture but alpha. */
#if !defined(SYS_listxattrat) && !defined(__alpha__)
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif

struct xattr_args {
	uint64_t value;
	uint32_t size, flags;
};

int ds_xattrs_at = -1;

static int xattrat_works(void)
{
#ifdef SYS_listxattrat
	/* ENOSYS on older kernels, EPERM under seccomp filters that predate them */
	if (ds_xattrs_at < 0)
		ds_xattrs_at = syscall(SYS_listxattrat, AT_FDCWD, "/", 0, NULL, 0) >= 0;
#else
	ds_xattrs_at = 0;
#endif
	return ds_xattrs_at;
}

void ds_xattrs_probe(void)
{
	xattrat_works();
}

/* Where the attributes are: fd itself (f*xattr calls); name in the
 * directory fd (*xattrat calls); or the /proc path of either (l*xattr
 * for a name, the plain calls to follow the fd's own link). */
enum reach { BY_FD, BY_AT, BY_PROC };

struct target {
	int fd;
	enum reach how;
	const char *name;
	char path[PATH_MAX];
};

static void reach_by_proc(struct target *t)
{
	t->how = BY_PROC;
	snprintf(t->path, sizeof(t->path), "/proc/self/fd/%d%s%s", t->fd,
		*t->name ? "/" : "", t->name);
}

static void target_init(struct target *t, int fd, const char *name)
{
	t->fd = fd;
	t->how = BY_FD;
	t->name = name ? name : "";
	if (name && xattrat_works())
		t->how = BY_AT;
	else if (name)
		reach_by_proc(t);
}

/* An fd that f*xattr refuse (O_PATH) is reached through /proc. */
static int refused_fd(struct target *t)
{
	if (t->how != BY_FD || errno != EBADF)
		return 0;
	reach_by_proc(t);
	return 1;
}

/* A name is never followed; an fd's own /proc link is. */
#define PROC_FOLLOWS(t) (!*(t)->name)

static ssize_t t_list(struct target *t, char *buf, size_t size)
{
	ssize_t n;
	if (t->how == BY_FD && ((n = flistxattr(t->fd, buf, size)) >= 0 || !refused_fd(t)))
		return n;
#ifdef SYS_listxattrat
	if (t->how == BY_AT)
		return syscall(SYS_listxattrat, t->fd, t->name, AT_SYMLINK_NOFOLLOW, buf, size);
#endif
	return PROC_FOLLOWS(t) ? listxattr(t->path, buf, size) : llistxattr(t->path, buf, size);
}

static ssize_t t_get(struct target *t, const char *name, void *buf, size_t size)
{
	ssize_t n;
	if (t->how == BY_FD && ((n = fgetxattr(t->fd, name, buf, size)) >= 0 || !refused_fd(t)))
		return n;
#ifdef SYS_getxattrat
	if (t->how == BY_AT) {
		struct xattr_args args = { (uintptr_t)buf, (uint32_t)size, 0 };
		return syscall(SYS_getxattrat, t->fd, t->name, AT_SYMLINK_NOFOLLOW, name, &args, sizeof(args));
	}
#endif
	return PROC_FOLLOWS(t) ? getxattr(t->path, name, buf, size) : lgetxattr(t->path, name, buf, size);
}

static int t_set(struct target *t, const struct ds_xattr *x)
{
	int r;
	if (t->how == BY_FD && ((r = fsetxattr(t->fd, x->name, x->value, x->len, 0)) == 0 || !refused_fd(t)))
		return r;
#ifdef SYS_setxattrat
	if (t->how == BY_AT) {
		struct xattr_args args = { (uintptr_t)x->value, (uint32_t)x->len, 0 };
		return (int)syscall(SYS_setxattrat, t->fd, t->name, AT_SYMLINK_NOFOLLOW, x->name, &args, sizeof(args));
	}
#endif
	return PROC_FOLLOWS(t) ? setxattr(t->path, x->name, x->value, x->len, 0) :
		lsetxattr(t->path, x->name, x->value, x->len, 0);
}

static int t_remove(struct target *t, const char *name)
{
	int r;
	if (t->how == BY_FD && ((r = fremovexattr(t->fd, name)) == 0 || !refused_fd(t)))
		return r;
#ifdef SYS_removexattrat
	if (t->how == BY_AT)
		return (int)syscall(SYS_removexattrat, t->fd, t->name, AT_SYMLINK_NOFOLLOW, name);
#endif
	return PROC_FOLLOWS(t) ? removexattr(t->path, name) : lremovexattr(t->path, name);
}

static const struct {
	const char *prefix;
	unsigned kind;
} namespaces[] = {
	{ "user.", XA_USER },
	{ "trusted.", XA_TRUSTED },
	{ "security.", XA_SECURITY },
};

/* The kind of an attribute name; 0 for what is never copied. */
static unsigned kind_of(const char *name)
{
	if (!strcmp(name, ACL_ACCESS) || !strcmp(name, ACL_DEFAULT))
		return XA_ACL;
	for (size_t i = 0; i < BOX_ARRAY_LEN(namespaces); i++)
		if (!strncmp(name, namespaces[i].prefix, strlen(namespaces[i].prefix)))
			return namespaces[i].kind;
	return 0;
}

unsigned ds_xattrs_kinds(int xattrs, int acls, int root)
{
	return (xattrs ? (root ? XA_XATTRS : XA_USER) : 0) | (acls ? XA_ACL : 0);
}

void ds_xattrs_free(struct ds_xattrs *xl)
{
	free(xl->v);
	free(xl->data);
	*xl = (struct ds_xattrs){ 0 };
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct ds_xattr *)a)->name, ((const struct ds_xattr *)b)->name);
}

static int unsupported(int err)
{
	return err == ENOTSUP || err == EOPNOTSUPP;
}

/* Reads t's attributes of kinds into xl, reusing its arrays: names and
 * values go to one growing buffer, so a walk that reads entry after
 * entry into the same lists stops allocating. */
static int read_target(struct ds_xattrs *xl, struct target *t, unsigned kinds)
{
	/* per thread (the walk reads DST's side on a second one, prefetch.c),
	 * allocated at first use: 128 KiB of static TLS would be carved out
	 * of every thread's stack by glibc, more than a small stack holds */
	static _Thread_local char *buf;
	if (!buf)
		buf = box_xmalloc(LIST_MAX + VALUE_MAX);
	char *names = buf, *value = buf + LIST_MAX;
	/* the kernel allocates (and may zero) as much as it is offered, per
	 * call: a small buffer first, the largest only when it is too small */
	ssize_t n = t_list(t, names, SMALL);
	size_t used = 0;
	if (n < 0 && errno == ERANGE)
		n = t_list(t, names, LIST_MAX);

	xl->n = 0;
	xl->kinds = kinds;
	if (n < 0)
		return unsupported(errno) ? 0 : -1;
	for (char *name = names; name < names + n; name += strlen(name) + 1) {
		if (!(kind_of(name) & kinds) ||
		    ((kinds & XA_SOURCE) && !strncmp(name, RSYNC_META, sizeof(RSYNC_META) - 1)))
			continue;
		ssize_t len = t_get(t, name, value, SMALL);
		if (len < 0 && errno == ERANGE)
			len = t_get(t, name, value, VALUE_MAX);
		if (len < 0 && (errno == ENODATA || unsupported(errno)))
			continue;	/* removed since the listing */
		if (len < 0) {
			xl->n = 0;
			return -1;
		}
		size_t nlen = strlen(name) + 1;
		xl->data = box_grow(xl->data, &xl->dcap, used + nlen + (size_t)len, 1);
		memcpy(xl->data + used, name, nlen);
		memcpy(xl->data + used + nlen, value, (size_t)len);
		struct ds_xattr *x = BOX_PUSH(xl->v, xl->n, xl->cap);
		/* offsets until the buffer stops moving */
		x->name = (char *)(uintptr_t)used;
		x->value = (const char *)(uintptr_t)(used + nlen);
		x->len = (size_t)len;
		used += nlen + (size_t)len;
	}
	for (size_t i = 0; i < xl->n; i++) {
		xl->v[i].name = xl->data + (uintptr_t)xl->v[i].name;
		xl->v[i].value = xl->data + (uintptr_t)xl->v[i].value;
	}
	if (xl->n > 1)
		qsort(xl->v, xl->n, sizeof(*xl->v), by_name);
	return 0;
}

int ds_xattrs_read(struct ds_xattrs *xl, int fd, const char *name, unsigned kinds)
{
	*xl = (struct ds_xattrs){ 0 };
	return ds_xattrs_reread(xl, fd, name, kinds);
}

int ds_xattrs_reread(struct ds_xattrs *xl, int fd, const char *name, unsigned kinds)
{
	struct target t;

	target_init(&t, fd, name);
	return read_target(xl, &t, kinds);
}

/* ---- ACL values ---------------------------------------------------------
 * The kernel's format: a little-endian u32 version (2), then entries of
 * u16 tag, u16 permissions, u32 id, sorted by tag then id. */

enum { ACL_USER_OBJ = 1, ACL_GROUP_OBJ = 4, ACL_MASK = 0x10, ACL_OTHER = 0x20 };

static unsigned le16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}

/* The next entry of an access ACL from *pos that the mode does not say,
 * as tag << 16 | perm with its id; 0 at the end. As rsync has it, the
 * owner's and others' entries are the mode's bits and so is the mask's
 * value (only its presence counts); the owning group's entry counts
 * only beside a mask, which then holds the mode's group bits. */
static unsigned long acl_next(const struct ds_xattr *x, size_t *pos, int has_mask, unsigned long *id)
{
	const unsigned char *p = (const unsigned char *)x->value;

	for (; *pos + 8 <= x->len; *pos += 8) {
		const unsigned char *e = p + *pos;
		unsigned tag = le16(e);
		if (tag == ACL_USER_OBJ || tag == ACL_OTHER || (tag == ACL_GROUP_OBJ && !has_mask))
			continue;
		*pos += 8;
		*id = e[4] | (unsigned long)e[5] << 8 | (unsigned long)e[6] << 16 |
			(unsigned long)e[7] << 24;
		return (unsigned long)tag << 16 | (tag == ACL_MASK ? 0 : le16(e + 2));
	}
	*id = 0;
	return 0;
}

static int acl_well_formed(const struct ds_xattr *x)
{
	return !x || (x->len >= 4 && (x->len - 4) % 8 == 0);
}

static int acl_has_mask(const struct ds_xattr *x)
{
	for (size_t pos = 4; x && pos + 8 <= x->len; pos += 8)
		if (le16((const unsigned char *)x->value + pos) == ACL_MASK)
			return 1;
	return 0;
}

/* Do two access ACLs (NULL: none) grant the same beyond the mode? */
static int access_acl_same(const struct ds_xattr *a, const struct ds_xattr *b)
{
	static const struct ds_xattr none = { NULL, NULL, 0 };
	int ma = acl_has_mask(a), mb = acl_has_mask(b);
	size_t pa = 4, pb = 4;

	if (!acl_well_formed(a) || !acl_well_formed(b))
		return a && b && a->len == b->len && !memcmp(a->value, b->value, a->len);
	if (!a)
		a = &none;
	if (!b)
		b = &none;
	for (;;) {
		unsigned long ia, ib;
		unsigned long ea = acl_next(a, &pa, ma, &ia), eb = acl_next(b, &pb, mb, &ib);
		if (ea != eb || ia != ib)
			return 0;
		if (!ea)
			return 1;
	}
}

/* ---- comparing and applying ---------------------------------------------- */

/* Do a and b (NULL: absent) hold the same? An access ACL by what it
 * grants beyond the mode, as rsync compares them: the mode is set after. */
static int same_value(const struct ds_xattr *a, const struct ds_xattr *b)
{
	const struct ds_xattr *x = a ? a : b;
	if (x && !strcmp(x->name, ACL_ACCESS))
		return access_acl_same(a, b);
	return a && b && a->len == b->len && !memcmp(a->value, b->value, a->len);
}

/* Two lists sorted by name, walked side by side: each step yields one
 * name's entry in each list, NULL where a list lacks it. */
struct pairs {
	const struct ds_xattrs *a, *b;
	size_t i, j;
};

static int next_pair(struct pairs *p, const struct ds_xattr **a, const struct ds_xattr **b)
{
	int c;

	if (p->i < p->a->n && p->j < p->b->n)
		c = strcmp(p->a->v[p->i].name, p->b->v[p->j].name);
	else if (p->i < p->a->n)
		c = -1;
	else if (p->j < p->b->n)
		c = 1;
	else
		return 0;
	*a = c <= 0 ? &p->a->v[p->i++] : NULL;
	*b = c >= 0 ? &p->b->v[p->j++] : NULL;
	return 1;
}

unsigned ds_xattrs_diff(const struct ds_xattrs *src, const struct ds_xattrs *dst)
{
	struct pairs p = { src, dst, 0, 0 };
	const struct ds_xattr *s, *d;
	unsigned diff = 0;

	while (next_pair(&p, &s, &d)) {
		const char *name = s ? s->name : d->name;
		if (same_value(s, d) || !(kind_of(name) & src->kinds))
			continue;
		diff |= kind_of(name);
		if (!strcmp(name, ACL_ACCESS))
			diff |= XA_ACCESS_ACL;
	}
	return diff;
}

/* One ds_xattrs_apply: its target, what it changed, its first error. */
struct applying {
	struct target t;
	unsigned kinds, changed;
	int err;
	int lent;		/* u+w was lent: mode is the one to give back */
	mode_t mode;
};

static char failed_name[256];

/* user.* needs write permission even for the owner: as rsync does, lend
 * u+w to a regular file or directory while its attributes change. */
static int lend_write(struct applying *a)
{
	struct stat st;

	if (a->lent || a->t.how != BY_FD || fstat(a->t.fd, &st) < 0 ||
	    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) || (st.st_mode & S_IWUSR) ||
	    fchmod(a->t.fd, (st.st_mode & 07777) | S_IWUSR) < 0)
		return 0;
	a->lent = 1;
	a->mode = st.st_mode & 07777;
	return 1;
}

/* Sets x, or removes name when x is NULL. */
static void change(struct applying *a, const char *name, const struct ds_xattr *x)
{
	int r = x ? t_set(&a->t, x) : t_remove(&a->t, name);

	if (r < 0 && errno == EACCES && lend_write(a))
		r = x ? t_set(&a->t, x) : t_remove(&a->t, name);
	if (r == 0)
		a->changed |= kind_of(name);
	else if (!x && errno == ENODATA)
		return;		/* gone already */
	else if (!a->err) {
		a->err = errno;
		snprintf(failed_name, sizeof(failed_name), "%s", name);
	}
}

/* Removals first, so a filesystem with little room for attributes (ext4:
 * one block) has it for the new values; ACLs last, after the lent write
 * permission is taken back, since they set the mode. */
static void apply_lists(struct applying *a, const struct ds_xattrs *want, const struct ds_xattrs *have)
{
	struct pairs p = { want, have, 0, 0 };
	const struct ds_xattr *w, *h, *acl[2][2] = { { NULL, NULL }, { NULL, NULL } };

	while (next_pair(&p, &w, &h)) {
		const char *name = w ? w->name : h->name;
		unsigned kind = kind_of(name) & a->kinds;
		if (kind == XA_ACL) {
			int i = !strcmp(name, ACL_DEFAULT);
			acl[i][0] = w;
			acl[i][1] = h;
		} else if (kind && !w) {
			change(a, name, NULL);
		}
	}
	p.i = p.j = 0;
	while (next_pair(&p, &w, &h))
		if (w && kind_of(w->name) != XA_ACL && !same_value(w, h))
			change(a, w->name, w);
	if (a->lent)
		fchmod(a->t.fd, a->mode);
	for (int i = 0; i < 2; i++)
		if ((acl[i][0] || acl[i][1]) && !same_value(acl[i][0], acl[i][1]))
			change(a, acl[i][0] ? acl[i][0]->name : acl[i][1]->name, acl[i][0]);
}

int ds_xattrs_apply(int fd, const char *name, const struct ds_xattrs *want,
	const struct ds_xattrs *have, const char **failed)
{
	struct applying a = { .kinds = want->kinds & ~XA_SOURCE };
	struct ds_xattrs now = { 0 };

	target_init(&a.t, fd, name);
	if (!have) {
		if (read_target(&now, &a.t, a.kinds) < 0) {
			*failed = NULL;
			return -1;
		}
		have = &now;
	}
	apply_lists(&a, want, have);
	if (have == &now)
		ds_xattrs_free(&now);
	if (a.err) {
		*failed = failed_name;
		errno = a.err;
		return -1;
	}
	return (int)a.changed;
}
