/* placeholder until the xattr module lands */
#ifndef DIRSYNC_XATTR_H
#define DIRSYNC_XATTR_H
enum { XA_USER = 1, XA_TRUSTED = 2, XA_SECURITY = 4, XA_ACL = 8 };
#endif
