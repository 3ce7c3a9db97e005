"""`docker cp`: stat, read and write paths of a container's filesystem.

Every path is resolved inside the container's root by openat2(RESOLVE_IN_ROOT),
from the container's own view (/proc/<pid>/root while it runs), so a symlink the
container plants (to `/`, `..`, or a host path) or swaps in during the copy
never leads to the host. Archives are decompressed in-process: nothing from the
container is ever executed.
"""
from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator

from shared.timeutil import rfc3339_nano

from ..userns import IDENTITY, IdMap
from .confined import Root, split_clean
from .extract import Extractor, Whiteouts
from .tarstream import ByteReader, TarReader
from .tarwriter import Item, TreeWriter, end_of_archive, walk

# Go's os.FileMode bits, which the Docker CLI decodes from the stat header.
_GO_DIR, _GO_SYMLINK, _GO_DEVICE, _GO_PIPE = 1 << 31, 1 << 27, 1 << 26, 1 << 25
_GO_SOCKET, _GO_SETUID, _GO_SETGID, _GO_CHARDEV, _GO_STICKY = 1 << 24, 1 << 23, 1 << 22, 1 << 21, 1 << 20


def go_file_mode(mode: int) -> int:
    out = mode & 0o777
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFDIR:
        out |= _GO_DIR
    elif kind == stat.S_IFLNK:
        out |= _GO_SYMLINK
    elif kind == stat.S_IFIFO:
        out |= _GO_PIPE
    elif kind == stat.S_IFSOCK:
        out |= _GO_SOCKET
    elif kind == stat.S_IFBLK:
        out |= _GO_DEVICE
    elif kind == stat.S_IFCHR:
        out |= _GO_DEVICE | _GO_CHARDEV
    if mode & stat.S_ISUID:
        out |= _GO_SETUID
    if mode & stat.S_ISGID:
        out |= _GO_SETGID
    if mode & stat.S_ISVTX:
        out |= _GO_STICKY
    return out


def _names_a_directory(path: str) -> bool:
    """`link/` and `link/.` ask for what the link points to (as Docker resolves a
    path with a trailing separator or dot), `link` for the link itself."""
    return path.endswith("/") or path.endswith("/.")


def _followed_dir(root: Root, path: str, st: os.stat_result) -> int | None:
    """A directory fd of path's target when path names a symlink with a trailing
    `/` or `/.` (resolved inside the root), else None."""
    if not (stat.S_ISLNK(st.st_mode) and _names_a_directory(path)):
        return None
    return root.open(path, os.O_RDONLY | os.O_DIRECTORY)


def path_stat(root_path: str, path: str) -> dict:
    """Docker's PathStat of path: name, size, mode (Go bits), mtime, linkTarget.
    Raises FileNotFoundError when the path does not exist."""
    with Root(root_path) as root:
        st = root.lstat(path)
        followed = _followed_dir(root, path, st)
        if followed is not None:
            st = os.fstat(followed)
            os.close(followed)
        elif _names_a_directory(path) and not stat.S_ISDIR(st.st_mode):
            # `/etc/passwd/`: lstat(2) answers ENOTDIR, as dockerd's Stat sees it
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
        link = ""
        if stat.S_ISLNK(st.st_mode):
            pfd, name = root.open_parent(path)
            try:
                target = os.readlink(name, dir_fd=pfd)
            finally:
                os.close(pfd)
            parent = "/" + "/".join(split_clean(path)[:-1])
            link = os.path.normpath(target if target.startswith("/")
                                    else os.path.join(parent, target))
    name = split_clean(path)[-1] if split_clean(path) else "/"
    return {"name": name, "size": st.st_size, "mode": go_file_mode(st.st_mode),
            "mtime": rfc3339_nano(st.st_mtime_ns), "linkTarget": link}


def tar_path(root_path: str, path: str, idmap: IdMap = IDENTITY,
             opaque: frozenset[int] = frozenset()) -> Iterator[bytes]:
    """The path as a tar: a file (or link) as one entry named by its base name,
    a directory as itself and all below it (but for directories on an opaque
    device, archived empty)."""
    root = Root(root_path)
    try:
        parts = split_clean(path)
        writer = TreeWriter(idmap)
        if not parts:
            # dockerd rebases the root's entries on its base name: `/` gives
            # `/`, `/bin/`, `/bin/sh`; `/.` gives `./`, `./bin/`
            prefix = "./" if path.rstrip("/").endswith("/.") or path == "." else "/"
            fd = root.open("", os.O_RDONLY | os.O_DIRECTORY)
            try:
                yield from writer.entry(Item(fd, ".", prefix.rstrip("/"), os.fstat(fd)))
                for item in walk(fd, prefix, opaque=opaque):
                    yield from writer.entry(item)
            finally:
                os.close(fd)
            yield end_of_archive()
            return
        pfd, name = root.open_parent(path)
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
            followed = _followed_dir(root, path, st)
            if followed is not None:  # the link's target, archived under the link's name
                st = os.fstat(followed)
            # `dir/.` names the directory's contents: entries come as ./x, as in Docker
            arcname = "." if path.rstrip("/").endswith("/.") and stat.S_ISDIR(st.st_mode) \
                else name
            if followed is not None:
                yield from writer.entry(Item(followed, ".", arcname, st))
            else:
                yield from writer.entry(Item(pfd, name, arcname, st))
            if stat.S_ISDIR(st.st_mode) and st.st_dev not in opaque:
                sub = followed if followed is not None else os.open(
                    name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
                try:
                    for item in walk(sub, arcname + "/", opaque=opaque):
                        yield from writer.entry(item)
                finally:
                    os.close(sub)
        finally:
            os.close(pfd)
        yield end_of_archive()
    finally:
        root.close()


def is_directory(root_path: str, path: str) -> bool:
    """Whether path resolves (following links, inside the root) to a directory."""
    with Root(root_path) as root:
        fd = root.open(path, os.O_PATH)
        try:
            return stat.S_ISDIR(os.fstat(fd).st_mode)
        finally:
            os.close(fd)


def extract_into(root_path: str, path: str, stream: ByteReader, uid_gid: tuple[int, int] | None,
                 no_overwrite_dir_non_dir: bool, idmap: IdMap = IDENTITY) -> None:
    """Unpack a (possibly compressed) tar below path, confined to the root;
    uid_gid (container IDs) forces an owner."""
    Extractor(root_path, Whiteouts.KEEP, None, same_owner=uid_gid is None, uid_gid=uid_gid,
              base=path, no_overwrite_dir_non_dir=no_overwrite_dir_non_dir, idmap=idmap
              ).run(TarReader(stream))
