#!/usr/bin/python3
"""treecmp.py [OPTIONS] A B: compare two trees and print every difference.

Exit 0 when equal, 1 when different, 2 on an error (A or B missing, an entry
that cannot be read).

Compared for every entry, the top directories included: type, mode (07777),
owner and group, size (regular files), mtime in nanoseconds (symlinks and
directories too), symlink target, device numbers (devices), content,
xattrs of every readable namespace (so POSIX ACLs, which are the
system.posix_acl_access/default xattrs), and hard-link groups: the
partition of the non-directory paths by inode must be the same on both
sides. Links to inodes outside the tree do not count.

Options:
  --no-owner         do not compare owner and group (runs as non-root)
  --no-xattrs        do not compare xattrs (ACLs included)
  --no-acls          do not compare the system.posix_acl_* xattrs
  --no-hardlinks     do not compare hard-link groups
  --no-mtime         do not compare mtimes at all
  --no-dir-mtime     do not compare directory mtimes
  --no-top           do not compare the attributes of the top entries
  --modify-window S  mtimes within S seconds (a float) are equal, as rsync's
  --exclude REL      skip the entry REL (relative to the tops, repeatable)
  -q                 print nothing, only the exit code

The walk is iterative and holds only two directory descriptors at a time,
so trees deeper than PATH_MAX and than the descriptor limit compare fine.
rsync copies directory, symlink and special-file mtimes to the nanosecond
only with -@-1 (--modify-window=-1); compare with that.
Output: one line per difference, "PATH: what: A-value | B-value", names
escaped as rsync does (\\#ooo for control bytes and invalid UTF-8).
"""

import os
import stat
import sys

TYPES = [
    (stat.S_ISDIR, "d"), (stat.S_ISREG, "f"), (stat.S_ISLNK, "l"),
    (stat.S_ISCHR, "c"), (stat.S_ISBLK, "b"), (stat.S_ISFIFO, "p"),
    (stat.S_ISSOCK, "s"),
]
NAMES = {"d": "directory", "f": "file", "l": "symlink", "c": "char device",
         "b": "block device", "p": "fifo", "s": "socket", "?": "unknown"}


def ftype(mode):
    for test, letter in TYPES:
        if test(mode):
            return letter
    return "?"


def esc(path):
    """rsync's escaping: control bytes and invalid UTF-8 as \\#ooo; a path
    of more than 64 components is shortened in its middle."""
    parts = path.split("/")
    if len(parts) > 64:
        path = "/".join(parts[:16] + ["...(%d more)..." % (len(parts) - 32)] + parts[-16:])
    b = os.fsencode(path)
    out = []
    i = 0
    while i < len(b):
        c = b[i]
        if c < 0x20 or c == 0x7f:
            out.append("\\#%03o" % c)
            i += 1
            continue
        if c < 0x80:
            out.append(chr(c))
            i += 1
            continue
        n = 2 if c >> 5 == 6 else 3 if c >> 4 == 14 else 4 if c >> 3 == 30 else 0
        try:
            if n == 0:
                raise UnicodeDecodeError("utf-8", b, i, i + 1, "bad")
            out.append(b[i:i + n].decode("utf-8"))
            i += n
        except UnicodeDecodeError:
            out.append("\\#%03o" % c)
            i += 1
    return "".join(out)


