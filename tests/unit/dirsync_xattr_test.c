/* Unit tests of dirsync's -X/-A module on real files: reading, comparing
 * and applying extended attributes and raw POSIX ACLs. A group that
 * cannot run here prints "skip: REASON" and passes. */
#include "../../libbox/box.h"
#include "../../applets/dirsync/xattr.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/* A scratch directory with a file SRC and a file DST. */
struct scratch {
	char dir[64];
	int dfd, src, dst;
};

static int scratch_open(struct scratch *s, const char *base)
{
	snprintf(s->dir, sizeof(s->dir), "%s/ds_xattr.XXXXXX", base);
	if (!mkdtemp(s->dir))
		return -1;
	s->dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->src = openat(s->dfd, "src", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	s->dst = openat(s->dfd, "dst", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	return s->dfd >= 0 && s->src >= 0 && s->dst >= 0 ? 0 : -1;
}

static void scratch_close(struct scratch *s)
{
	char cmd[96];
	close(s->src);
	close(s->dst);
	close(s->dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	CHECK(system(cmd) == 0);
}

static int set(int fd, const char *name, const char *value)
{
	return fsetxattr(fd, name, value, strlen(value), 0);
}

/* The value of name in fd as a string, "" when absent. */
static const char *get(int fd, const char *name)
{
	static char v[256];
	ssize_t n = fgetxattr(fd, name, v, sizeof(v) - 1);
	v[n < 0 ? 0 : n] = 0;
	return v;
}

static int has(const struct ds_xattrs *xl, const char *name, const char *value)
{
	for (size_t i = 0; i < xl->n; i++)
		if (!strcmp(xl->v[i].name, name))
			return xl->v[i].len == strlen(value) && !memcmp(xl->v[i].value, value, xl->v[i].len);
	return 0;
}

/* Reads src and applies it to dst (or name in dfd) with kinds. */
static int copy_attrs(int src, int dst, const char *name, unsigned kinds)
{
	struct ds_xattrs xl;
	const char *failed = "";
	if (ds_xattrs_read(&xl, src, NULL, kinds) < 0)
		return -2;
	int r = ds_xattrs_apply(dst, name, &xl, NULL, &failed);
	ds_xattrs_free(&xl);
	return r;
}

static unsigned diff_of(int src, int dst, unsigned kinds)
{
	struct ds_xattrs a, b;
	CHECK(ds_xattrs_read(&a, src, NULL, kinds) == 0);
	CHECK(ds_xattrs_read(&b, dst, NULL, kinds & ~XA_SOURCE) == 0);
	unsigned d = ds_xattrs_diff(&a, &b);
	ds_xattrs_free(&a);
	ds_xattrs_free(&b);
	return d;
}

static const struct {
	int xattrs, acls, root;
	unsigned kinds;
} kinds_cases[] = {
	{ 0, 0, 1, 0 },
	{ 1, 0, 0, XA_USER },
	{ 1, 0, 1, XA_USER | XA_TRUSTED | XA_SECURITY },
	{ 0, 1, 0, XA_ACL },
	{ 0, 1, 1, XA_ACL },
	{ 1, 1, 0, XA_USER | XA_ACL },
	{ 1, 1, 1, XA_XATTRS | XA_ACL },
};

static void user_xattrs(void)
{
	struct scratch s;
	struct ds_xattrs xl;
	const char *failed = NULL;

	CHECK(scratch_open(&s, "/tmp") == 0);

	/* nothing to read: no entries, nothing allocated */
	CHECK(ds_xattrs_read(&xl, s.src, NULL, XA_XATTRS | XA_ACL) == 0);
	CHECK(xl.n == 0 && xl.v == NULL);
	ds_xattrs_free(&xl);
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_USER) == 0);

	/* read: sorted by name; rsync's user.rsync.%* records left out of SRC */
	CHECK(set(s.src, "user.zz", "last") == 0);
	CHECK(set(s.src, "user.aa", "first") == 0);
	CHECK(fsetxattr(s.src, "user.empty", "", 0, 0) == 0);
	CHECK(set(s.src, "user.rsync.%stat", "100644 0,0 0:0") == 0);
	CHECK(set(s.src, "user.rsync.kept", "k") == 0);
	CHECK(ds_xattrs_read(&xl, s.src, NULL, XA_USER | XA_SOURCE) == 0);
	CHECK(xl.n == 4);
	CHECK(xl.n == 4 && !strcmp(xl.v[0].name, "user.aa") && !strcmp(xl.v[3].name, "user.zz"));
	CHECK(has(&xl, "user.aa", "first") && has(&xl, "user.empty", "") &&
		has(&xl, "user.rsync.kept", "k") && has(&xl, "user.zz", "last"));
	ds_xattrs_free(&xl);
	CHECK(xl.n == 0 && xl.v == NULL);
	CHECK(ds_xattrs_read(&xl, s.src, NULL, XA_USER) == 0);
	CHECK(xl.n == 5 && has(&xl, "user.rsync.%stat", "100644 0,0 0:0"));
	ds_xattrs_free(&xl);
	/* kinds filter: -A alone reads no user.* */
	CHECK(ds_xattrs_read(&xl, s.src, NULL, XA_ACL) == 0);
	CHECK(xl.n == 0);
	ds_xattrs_free(&xl);

	/* compare: the 'x' column */
	CHECK(diff_of(s.src, s.dst, XA_USER | XA_SOURCE) == XA_USER);
	CHECK(diff_of(s.src, s.dst, XA_ACL | XA_SOURCE) == 0);

	/* apply: extras removed, values set, rsync's records not copied */
	CHECK(set(s.dst, "user.extra", "x") == 0);
	CHECK(set(s.dst, "user.aa", "stale") == 0);
	CHECK(set(s.dst, "user.rsync.%old", "o") == 0);
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_USER | XA_SOURCE) == XA_USER);
	CHECK(!strcmp(get(s.dst, "user.aa"), "first") && !strcmp(get(s.dst, "user.zz"), "last"));
	CHECK(fgetxattr(s.dst, "user.empty", NULL, 0) == 0);
	CHECK(fgetxattr(s.dst, "user.extra", NULL, 0) < 0 && errno == ENODATA);
	CHECK(fgetxattr(s.dst, "user.rsync.%old", NULL, 0) < 0 && errno == ENODATA);
	CHECK(fgetxattr(s.dst, "user.rsync.%stat", NULL, 0) < 0 && errno == ENODATA);
	CHECK(diff_of(s.src, s.dst, XA_USER | XA_SOURCE) == 0);
	/* the second time there is nothing to change */
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_USER | XA_SOURCE) == 0);

	/* apply with DST's list already read: the caller's itemize order */
	CHECK(set(s.src, "user.aa", "changed") == 0);
	struct ds_xattrs want, have;
	CHECK(ds_xattrs_read(&want, s.src, NULL, XA_USER | XA_SOURCE) == 0);
	CHECK(ds_xattrs_read(&have, s.dst, NULL, XA_USER) == 0);
	CHECK(ds_xattrs_diff(&want, &have) == XA_USER);
	CHECK(ds_xattrs_apply(s.dst, NULL, &want, &have, &failed) == XA_USER);
	CHECK(!strcmp(get(s.dst, "user.aa"), "changed"));
	ds_xattrs_free(&want);
	ds_xattrs_free(&have);

	/* an O_PATH descriptor is read and written through /proc */
	int opath = openat(s.dfd, "dst", O_PATH | O_CLOEXEC);
	CHECK(set(s.src, "user.opath", "yes") == 0);
	CHECK(copy_attrs(s.src, opath, NULL, XA_USER | XA_SOURCE) == XA_USER);
	CHECK(!strcmp(get(s.dst, "user.opath"), "yes"));
	CHECK(ds_xattrs_read(&xl, opath, NULL, XA_USER) == 0 && has(&xl, "user.opath", "yes"));
	ds_xattrs_free(&xl);
	close(opath);

	/* by name in a directory: a symlink is never followed */
	CHECK(symlinkat("dst", s.dfd, "link") == 0);
	CHECK(ds_xattrs_read(&xl, s.dfd, "link", XA_XATTRS) == 0 && xl.n == 0);
	ds_xattrs_free(&xl);
	/* Linux allows user.* on regular files and directories only */
	CHECK(ds_xattrs_read(&xl, s.src, NULL, XA_USER | XA_SOURCE) == 0);
	CHECK(ds_xattrs_apply(s.dfd, "link", &xl, NULL, &failed) == -1 && errno == EPERM);
	CHECK(failed && !strncmp(failed, "user.", 5));
	ds_xattrs_free(&xl);
	CHECK(!strcmp(get(s.dst, "user.aa"), "changed"));

	/* a directory, by descriptor */
	CHECK(mkdirat(s.dfd, "d1", 0755) == 0 && mkdirat(s.dfd, "d2", 0755) == 0);
	int d1 = openat(s.dfd, "d1", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int d2 = openat(s.dfd, "d2", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(set(d1, "user.dir", "d") == 0 && set(d2, "user.old", "o") == 0);
	CHECK(copy_attrs(d1, d2, NULL, XA_USER | XA_SOURCE) == XA_USER);
	CHECK(!strcmp(get(d2, "user.dir"), "d") && fgetxattr(d2, "user.old", NULL, 0) < 0);
	close(d1);
	close(d2);
	scratch_close(&s);
}

/* Entries by name and O_PATH fds: with the *xattrat calls where the
 * kernel has them, and through /proc as on kernels before 6.13. */
static void both_ways(void (*fn)(void))
{
	ds_xattrs_at = -1;
	fn();
	ds_xattrs_at = 0;
	fn();
	ds_xattrs_at = -1;
}

UNIT_GROUP(dirsync_xattr, "dirsync-xattr")
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(kinds_cases); i++)
		CHECK(ds_xattrs_kinds(kinds_cases[i].xattrs, kinds_cases[i].acls,
			kinds_cases[i].root) == kinds_cases[i].kinds);
	both_ways(user_xattrs);
}

