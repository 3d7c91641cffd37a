/* dirsync -X and -A: an entry's extended attributes and POSIX ACLs, read
 * from SRC, compared with DST's and applied to DST, as rsync -X / -A do.
 * ACLs are the raw system.posix_acl_access / _default attributes. */
#ifndef DIRSYNC_XATTR_H
#define DIRSYNC_XATTR_H

#include <stddef.h>

/* Which attributes a run copies: bits of "kinds". */
enum {
	XA_USER = 1 << 0,	/* user.*  (-X) */
	XA_TRUSTED = 1 << 1,	/* trusted.*  (-X, root only) */
	XA_SECURITY = 1 << 2,	/* security.*  (-X, root only) */
	XA_ACL = 1 << 3,	/* system.posix_acl_access, _default  (-A) */
	/* reading SRC: leave out rsync's own user.rsync.%* records, which
	 * rsync copies only with -XX (on DST they are ordinary extras) */
	XA_SOURCE = 1 << 4,
};
#define XA_XATTRS (XA_USER | XA_TRUSTED | XA_SECURITY)

struct ds_xattr {
	char *name;		/* one allocation: the name, then the value */
	const char *value;
	size_t len;
};

/* The attributes of one entry, sorted by name, of the kinds read. */
struct ds_xattrs {
	struct ds_xattr *v;
	size_t n, cap;
	unsigned kinds;
};

/* The kinds for -X (xattrs) and -A (acls): as root user, trusted and
 * security attributes; otherwise user ones only. */
unsigned ds_xattrs_kinds(int xattrs, int acls, int root);

/* Reads the attributes of fd (any open file, O_PATH too) or, when name
 * is not NULL, of name in the directory fd without following it (for
 * symlinks and special files). A filesystem without attributes reads as
 * none. A file with none costs one listxattr call and no allocation.
 * 0, or -1 with errno (xl then empty). */
int ds_xattrs_read(struct ds_xattrs *xl, int fd, const char *name, unsigned kinds);

/* The kinds in which dst differs from src: XA_ACL for rsync's 'a'
 * column (an access ACL counts only by its entries beyond the mode's
 * bits, as rsync's), any XA_XATTRS bit for its 'x' column. */
unsigned ds_xattrs_diff(const struct ds_xattrs *src, const struct ds_xattrs *dst);

/* Makes the attributes of fd (or name in the directory fd) of want's
 * kinds those of want: removes the others, sets those that differ.
 * have is what DST holds now, if already read (else NULL: read here).
 * Returns the kinds it changed; XA_ACL among them means DST's mode
 * changed too, so set the mode after this (always: see dirsync.1).
 * -1 with errno (ENOTSUP: DST's filesystem lacks some kind) and *failed
 * the attribute's name after trying all of them. */
int ds_xattrs_apply(int fd, const char *name, const struct ds_xattrs *want,
	const struct ds_xattrs *have, const char **failed);

void ds_xattrs_free(struct ds_xattrs *xl);

#endif