class Cmp:
    def __init__(self, opts):
        self.o = opts
        self.ndiff = 0
        self.nerr = 0
        # hard links: path -> (inode key A, inode key B); inode key -> paths
        self.links = {}
        self.groups = ({}, {})
        self.uniq = 0

    def diff(self, path, what, a="", b=""):
        self.ndiff += 1
        if not self.o["q"]:
            if a == "" and b == "":
                print("%s: %s" % (esc(path), what))
            else:
                print("%s: %s: %s | %s" % (esc(path), what, a, b))

    def error(self, path, msg):
        self.nerr += 1
        print("treecmp: %s: %s" % (esc(path), msg), file=sys.stderr)

    # ---- one entry
    def xattrs(self, where, path):
        """where: a path usable with l*xattr (may be /proc/self/fd/N/name)."""
        res = {}
        try:
            names = os.listxattr(where, follow_symlinks=False)
        except OSError as e:
            if e.errno in (95,):  # EOPNOTSUPP: the filesystem has none
                return res
            self.error(path, "listxattr: " + e.strerror)
            return res
        for n in names:
            if n.startswith("system.posix_acl_") and self.o["no_acls"]:
                continue
            try:
                res[n] = os.getxattr(where, n, follow_symlinks=False)
            except OSError as e:
                if e.errno == 61:  # ENODATA: gone since the listing
                    continue
                self.error(path, "getxattr %s: %s" % (n, e.strerror))
        return res

    def attrs(self, path, sa, sb, xa, xb, top=False):
        ta, tb = ftype(sa.st_mode), ftype(sb.st_mode)
        if ta != tb:
            self.diff(path, "type", NAMES[ta], NAMES[tb])
            return False
        if top and self.o["no_top"]:
            return True
        o = self.o
        if ta != "l" and stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode):
            self.diff(path, "mode", "%04o" % stat.S_IMODE(sa.st_mode),
                      "%04o" % stat.S_IMODE(sb.st_mode))
        if not o["no_owner"]:
            if sa.st_uid != sb.st_uid:
                self.diff(path, "owner", sa.st_uid, sb.st_uid)
            if sa.st_gid != sb.st_gid:
                self.diff(path, "group", sa.st_gid, sb.st_gid)
        if ta == "f" and sa.st_size != sb.st_size:
            self.diff(path, "size", sa.st_size, sb.st_size)
        if ta in "cb" and sa.st_rdev != sb.st_rdev:
            self.diff(path, "device", "%d,%d" % (os.major(sa.st_rdev), os.minor(sa.st_rdev)),
                      "%d,%d" % (os.major(sb.st_rdev), os.minor(sb.st_rdev)))
        if not o["no_mtime"] and not (ta == "d" and o["no_dir_mtime"]):
            d = abs(sa.st_mtime_ns - sb.st_mtime_ns)
            if d > o["window_ns"]:
                self.diff(path, "mtime", sa.st_mtime_ns, sb.st_mtime_ns)
        if xa != xb:
            for n in sorted(set(xa) | set(xb)):
                va, vb = xa.get(n), xb.get(n)
                if va != vb:
                    self.diff(path, "xattr " + n,
                              "-" if va is None else va.hex() or "(empty)",
                              "-" if vb is None else vb.hex() or "(empty)")
        return True

    def content(self, path, fa, fb):
        try:
            while True:
                a = os.read(fa, 1 << 20)
                b = os.read(fb, 1 << 20)
                # read() on a regular file returns what was asked unless at EOF
                while len(a) != len(b):
                    if len(a) < len(b):
                        more = os.read(fa, len(b) - len(a))
                        if not more:
                            break
                        a += more
                    else:
                        more = os.read(fb, len(a) - len(b))
                        if not more:
                            break
                        b += more
                if a != b:
                    self.diff(path, "content")
                    return
                if not a:
                    return
        except OSError as e:
            self.error(path, "read: " + e.strerror)

    def linkkey(self, side, st):
        if stat.S_ISDIR(st.st_mode):
            return None
        if st.st_nlink < 2:
            self.uniq += 1
            return ("u", self.uniq)
        return (st.st_dev, st.st_ino)

    def note_links(self, path, sa, sb):
        if self.o["no_hardlinks"]:
            return
        ka, kb = self.linkkey(0, sa), self.linkkey(1, sb)
        if ka is None or kb is None or (ka[0] == "u" and kb[0] == "u"):
            return
        self.links[path] = (ka, kb)
        self.groups[0].setdefault(ka, []).append(path)
        self.groups[1].setdefault(kb, []).append(path)

    def check_links(self):
        seen = set()
        for path in sorted(self.links):
            ka, kb = self.links[path]
            ga = sorted(self.groups[0].get(ka, [path]))
            gb = sorted(self.groups[1].get(kb, [path]))
            if ga != gb:
                key = (tuple(ga), tuple(gb))
                if key in seen:
                    continue
                seen.add(key)
                self.diff(path, "hard links",
                          "[" + ", ".join(esc(p) for p in ga) + "]",
                          "[" + ", ".join(esc(p) for p in gb) + "]")

    # ---- the walk
    def count_below(self, fd, name):
        """Entries below directory NAME (for a directory only one side has)."""
        n = 0
        try:
            stack = [os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)]
        except OSError:
            return 0
        try:
            # bounded by the descriptor limit; deep one-sided trees just stop counting
            while stack:
                d = stack.pop()
                try:
                    for e in os.listdir(d):
                        n += 1
                        st = os.stat(e, dir_fd=d, follow_symlinks=False)
                        if stat.S_ISDIR(st.st_mode) and len(stack) < 200:
                            try:
                                stack.append(os.open(e, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=d))
                            except OSError:
                                pass
                finally:
                    os.close(d)
        finally:
            for d in stack:
                os.close(d)
        return n

    def run(self, a, b):
        try:
            sa, sb = os.stat(a), os.stat(b)
        except OSError as e:
            self.error(e.filename or "", e.strerror)
            return 2
        xa = {} if self.o["no_xattrs"] else self.xattrs(a, ".")
        xb = {} if self.o["no_xattrs"] else self.xattrs(b, ".")
        if not self.attrs(".", sa, sb, xa, xb, top=True):
            return self.result()
        if ftype(sa.st_mode) == "f":
            with open(a, "rb") as fa, open(b, "rb") as fb:
                self.content(".", fa.fileno(), fb.fileno())
            return self.result()
        if ftype(sa.st_mode) != "d":
            if ftype(sa.st_mode) == "l" and os.readlink(a) != os.readlink(b):
                self.diff(".", "symlink target", os.readlink(a), os.readlink(b))
            return self.result()
        flags = os.O_RDONLY | os.O_DIRECTORY
        fds = [os.open(a, flags), os.open(b, flags)]
        self.walk(fds, sa, sb)
        self.check_links()
        return self.result()

    def result(self):
        if self.nerr:
            return 2
        return 1 if self.ndiff else 0

    def listing(self, fds, path):
        out = []
        for fd in fds:
            try:
                out.append(set(os.listdir(fd)))
            except OSError as e:
                self.error(path(), "listdir: " + e.strerror)
                out.append(set())
        return out

    def walk(self, fds, sa, sb):
        """Depth first, in lockstep, two descriptors open at a time: going
        down opens the child from the parent's descriptors, going up opens
        '..' and checks it is the parent recorded on the way down. Frames
        keep a name, not a path: a path is built only when needed."""
        excl = self.o["exclude"]
        xon = not self.o["no_xattrs"]
        la, lb = self.listing(fds, lambda: ".")
        # frame: [name, sorted names, next index, (dev, ino) A, (dev, ino) B, set A, set B]
        stack = [[".", sorted(la | lb), 0, (sa.st_dev, sa.st_ino), (sb.st_dev, sb.st_ino), la, lb]]

        def pathof(name):
            if len(stack) == 1:
                return name
            return "/".join([f[0] for f in stack[1:]] + [name])

        while stack:
            fr = stack[-1]
            names, i = fr[1], fr[2]
            if i == len(names):
                stack.pop()
                if not stack:
                    break
                up = []
                for side, fd in enumerate(fds):
                    u = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                    st = os.fstat(u)
                    if (st.st_dev, st.st_ino) != stack[-1][3 + side]:
                        raise RuntimeError("the tree changed under the comparison at "
                                           + esc(pathof(fr[0])))
                    os.close(fd)
                    up.append(u)
                fds = up
                continue
            fr[2] = i + 1
            name = names[i]
            if excl and pathof(name) in excl:
                continue
            ina, inb = name in fr[5], name in fr[6]
            if not (ina and inb):
                side = 0 if ina else 1
                try:
                    st = os.stat(name, dir_fd=fds[side], follow_symlinks=False)
                    t = ftype(st.st_mode)
                    extra = ""
                    if t == "d":
                        extra = ", %d entries below" % self.count_below(fds[side], name)
                    self.diff(pathof(name), "only in %s (%s%s)" % ("AB"[side], NAMES[t], extra))
                except OSError as e:
                    self.error(pathof(name), "lstat: " + e.strerror)
                continue
            try:
                sa = os.stat(name, dir_fd=fds[0], follow_symlinks=False)
                sb = os.stat(name, dir_fd=fds[1], follow_symlinks=False)
            except OSError as e:
                self.error(pathof(name), "lstat: " + e.strerror)
                continue
            if xon:
                xa = self.xattrs("/proc/self/fd/%d/%s" % (fds[0], name), name)
                xb = self.xattrs("/proc/self/fd/%d/%s" % (fds[1], name), name)
            else:
                xa = xb = {}
            if (xa != xb or self.quick_differs(sa, sb)) and not self.attrs(pathof(name), sa, sb, xa, xb):
                continue
            t = ftype(sa.st_mode)
            if t != "d" and (sa.st_nlink > 1 or sb.st_nlink > 1):
                self.note_links(pathof(name), sa, sb)
            if t == "l":
                ra = os.readlink(name, dir_fd=fds[0])
                rb = os.readlink(name, dir_fd=fds[1])
                if ra != rb:
                    self.diff(pathof(name), "symlink target", esc(ra), esc(rb))
            elif t == "f":
                if sa.st_size != sb.st_size:
                    continue
                try:
                    fa = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fds[0])
                    try:
                        fb = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fds[1])
                        try:
                            self.content(pathof(name), fa, fb)
                        finally:
                            os.close(fb)
                    finally:
                        os.close(fa)
                except OSError as e:
                    self.error(pathof(name), "open: " + e.strerror)
            elif t == "d":
                down = []
                try:
                    for fd in fds:
                        down.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd))
                except OSError as e:
                    for d in down:
                        os.close(d)
                    self.error(pathof(name), "open: " + e.strerror)
                    continue
                stack.append([name, [], 0, (sa.st_dev, sa.st_ino), (sb.st_dev, sb.st_ino), set(), set()])
                la, lb = self.listing(down, lambda: "/".join(f[0] for f in stack[1:]))
                stack[-1][1:] = [sorted(la | lb), 0, (sa.st_dev, sa.st_ino),
                                 (sb.st_dev, sb.st_ino), la, lb]
                for fd in fds:
                    os.close(fd)
                fds = down
        for fd in fds:
            os.close(fd)

    def quick_differs(self, sa, sb):
        """True when attrs() could find something (it then builds the path)."""
        o = self.o
        t = ftype(sa.st_mode)
        if t != ftype(sb.st_mode):
            return True
        if t != "l" and stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode):
            return True
        if not o["no_owner"] and (sa.st_uid, sa.st_gid) != (sb.st_uid, sb.st_gid):
            return True
        if t == "f" and sa.st_size != sb.st_size:
            return True
        if t in "cb" and sa.st_rdev != sb.st_rdev:
            return True
        if not o["no_mtime"] and not (t == "d" and o["no_dir_mtime"]):
            return abs(sa.st_mtime_ns - sb.st_mtime_ns) > o["window_ns"]
        return False