/* As root: trusted.* and security.* are copied, also on symlinks; the
 * kinds of non-root runs leave DST's other namespaces alone. */
static void root_xattrs(void)
{
	struct scratch s;
	struct ds_xattrs xl;
	const char *failed = NULL;

	CHECK(scratch_open(&s, "/tmp") == 0);
	CHECK(set(s.src, "trusted.t", "1") == 0 && set(s.src, "security.s", "2") == 0);
	CHECK(set(s.src, "user.u", "3") == 0);
	CHECK(set(s.dst, "trusted.extra", "x") == 0 && set(s.dst, "security.extra", "x") == 0);
	/* a non-root run's kinds: user.* alone, DST's others stay */
	CHECK(copy_attrs(s.src, s.dst, NULL, ds_xattrs_kinds(1, 0, 0) | XA_SOURCE) == XA_USER);
	CHECK(!strcmp(get(s.dst, "user.u"), "3") && fgetxattr(s.dst, "trusted.t", NULL, 0) < 0);
	CHECK(!strcmp(get(s.dst, "trusted.extra"), "x") && !strcmp(get(s.dst, "security.extra"), "x"));
	/* root's kinds: all three namespaces */
	CHECK(diff_of(s.src, s.dst, ds_xattrs_kinds(1, 0, 1) | XA_SOURCE) == (XA_TRUSTED | XA_SECURITY));
	CHECK(copy_attrs(s.src, s.dst, NULL, ds_xattrs_kinds(1, 0, 1) | XA_SOURCE) ==
		(XA_TRUSTED | XA_SECURITY));
	CHECK(!strcmp(get(s.dst, "trusted.t"), "1") && !strcmp(get(s.dst, "security.s"), "2"));
	CHECK(fgetxattr(s.dst, "trusted.extra", NULL, 0) < 0 && fgetxattr(s.dst, "security.extra", NULL, 0) < 0);

	/* symlinks: trusted.* is allowed, read and written by name */
	CHECK(symlinkat("src", s.dfd, "l1") == 0 && symlinkat("dst", s.dfd, "l2") == 0);
	char p1[96], p2[96];
	snprintf(p1, sizeof(p1), "%s/l1", s.dir);
	snprintf(p2, sizeof(p2), "%s/l2", s.dir);
	CHECK(lsetxattr(p1, "trusted.link", "L", 1, 0) == 0);
	CHECK(lsetxattr(p2, "trusted.gone", "G", 1, 0) == 0);
	CHECK(ds_xattrs_read(&xl, s.dfd, "l1", XA_XATTRS) == 0);
	CHECK(xl.n == 1 && has(&xl, "trusted.link", "L"));
	CHECK(ds_xattrs_apply(s.dfd, "l2", &xl, NULL, &failed) == XA_TRUSTED);
	ds_xattrs_free(&xl);
	char v[8];
	CHECK(lgetxattr(p2, "trusted.link", v, sizeof(v)) == 1 && v[0] == 'L');
	CHECK(lgetxattr(p2, "trusted.gone", v, sizeof(v)) < 0 && errno == ENODATA);
	/* the symlinks' targets were not touched */
	CHECK(fgetxattr(s.dst, "trusted.link", NULL, 0) < 0);
	scratch_close(&s);
}

