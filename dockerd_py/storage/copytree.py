"""Copy a directory tree exactly: owners, modes, times, xattrs, hard links,
symlinks, device nodes and FIFOs (shutil.copytree would read a FIFO and hang)."""
from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

_libc = ctypes.CDLL(None, use_errno=True)
SYNC_FILE_RANGE_WRITE = 2


def copy_tree(src: str, dst: str, workers: int = 4) -> None:
    """Copy the contents of src into the existing directory dst. File contents
    are copied by a few threads at once (the copies release the GIL), each file
    made empty in its place first so that hard links to it can follow."""
    links: dict[tuple[int, int], str] = {}
    dirs: list[tuple[str, os.stat_result]] = []
    with ThreadPoolExecutor(workers, thread_name_prefix="copy") as pool:
        jobs: list[Future] = []
        _copy_dir(src, dst, links, dirs, lambda *a: jobs.append(pool.submit(*a)))
        for job in jobs:
            job.result()  # the first failure is raised
    # src itself may be a /proc/self/fd link to the directory: its owner and mode
    # are the directory's (a volume's root takes the image directory's, as in Docker)
    _copy_meta_path(src, dst, os.stat(src), follow=True)
    for path, st in reversed(dirs):
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_dir(src: str, dst: str, links: dict[tuple[int, int], str],
              dirs: list[tuple[str, os.stat_result]], submit: Callable[..., None]) -> None:
    with os.scandir(src) as it:
        for entry in it:
            s = entry.path
            d = os.path.join(dst, entry.name)
            st = entry.stat(follow_symlinks=False)
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                os.mkdir(d, 0o700)
                _copy_dir(s, d, links, dirs, submit)
                _copy_meta_path(s, d, st)
                dirs.append((d, st))
                continue
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in links:
                os.link(links[key], d)
                continue
            if st.st_nlink > 1:
                links[key] = d
            if stat.S_ISREG(mode):
                os.close(os.open(d, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
                submit(_copy_regular, s, d, st)
                continue
            if stat.S_ISLNK(mode):
                os.symlink(os.readlink(s), d)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
                os.mknod(d, mode, st.st_rdev)
            elif stat.S_ISSOCK(mode):
                continue
            _copy_meta_path(s, d, st)
            os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_regular(src: str, dst: str, st: os.stat_result) -> None:
    _copy_file(src, dst)
    _copy_meta_path(src, dst, st)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_file(src: str, dst: str) -> None:
    with open(src, "rb") as fs, open(dst, "r+b") as fd:
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
        # start writing it back now (without waiting): the copy is on disk sooner,
        # and the unmount at the container's exit, which syncs the whole upper
        # filesystem, no longer has 100s of MB left to write
        _libc.sync_file_range(fd.fileno(), ctypes.c_longlong(0), ctypes.c_longlong(0),
                              SYNC_FILE_RANGE_WRITE)


def _copy_meta_path(src: str, dst: str, st: os.stat_result, follow: bool = False) -> None:
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, stat.S_IMODE(st.st_mode))
        try:
            for name in os.listxattr(src, follow_symlinks=follow):
                os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=follow),
                            follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.ENOTSUP, errno.EPERM):
                raise
