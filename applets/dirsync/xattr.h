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
	/* ds_xattrs_diff: the access ACL differs, so applying it sets DST's
	 * permission bits (rsync's itemize then compares the mode with that) */
	XA_ACCESS_ACL = 1 << 5,
};
#define XA_XATTRS (XA_USER | XA_TRUSTED | XA_SECURITY)

struct ds_xattr {
	char *name;		/* in the list's data: the name, then the value */
	const char *value;
	size_t len;
};

/* The attributes of one entry, sorted by name, of the kinds read. */
struct ds_xattrs {
	struct ds_xattr *v;
	size_t n, cap;
	char *data;		/* the names and values */
	size_t dcap;
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
/* The same into a list read before (or zeroed), reusing its memory. */
int ds_xattrs_reread(struct ds_xattrs *xl, int fd, const char *name, unsigned kinds);

/* The kinds in which dst differs from src: XA_ACL for rsync's 'a'
 * column (an access ACL counts only by its entries beyond the mode's
 * bits, as rsync's; XA_ACCESS_ACL too when it is that one), any
 * XA_XATTRS bit for its 'x' column. */
unsigned ds_xattrs_diff(const struct ds_xattrs *src, const struct ds_xattrs *dst);

/* Makes the attributes of fd (or name in the directory fd) of want's
 * kinds those of want: removes the others, sets those that differ, the
 * ACLs last. have is what that entry holds now if already read (with
 * want's kinds less XA_SOURCE), else NULL: read here. Call it after
 * the owner is set (chown drops security.capability) and before the
 * mode: an access ACL sets the permission bits, and the mode's group
 * bits then set the ACL's mask. Returns the kinds it changed, or -1
 * with errno and *failed the first attribute that could not be set or
 * removed (NULL: DST's list could not be read), after trying them all;
 * ENOTSUP: DST's filesystem lacks that kind. Not root, user.* needs
 * write permission: a file or directory (by fd) without u+w gets it
 * lent meanwhile, as rsync does. */
int ds_xattrs_apply(int fd, const char *name, const struct ds_xattrs *want,
	const struct ds_xattrs *have, const char **failed);

void ds_xattrs_free(struct ds_xattrs *xl);

/* Whether entries by name are reached with the *xattrat calls of Linux
 * 6.13 (1) or through /proc (0); -1: see on first use. Tests set it. */
extern int ds_xattrs_at;
/* Decides it now: before a second thread reads attributes too. */
void ds_xattrs_probe(void);

#endif