UNIT_GROUP(dirsync_xattr_root, "dirsync-xattr-root")
{
	if (geteuid() != 0) {
		printf("skip: needs root\n");
		return;
	}
	both_ways(root_xattrs);
}

/* ---- ACLs: raw values in the kernel's format ------------------------------ */

enum { USER_OBJ = 1, USER = 2, GROUP_OBJ = 4, GROUP = 8, MASK = 0x10, OTHER = 0x20 };

struct acl_entry {
	unsigned tag, perm, id;
};

/* Up to 8 entries, in the kernel's order (by tag, then id). */
static size_t acl_value(char *buf, const struct acl_entry *e, size_t n)
{
	unsigned char *p = (unsigned char *)buf;
	p[0] = 2;
	p[1] = p[2] = p[3] = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char *q = p + 4 + 8 * i;
		unsigned id = e[i].tag & (USER | GROUP) ? e[i].id : 0xffffffffu;
		q[0] = (unsigned char)e[i].tag;
		q[1] = 0;
		q[2] = (unsigned char)e[i].perm;
		q[3] = 0;
		for (int b = 0; b < 4; b++)
			q[4 + b] = (unsigned char)(id >> (8 * b));
	}
	return 4 + 8 * n;
}

static int set_acl(int fd, const char *name, const struct acl_entry *e, size_t n)
{
	char buf[4 + 8 * 8];
	return fsetxattr(fd, name, buf, acl_value(buf, e, n), 0);
}

