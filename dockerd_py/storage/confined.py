"""Paths opened inside a root directory, never outside it.

Every lookup goes through openat2(2) with RESOLVE_IN_ROOT: symlinks and `..`
resolve as if the root were `/`, so a planted link to `/` or `../..` lands back
inside. This is the one place that touches paths of untrusted trees (image
layers, container filesystems); nothing here compares path strings.
"""
from __future__ import annotations

import ctypes
import errno
import os
import stat

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_OPENAT2 = 437  # the same number on x86_64 and aarch64

RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


def openat2(dirfd: int, path: str | bytes, flags: int, mode: int = 0,
            resolve: int = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) -> int:
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    raw = os.fsencode(path) or b"."
    while True:
        fd = _libc.syscall(_SYS_OPENAT2, dirfd, raw, ctypes.byref(how), ctypes.sizeof(how))
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err not in (errno.EINTR, errno.EAGAIN):
            raise OSError(err, os.strerror(err), os.fsdecode(raw))


def split_clean(path: str) -> list[str]:
    """Split a path into components, dropping `.` and empty parts. `..` is kept so
    that callers can refuse it."""
    return [p for p in path.split("/") if p not in ("", ".")]


class Root:
    """An open directory that all lookups are confined to."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, path: str, flags: int, mode: int = 0) -> int:
        return openat2(self.fd, path, flags, mode)

    def open_dir(self, path: str, create: bool = False, mode: int = 0o755,
                 owner: tuple[int, int] | None = None) -> int:
        """An O_PATH fd of directory `path`, resolved in the root; with create,
        missing components are made (as `mkdir -p` would, inside the root),
        owned by owner when given (the host IDs of a remapped container root)."""
        try:
            return self.open(path, os.O_PATH | os.O_DIRECTORY)
        except FileNotFoundError:
            if not create:
                raise
        fd = os.dup(self.fd)
        try:
            for part in split_clean(path):
                try:
                    nxt = openat2(fd, part, os.O_PATH | os.O_DIRECTORY)
                except FileNotFoundError:
                    try:
                        os.mkdir(part, mode, dir_fd=fd)
                        if owner is not None:
                            os.chown(part, *owner, dir_fd=fd, follow_symlinks=False)
                    except FileExistsError:
                        pass
                    nxt = openat2(fd, part, os.O_PATH | os.O_DIRECTORY)
                os.close(fd)
                fd = nxt
            return fd
        except BaseException:
            os.close(fd)
            raise

    def open_parent(self, path: str, create: bool = False,
                    owner: tuple[int, int] | None = None) -> tuple[int, str]:
        """(O_PATH fd of the parent directory, last component) of `path`."""
        parts = split_clean(path)
        if not parts:
            raise IsADirectoryError(errno.EISDIR, "the root itself", path)
        return self.open_dir("/".join(parts[:-1]), create=create, owner=owner), parts[-1]

    def lstat(self, path: str) -> os.stat_result:
        parts = split_clean(path)
        if not parts:
            return os.stat(self.fd)
        pfd, name = self.open_parent(path)
        try:
            return os.stat(name, dir_fd=pfd, follow_symlinks=False)
        finally:
            os.close(pfd)

    def read_file(self, path: str, limit: int = 1 << 20) -> bytes:
        """Read a regular file inside the root; refuse FIFOs, devices and huge
        files so that a planted /etc/passwd cannot hang or exhaust the daemon."""
        fd = self.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
            if st.st_size > limit:
                raise OSError(errno.EFBIG, f"larger than {limit} bytes", path)
            chunks = []
            remaining = limit + 1
            while remaining > 0:
                chunk = os.read(fd, min(remaining, 1 << 16))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            data = b"".join(chunks)
            if len(data) > limit:
                raise OSError(errno.EFBIG, f"larger than {limit} bytes", path)
            return data
        finally:
            os.close(fd)

    def write_file(self, path: str, data: bytes, mode: int = 0o644,
                   uid: int = 0, gid: int = 0) -> None:
        """Create or replace a regular file inside the root (never through a link)."""
        pfd, name = self.open_parent(path, create=True)
        try:
            remove_at(pfd, name, keep_dir=True)
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, mode, dir_fd=pfd)
            try:
                os.write(fd, data)
                os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
        finally:
            os.close(pfd)


def remove_at(dirfd: int, name: str, keep_dir: bool = False) -> bool:
    """Remove `name` in directory `dirfd` whatever it is (recursively for a
    directory unless keep_dir). Returns whether something was removed."""
    try:
        st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(st.st_mode):
        if keep_dir:
            return False
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                      dir_fd=dirfd)
        try:
            clear_dir(sub)
        finally:
            os.close(sub)
        os.rmdir(name, dir_fd=dirfd)
    else:
        os.unlink(name, dir_fd=dirfd)
    return True


def clear_dir(dirfd: int, keep: set[str] | None = None) -> None:
    """Remove every entry of an open directory (except the names in keep)."""
    for entry in os.listdir(dirfd):
        if keep and entry in keep:
            continue
        remove_at(dirfd, entry)


def fd_path(fd: int) -> str:
    """A path that names an open fd, for calls that take only paths."""
    return f"/proc/self/fd/{fd}"