def main(argv):
    o = {"no_owner": False, "no_xattrs": False, "no_acls": False,
         "no_hardlinks": False, "no_mtime": False, "no_dir_mtime": False,
         "no_top": False, "window_ns": 0, "exclude": set(), "q": False}
    args = []
    it = iter(argv)
    for a in it:
        if a in ("--no-owner", "--no-xattrs", "--no-acls", "--no-hardlinks",
                 "--no-mtime", "--no-dir-mtime", "--no-top"):
            o[a[2:].replace("-", "_")] = True
        elif a == "-q":
            o["q"] = True
        elif a == "--modify-window":
            try:
                o["window_ns"] = int(float(next(it)) * 1e9)
            except (StopIteration, ValueError):
                print("treecmp: --modify-window needs seconds", file=sys.stderr)
                return 2
        elif a == "--exclude":
            try:
                o["exclude"].add(next(it).strip("/"))
            except StopIteration:
                print("treecmp: --exclude needs a path", file=sys.stderr)
                return 2
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        elif a == "--":
            args.extend(it)
        elif a.startswith("-") and len(a) > 1:
            print("treecmp: unknown option " + a, file=sys.stderr)
            return 2
        else:
            args.append(a)
    if len(args) != 2:
        print("usage: treecmp.py [OPTIONS] A B", file=sys.stderr)
        return 2
    try:
        return Cmp(o).run(args[0], args[1])
    except (OSError, RuntimeError) as e:
        print("treecmp: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