#define ACCESS "system.posix_acl_access"
#define DEFAULT "system.posix_acl_default"

static mode_t mode_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

UNIT_GROUP(dirsync_xattr_acl, "dirsync-xattr-acl")
{
	/* u::rw- u:65534:rwx g::r-- m::rwx o::r--, i.e. mode 0674 */
	static const struct acl_entry nobody_rwx[] = {
		{ USER_OBJ, 6, 0 }, { USER, 7, 65534 }, { GROUP_OBJ, 4, 0 }, { MASK, 7, 0 }, { OTHER, 4, 0 },
	};
	/* the same grants under mode 0640: mask r--, others --- */
	static const struct acl_entry nobody_rwx_0640[] = {
		{ USER_OBJ, 6, 0 }, { USER, 7, 65534 }, { GROUP_OBJ, 4, 0 }, { MASK, 4, 0 }, { OTHER, 0, 0 },
	};
	static const struct acl_entry nobody_r[] = {
		{ USER_OBJ, 6, 0 }, { USER, 4, 65534 }, { GROUP_OBJ, 4, 0 }, { MASK, 4, 0 }, { OTHER, 4, 0 },
	};
	static const struct acl_entry group_rw[] = {
		{ USER_OBJ, 6, 0 }, { USER, 7, 65534 }, { GROUP_OBJ, 6, 0 }, { MASK, 7, 0 }, { OTHER, 4, 0 },
	};
	static const struct acl_entry dir_default[] = {
		{ USER_OBJ, 7, 0 }, { USER, 5, 65534 }, { GROUP_OBJ, 5, 0 }, { MASK, 5, 0 }, { OTHER, 5, 0 },
	};
	struct scratch s;

	CHECK(scratch_open(&s, "/tmp") == 0);
	if (set_acl(s.src, ACCESS, nobody_rwx, 5) < 0 && errno == EOPNOTSUPP) {
		printf("skip: /tmp has no POSIX ACLs\n");
		scratch_close(&s);
		return;
	}
	CHECK(mode_of(s.src) == 0674);
	CHECK(set(s.src, "user.u", "1") == 0);

	/* -X alone neither copies nor removes ACLs, -A alone no user.* */
	CHECK(diff_of(s.src, s.dst, XA_USER | XA_SOURCE) == XA_USER);
	CHECK(diff_of(s.src, s.dst, XA_ACL | XA_SOURCE) == (XA_ACL | XA_ACCESS_ACL));
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_USER | XA_SOURCE) == XA_USER);
	CHECK(fgetxattr(s.dst, ACCESS, NULL, 0) < 0 && errno == ENODATA);
	CHECK(set(s.dst, "user.u", "other") == 0);
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_ACL | XA_SOURCE) == XA_ACL);
	CHECK(!strcmp(get(s.dst, "user.u"), "other"));
	/* the raw ACL carries SRC's permission bits: DST's mode follows */
	CHECK(mode_of(s.dst) == 0674);
	CHECK(diff_of(s.src, s.dst, XA_ACL | XA_SOURCE) == 0);

	/* a mode change alone is the mode's ('p'), not the ACL's ('a') */
	CHECK(fchmod(s.dst, 0640) == 0);
	CHECK(diff_of(s.src, s.dst, XA_ACL | XA_SOURCE) == 0);
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_ACL | XA_SOURCE) == 0);
	CHECK(set_acl(s.dst, ACCESS, nobody_rwx_0640, 5) == 0);
	CHECK(diff_of(s.src, s.dst, XA_ACL | XA_SOURCE) == 0);
	/* other grants, or another owning group under a mask, are the ACL's */
	CHECK(set_acl(s.dst, ACCESS, nobody_r, 5) == 0);
	CHECK(diff_of(s.src, s.dst, XA_ACL | XA_SOURCE) == (XA_ACL | XA_ACCESS_ACL));
	CHECK(set_acl(s.dst, ACCESS, group_rw, 5) == 0);
	CHECK(diff_of(s.src, s.dst, XA_ACL | XA_SOURCE) == (XA_ACL | XA_ACCESS_ACL));
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_ACL | XA_SOURCE) == XA_ACL);
	CHECK(diff_of(s.src, s.dst, XA_ACL | XA_SOURCE) == 0);
	/* then the mode is set: the mask follows the group bits */
	CHECK(fchmod(s.dst, 0640) == 0 && mode_of(s.dst) == 0640);

	/* SRC without an ACL: DST's is removed, its mode left to the caller */
	CHECK(fremovexattr(s.src, ACCESS) == 0);
	CHECK(diff_of(s.src, s.dst, XA_ACL | XA_SOURCE) == (XA_ACL | XA_ACCESS_ACL));
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_ACL | XA_SOURCE) == XA_ACL);
	CHECK(fgetxattr(s.dst, ACCESS, NULL, 0) < 0 && errno == ENODATA);
	CHECK(diff_of(s.src, s.dst, XA_ACL | XA_SOURCE) == 0);

	/* directories: the default ACL is compared whole, copied, removed;
	 * it does not set the mode (no XA_ACCESS_ACL) */
	CHECK(mkdirat(s.dfd, "d1", 0755) == 0 && mkdirat(s.dfd, "d2", 0755) == 0);
	int d1 = openat(s.dfd, "d1", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int d2 = openat(s.dfd, "d2", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(set_acl(d1, DEFAULT, dir_default, 5) == 0);
	CHECK(diff_of(d1, d2, XA_ACL | XA_SOURCE) == XA_ACL);
	CHECK(copy_attrs(d1, d2, NULL, XA_ACL | XA_SOURCE) == XA_ACL);
	CHECK(diff_of(d1, d2, XA_ACL | XA_SOURCE) == 0);
	CHECK(mode_of(d2) == 0755);
	/* a file created below inherits it: applying SRC's removes that */
	int f = openat(d2, "new", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	CHECK(f >= 0 && fgetxattr(f, ACCESS, NULL, 0) > 0);
	CHECK(diff_of(s.src, f, XA_ACL | XA_SOURCE) == (XA_ACL | XA_ACCESS_ACL));
	CHECK(copy_attrs(s.src, f, NULL, XA_ACL | XA_SOURCE) == XA_ACL);
	CHECK(fgetxattr(f, ACCESS, NULL, 0) < 0);
	close(f);
	/* so is a subdirectory's inherited default ACL */
	CHECK(mkdirat(d2, "sub", 0755) == 0);
	int sub = openat(d2, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fgetxattr(sub, DEFAULT, NULL, 0) > 0);
	CHECK(copy_attrs(s.src, sub, NULL, XA_ACL | XA_SOURCE) == XA_ACL);
	CHECK(fgetxattr(sub, DEFAULT, NULL, 0) < 0 && fgetxattr(sub, ACCESS, NULL, 0) < 0);
	close(sub);
	/* a different default ACL, then none */
	CHECK(set_acl(d2, DEFAULT, nobody_r, 5) == 0);
	CHECK(diff_of(d1, d2, XA_ACL | XA_SOURCE) == XA_ACL);
	CHECK(fremovexattr(d1, DEFAULT) == 0);
	CHECK(copy_attrs(d1, d2, NULL, XA_ACL | XA_SOURCE) == XA_ACL);
	CHECK(fgetxattr(d2, DEFAULT, NULL, 0) < 0 && errno == ENODATA);
	CHECK(copy_attrs(d1, d2, NULL, XA_ACL | XA_SOURCE) == 0);
	close(d1);
	close(d2);
	scratch_close(&s);
}

/* ---- limits: big values, many names, filesystems without attributes ------- */

/* A value of the kernel's largest size, and 1,000 names: on tmpfs
 * (/dev/shm), since ext4 keeps an inode's attributes in one block. */
static void big_and_many(void)
{
	struct scratch s;
	static char big[65536], back[65536];
	char name[32];

	if (scratch_open(&s, "/dev/shm") < 0 || fsetxattr(s.src, "user.probe", "", 0, 0) < 0) {
		printf("skip: /dev/shm has no user.* attributes\n");
		if (s.dfd >= 0)
			scratch_close(&s);
		return;
	}
	fremovexattr(s.src, "user.probe");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 251);
	CHECK(fsetxattr(s.src, "user.big", big, sizeof(big), 0) == 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "user.n%04d", i);
		CHECK(set(s.src, name, name + 5) == 0);
		if (i % 3 == 0)
			CHECK(set(s.dst, name, "old") == 0);
		snprintf(name, sizeof(name), "user.extra%04d", i);
		if (i % 5 == 0)
			CHECK(set(s.dst, name, "x") == 0);
	}
	CHECK(diff_of(s.src, s.dst, XA_USER | XA_SOURCE) == XA_USER);
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_USER | XA_SOURCE) == XA_USER);
	CHECK(fgetxattr(s.dst, "user.big", back, sizeof(back)) == (ssize_t)sizeof(big));
	CHECK(!memcmp(big, back, sizeof(big)));
	CHECK(!strcmp(get(s.dst, "user.n0000"), "n0000") && !strcmp(get(s.dst, "user.n0999"), "n0999"));
	CHECK(fgetxattr(s.dst, "user.extra0005", NULL, 0) < 0 && errno == ENODATA);
	CHECK(diff_of(s.src, s.dst, XA_USER | XA_SOURCE) == 0);
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_USER | XA_SOURCE) == 0);
	/* one byte changed at the end of the big value */
	big[sizeof(big) - 1] ^= 1;
	CHECK(fsetxattr(s.src, "user.big", big, sizeof(big), 0) == 0);
	CHECK(diff_of(s.src, s.dst, XA_USER | XA_SOURCE) == XA_USER);
	CHECK(copy_attrs(s.src, s.dst, NULL, XA_USER | XA_SOURCE) == XA_USER);
	CHECK(fgetxattr(s.dst, "user.big", back, sizeof(back)) == (ssize_t)sizeof(big));
	CHECK(!memcmp(big, back, sizeof(big)));
	scratch_close(&s);
}

