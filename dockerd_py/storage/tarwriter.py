"""Writing tar streams from directory trees (export, commit, `docker cp`, save).

Trees are walked with directory fds and nothing is followed: a symlink is
archived as a symlink, and a file is opened O_NOFOLLOW relative to its
directory, so a running container swapping links cannot redirect a read.
"""
from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass

from ..userns import IDENTITY, IdMap

BLOCK = 512
CHUNK = 1 << 20
_TYPES = {stat.S_IFDIR: tarfile.DIRTYPE, stat.S_IFLNK: tarfile.SYMTYPE,
          stat.S_IFCHR: tarfile.CHRTYPE, stat.S_IFBLK: tarfile.BLKTYPE,
          stat.S_IFIFO: tarfile.FIFOTYPE}


def header(info: tarfile.TarInfo) -> bytes:
    """PAX format as Go's archive/tar writes it: ustar unless a field needs pax."""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def padding(size: int) -> bytes:
    return b"\0" * ((-size) % BLOCK)


def end_of_archive() -> bytes:
    return b"\0" * (BLOCK * 2)


def file_info(name: str, size: int, mode: int = 0o644, mtime: float = 0,
              kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size if kind == tarfile.REGTYPE else 0
    info.mode = mode
    info.mtime = int(mtime)
    info.type = kind
    info.uname = info.gname = ""
    return info


def bytes_entry(name: str, data: bytes, mode: int = 0o644, mtime: float = 0) -> bytes:
    return header(file_info(name, len(data), mode, mtime)) + data + padding(len(data))


def _xattrs(path_or_fd: int | str, follow: bool = False) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        names = os.listxattr(path_or_fd, follow_symlinks=follow)
    except OSError:
        return out
    for key in names:
        if key.startswith("trusted.overlay.") or key.startswith("system.nfs4"):
            continue
        try:
            value = os.getxattr(path_or_fd, key, follow_symlinks=follow)
        except OSError:
            continue
        out["SCHILY.xattr." + key] = value.decode("utf-8", "surrogateescape")
    return out


@dataclass
class Item:
    """One entry to archive: where it is (dir fd + name) and its archive name."""
    dirfd: int
    name: str
    arcname: str
    st: os.stat_result


class TreeWriter:
    """Archive entries (with hard links detected) into tar bytes, owners as the
    container sees them (a remapped daemon stores them shifted)."""

    def __init__(self, idmap: IdMap = IDENTITY) -> None:
        self._links: dict[tuple[int, int], str] = {}
        self.idmap = idmap

    def entry(self, item: Item, whiteout_of: str | None = None) -> Iterator[bytes]:
        st = item.st
        mode = stat.S_IFMT(st.st_mode)
        info = tarfile.TarInfo(item.arcname + ("/" if mode == stat.S_IFDIR else ""))
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = self.idmap.to_container(st.st_uid, st.st_gid)
        info.mtime = int(st.st_mtime)
        info.uname = info.gname = ""
        pax: dict[str, str] = {}
        if mode == stat.S_IFREG:
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in self._links:
                info.type = tarfile.LNKTYPE
                info.linkname = self._links[key]
                yield header(info)
                return
            if st.st_nlink > 1:
                self._links[key] = item.arcname
            info.type = tarfile.REGTYPE
        elif mode in _TYPES:
            info.type = _TYPES[mode]
            if mode == stat.S_IFLNK:
                try:
                    info.linkname = os.readlink(item.name, dir_fd=item.dirfd)
                except OSError:  # gone, or replaced, since the listing
                    return
            if mode in (stat.S_IFCHR, stat.S_IFBLK):
                info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        else:
            return  # sockets are not archived
        if mode != stat.S_IFLNK:
            fd = os.open(item.name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=item.dirfd)
            try:
                pax.update(_xattrs(f"/proc/self/fd/{fd}", follow=True))
            finally:
                os.close(fd)
        if pax:
            info.pax_headers = pax
        if info.type != tarfile.REGTYPE:
            yield header(info)
            return
        # a container can swap the file for a FIFO after the lstat: never block on
        # the open, and trust only what the open fd is
        try:
            fd = os.open(item.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=item.dirfd)
        except OSError:  # gone, or a symlink now (ELOOP), since the listing
            return
        try:
            now = os.fstat(fd)
            if not stat.S_ISREG(now.st_mode):
                return  # replaced since the listing: archived as it was not
            size = now.st_size
            info.size = size
            yield header(info)
            left = size
            while left > 0:
                data = os.read(fd, min(CHUNK, left))
                if not data:
                    # the file shrank under us: pad to the size announced
                    yield b"\0" * left
                    break
                left -= len(data)
                yield data
            yield padding(size)
        finally:
            os.close(fd)


def walk(root_fd: int, prefix: str = "", skip: set[str] | None = None,
         opaque: frozenset[int] = frozenset()) -> Iterator[Item]:
    """Every entry below an open directory, parents before children, sorted by
    name (as Docker's archive writer does), without following symlinks.
    Directories on an opaque device are archived without their contents."""
    try:
        names = sorted(os.listdir(root_fd))
    except OSError:
        return
    for name in names:
        arcname = f"{prefix}{name}"
        if skip and arcname in skip:
            continue
        try:
            st = os.stat(name, dir_fd=root_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        yield Item(root_fd, name, arcname, st)
        if stat.S_ISDIR(st.st_mode) and st.st_dev not in opaque:
            try:
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                              dir_fd=root_fd)
            except OSError:
                continue
            try:
                yield from walk(sub, arcname + "/", skip, opaque)
            finally:
                os.close(sub)


def tar_tree(path: str, prefix: str = "", skip: set[str] | None = None,
             idmap: IdMap = IDENTITY) -> Iterator[bytes]:
    """The whole tree below path as a tar stream."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    writer = TreeWriter(idmap)
    try:
        for item in walk(fd, prefix, skip):
            yield from writer.entry(item)
        yield end_of_archive()
    finally:
        os.close(fd)
