"""COPY and ADD sources: found inside a root (the build context, or a stage's or
an image's filesystem) without leaving it, hashed for the cache, and written as
a tar of the destination paths for the container's filesystem.

Every lookup goes through the confined Root (openat2 RESOLVE_IN_ROOT): a source
that climbs out with `..` is refused, and a symlink in the context resolves
inside the context, never to the host.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import InvalidParameter
from ..storage.confined import Root, split_clean
from ..storage.tarwriter import Item, TreeWriter, end_of_archive, header, walk

_GLOB = set("*?[")
_ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


class CopyError(InvalidParameter):
    pass


@dataclass
class Source:
    path: str          # relative to the root, no leading slash ("" is the root)
    is_dir: bool


def resolve_sources(root_path: str, patterns: list[str], what: str = "COPY") -> list[Source]:
    """The sources named (globs expanded), each resolved inside the root."""
    out: list[Source] = []
    with Root(root_path) as root:
        for pattern in patterns:
            clean = posixpath.normpath(pattern.lstrip("/")) if pattern.strip("/") else "."
            if clean == ".." or clean.startswith("../"):
                raise CopyError(f"{what} failed: forbidden path outside the build context: "
                                f"{pattern} ()")
            names = _glob(root, clean) if _GLOB & set(clean) else [clean]
            if not names:
                raise CopyError(f"{what} failed: no source files were specified")
            for name in names:
                real = _resolve(root, name, pattern, what)
                st = os.stat(real, dir_fd=root.fd) if real else os.stat(root.fd)
                out.append(Source(real, stat.S_ISDIR(st.st_mode)))
    return out


def _resolve(root: Root, name: str, pattern: str, what: str) -> str:
    """The path with symlinks followed inside the root (as Docker follows a
    source symlink in scope)."""
    if name in (".", ""):
        return ""
    try:
        fd = root.open(name, os.O_PATH)
    except (FileNotFoundError, NotADirectoryError):
        raise CopyError(f"{what} failed: file not found in build context or excluded by "
                        f".dockerignore: stat {pattern}: file does not exist") from None
    try:
        real = os.readlink(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)
    base = os.path.realpath(root.path)
    rel = os.path.relpath(real, base)
    if rel == ".":
        return ""
    if rel.startswith(".."):  # openat2 makes this impossible; refuse anyway
        raise CopyError(f"{what} failed: forbidden path outside the build context: {pattern} ()")
    return rel


def _glob(root: Root, pattern: str) -> list[str]:
    found = [""]
    for part in split_clean(pattern):
        nxt = []
        for base in found:
            if not _GLOB & set(part):
                nxt.append(posixpath.join(base, part) if base else part)
                continue
            try:
                fd = root.open(base or ".", os.O_RDONLY | os.O_DIRECTORY)
            except (FileNotFoundError, NotADirectoryError):
                continue
            try:
                names = sorted(os.listdir(fd))
            finally:
                os.close(fd)
            nxt += [posixpath.join(base, n) if base else n for n in names
                    if fnmatch.fnmatchcase(n, part)]
        found = nxt
    return [f for f in found if f]


def checksum(root_path: str, sources: list[Source]) -> str:
    """What the cache compares: names, modes, owners, sizes, link targets and
    content of everything copied (not times), as `file:`, `dir:` or `multi:`."""
    digests = []
    with Root(root_path) as root:
        for source in sources:
            h = hashlib.sha256()
            for rel, st, data_fd in _entries(root, source):
                h.update(f"{rel}\0{st.st_mode:o}\0{st.st_uid}\0{st.st_gid}\0{st.st_size}\0"
                         .encode())
                if data_fd is not None:
                    try:
                        while chunk := os.read(data_fd, 1 << 20):
                            h.update(chunk)
                    finally:
                        os.close(data_fd)
            digests.append(h.hexdigest())
    if len(sources) == 1:
        return ("dir:" if sources[0].is_dir else "file:") + digests[0]
    return "multi:" + hashlib.sha256("".join(digests).encode()).hexdigest()


def _entries(root: Root, source: Source) -> Iterator[tuple[str, os.stat_result, int | None]]:
    if not source.is_dir:
        pfd, name = root.open_parent(source.path)
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=pfd) if stat.S_ISREG(st.st_mode) else None
        finally:
            os.close(pfd)
        yield posixpath.basename(source.path), st, fd
        return
    dfd = root.open(source.path or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for item in walk(dfd):
            fd = None
            if stat.S_ISREG(item.st.st_mode):
                fd = os.open(item.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                             dir_fd=item.dirfd)
            st = item.st
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(item.name, dir_fd=item.dirfd)
                yield f"{item.arcname}\0{target}", st, None
                continue
            yield item.arcname, st, fd
    finally:
        os.close(dfd)


def is_archive(root_path: str, source: Source) -> bool:
    """ADD unpacks local tar archives (plain or compressed)."""
    if source.is_dir:
        return False
    with Root(root_path) as root:
        fd = root.open(source.path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            head = os.pread(fd, 512, 0)
        finally:
            os.close(fd)
    return head.startswith(_ARCHIVE_MAGIC) or head[257:262] == b"ustar"


def copy_tar(root_path: str, sources: list[Source], dest: str, dest_is_dir: bool,
             chmod: int | None = None) -> Iterator[bytes]:
    """A tar whose names are the destination paths (relative to `/`)."""
    dest_rel = "/".join(split_clean(dest))
    writer = TreeWriter()
    with Root(root_path) as root:
        for source in sources:
            if source.is_dir:
                dfd = root.open(source.path or ".", os.O_RDONLY | os.O_DIRECTORY)
                try:
                    if dest_rel:
                        yield from writer.entry(Item(dfd, ".", dest_rel,
                                                     _with_mode(os.fstat(dfd), 0o755)))
                    prefix = dest_rel + "/" if dest_rel else ""
                    for item in walk(dfd, prefix):
                        if chmod is not None and not stat.S_ISLNK(item.st.st_mode):
                            item = Item(item.dirfd, item.name, item.arcname,
                                        _with_mode(item.st, chmod))
                        yield from writer.entry(item)
                finally:
                    os.close(dfd)
                continue
            pfd, name = root.open_parent(source.path)
            try:
                st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                if chmod is not None:
                    st = _with_mode(st, chmod)
                target = posixpath.join(dest_rel, name) if dest_is_dir else dest_rel
                yield from writer.entry(Item(pfd, name, target, st))
            finally:
                os.close(pfd)
    yield end_of_archive()


def _with_mode(st: os.stat_result, mode: int) -> os.stat_result:
    fields = list(st)
    fields[0] = stat.S_IFMT(st.st_mode) | (mode & 0o7777)
    return os.stat_result(fields)


def single_file_tar(name: str, data_path: str, mode: int, mtime: float) -> Iterator[bytes]:
    """A tar of one host file (an ADD URL download) under `name`."""
    import tarfile
    size = os.path.getsize(data_path)
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, int(mtime)
    yield header(info)
    with open(data_path, "rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk
    if size % 512:
        yield b"\0" * (512 - size % 512)
    yield end_of_archive()
