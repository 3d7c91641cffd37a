#!/usr/bin/python3
"""A FUSE filesystem that stops answering, for tests/diskreport.bats.

usage: diskreport_deadfs.py MOUNTPOINT

Mounts an empty filesystem (python3-fusepy) and stays in the foreground.
Its root can be looked at; every other request (statfs, a name under the
root) is taken by the daemon and never answered: the caller waits in the
kernel without being able to die, as on an NFS mount whose server went
away. Killing the daemon ends the connection and frees the callers.
"""
import errno
import stat
import sys
import threading
import time

from fusepy import FUSE, FuseOSError, Operations

NEVER = threading.Event()


class Dead(Operations):
    def getattr(self, path, fh=None):
        if path == "/":
            now = time.time()
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2,
                    "st_atime": now, "st_mtime": now, "st_ctime": now}
        NEVER.wait()
        raise FuseOSError(errno.EIO)

    def readdir(self, path, fh):
        return [".", ".."]

    def statfs(self, path):
        NEVER.wait()
        raise FuseOSError(errno.EIO)


if __name__ == "__main__":
    FUSE(Dead(), sys.argv[1], foreground=True, nothreads=False,
         fsname="deadfs", attr_timeout=0, entry_timeout=0)
