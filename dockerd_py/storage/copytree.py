"""Copy a directory tree exactly: owners, modes, times, xattrs, hard links,
symlinks, device nodes and FIFOs (shutil.copytree would read a FIFO and hang)."""
from __future__ import annotations

import errno
import os
import stat


def copy_tree(src: str, dst: str) -> None:
    """Copy the contents of src into the existing directory dst."""
    links: dict[tuple[int, int], str] = {}
    dirs: list[tuple[str, os.stat_result]] = []
    _copy_dir(src, dst, links, dirs)
    _copy_meta_path(src, dst, os.lstat(src))
    for path, st in reversed(dirs):
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_dir(src: str, dst: str, links: dict[tuple[int, int], str],
              dirs: list[tuple[str, os.stat_result]]) -> None:
    with os.scandir(src) as it:
        for entry in it:
            s = entry.path
            d = os.path.join(dst, entry.name)
            st = entry.stat(follow_symlinks=False)
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                os.mkdir(d, 0o700)
                _copy_dir(s, d, links, dirs)
                _copy_meta_path(s, d, st)
                dirs.append((d, st))
                continue
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in links:
                os.link(links[key], d)
                continue
            if stat.S_ISREG(mode):
                _copy_file(s, d)
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(s), d)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
                os.mknod(d, mode, st.st_rdev)
            elif stat.S_ISSOCK(mode):
                continue
            if st.st_nlink > 1:
                links[key] = d
            _copy_meta_path(s, d, st)
            os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_file(src: str, dst: str) -> None:
    with open(src, "rb") as fs, open(dst, "xb") as fd:
        size = os.fstat(fs.fileno()).st_size
        offset = 0
        while offset < size:
            try:
                n = os.copy_file_range(fs.fileno(), fd.fileno(), size - offset)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                n = os.sendfile(fd.fileno(), fs.fileno(), offset, size - offset)
            if n == 0:
                break
            offset += n


def _copy_meta_path(src: str, dst: str, st: os.stat_result) -> None:
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, stat.S_IMODE(st.st_mode))
        try:
            for name in os.listxattr(src, follow_symlinks=False):
                os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False),
                            follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.ENOTSUP, errno.EPERM):
                raise