/* /proc has no extended attributes: it reads as none, and applying some
 * fails with ENOTSUP naming one, the caller's partial transfer. */
static void unsupported(void)
{
	struct scratch s;
	struct ds_xattrs xl, none = { .kinds = XA_USER };
	const char *failed = NULL;
	int proc = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);

	CHECK(proc >= 0);
	CHECK(ds_xattrs_read(&xl, proc, NULL, XA_XATTRS | XA_ACL) == 0 && xl.n == 0);
	CHECK(ds_xattrs_apply(proc, NULL, &none, NULL, &failed) == 0);
	CHECK(scratch_open(&s, "/tmp") == 0);
	CHECK(set(s.src, "user.a", "1") == 0 && set(s.src, "user.b", "2") == 0);
	CHECK(ds_xattrs_read(&xl, s.src, NULL, XA_USER | XA_SOURCE) == 0 && xl.n == 2);
	errno = 0;
	CHECK(ds_xattrs_apply(proc, NULL, &xl, NULL, &failed) == -1);
	CHECK(errno == ENOTSUP && failed && !strcmp(failed, "user.a"));
	ds_xattrs_free(&xl);
	close(proc);
	scratch_close(&s);
}

/* Not root: user.* needs write permission even for the owner, so a 0444
 * file or a 0555 directory gets u+w lent while its attributes change. */
