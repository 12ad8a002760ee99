"""A pass-through FUSE file system for the read-only store case of test/reliability/3-store.test.ts.

    /usr/bin/python3 passthrough-fs.py BACKING MOUNTPOINT

Serves the files of BACKING at MOUNTPOINT, in the foreground, until MOUNTPOINT is unmounted. It prints
"mounted" once the kernel has initialised the mount.

Why it exists: Linux refuses `mount -o remount,ro` (EBUSY) while any process holds a file of that file
system open for writing, and a running SQLite connection always holds its database, WAL and shm files
so. This layer opens the BACKING file for each operation and closes it at once, so that BACKING can be
remounted read-only while the gateway (which opens its files on MOUNTPOINT) keeps them open; from then
on the gateway's writes fail with the errors of a read-only file system (EROFS), as the kernel answers
them for BACKING, until BACKING is remounted read-write. Nothing else is changed or emulated: every
answer is the one the backing file system gave. Locks stay in the kernel (there is no `lock`
operation). Needs the Debian package python3-fusepy (module `fusepy`).
"""

import os
import sys

import fusepy


class Passthrough(fusepy.Operations):
    use_ns = True

    def __init__(self, root):
        self.root = root

    def _p(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    def init(self, path):
        sys.stdout.write('mounted\n')
        sys.stdout.flush()

    def getattr(self, path, fh=None):
        st = os.lstat(self._p(path))
        return {
            'st_mode': st.st_mode, 'st_ino': st.st_ino, 'st_nlink': st.st_nlink, 'st_uid': st.st_uid, 'st_gid': st.st_gid,
            'st_size': st.st_size, 'st_blocks': st.st_blocks, 'st_blksize': st.st_blksize,
            'st_atime': st.st_atime_ns, 'st_mtime': st.st_mtime_ns, 'st_ctime': st.st_ctime_ns,
        }

    def access(self, path, amode):
        if not os.access(self._p(path), amode):
            raise fusepy.FuseOSError(13)  # EACCES
        return 0

    def readdir(self, path, fh):
        return ['.', '..'] + os.listdir(self._p(path))

    def readlink(self, path):
        return os.readlink(self._p(path))

    def statfs(self, path):
        s = os.statvfs(self._p(path))
        keys = ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')
        return {k: getattr(s, k) for k in keys}

    # Opening checks what the backing file system allows (a read-only one refuses O_WRONLY and O_RDWR)
    # and keeps nothing open.
    def open(self, path, flags):
        os.close(os.open(self._p(path), flags & os.O_ACCMODE))
        return 0

    def create(self, path, mode, fi=None):
        os.close(os.open(self._p(path), os.O_WRONLY | os.O_CREAT, mode))
        return 0

    def read(self, path, size, offset, fh):
        fd = os.open(self._p(path), os.O_RDONLY)
        try:
            return os.pread(fd, size, offset)
        finally:
            os.close(fd)

    def write(self, path, data, offset, fh):
        fd = os.open(self._p(path), os.O_WRONLY)
        try:
            return os.pwrite(fd, data, offset)
        finally:
            os.close(fd)

    def truncate(self, path, length, fh=None):
        os.truncate(self._p(path), length)

    def fsync(self, path, datasync, fh):
        fd = os.open(self._p(path), os.O_RDONLY)
        try:
            if datasync:
                os.fdatasync(fd)
            else:
                os.fsync(fd)
        finally:
            os.close(fd)
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        return 0

    def unlink(self, path):
        os.unlink(self._p(path))

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def rmdir(self, path):
        os.rmdir(self._p(path))

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._p(path), uid, gid)

    def utimens(self, path, times=None):
        if times is None:
            os.utime(self._p(path))
        else:
            os.utime(self._p(path), ns=times)
        return 0

    def symlink(self, target, source):
        os.symlink(source, self._p(target))

    def link(self, target, source):
        os.link(self._p(source), self._p(target))


if __name__ == '__main__':
    backing, mountpoint = sys.argv[1], sys.argv[2]
    fusepy.FUSE(Passthrough(os.path.abspath(backing)), mountpoint, foreground=True, use_ino=True, fsname='omgw-passthrough')