static void read_only_as_owner(void)
{
	struct scratch s;
	CHECK(scratch_open(&s, "/tmp") == 0);
	CHECK(set(s.src, "user.a", "1") == 0);
	CHECK(mkdirat(s.dfd, "d", 0755) == 0);
	int d = openat(s.dfd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(set(d, "user.old", "o") == 0);
	CHECK(fchmod(s.dst, 0444) == 0 && fchmod(d, 0555) == 0);
	if (geteuid() == 0) {
		CHECK(chmod(s.dir, 0755) == 0);
		CHECK(fchown(s.src, 65534, 65534) == 0 && fchown(s.dst, 65534, 65534) == 0);
		CHECK(fchown(d, 65534, 65534) == 0);
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		int ok = copy_attrs(s.src, s.dst, NULL, XA_USER | XA_SOURCE) == XA_USER &&
			!strcmp(get(s.dst, "user.a"), "1") && mode_of(s.dst) == 0444 &&
			copy_attrs(s.src, d, NULL, XA_USER | XA_SOURCE) == XA_USER &&
			fgetxattr(d, "user.old", NULL, 0) < 0 && mode_of(d) == 0555;
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(d);
	scratch_close(&s);
}

UNIT_GROUP(dirsync_xattr_limits, "dirsync-xattr-limits")
{
	big_and_many();
	unsupported();
	read_only_as_owner();
}
