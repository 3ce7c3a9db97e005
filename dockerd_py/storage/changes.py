"""What a layer changed relative to its parents (`docker diff`), and that change
as a layer tar with Docker's whiteouts (`docker commit`).

overlay2 knows its changes: they are its upper directory, with whiteouts as
0:0 character devices and opaque directories marked by an xattr. vfs compares
the layer's full tree with its parent's, as Docker's naive diff does.
"""
from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass

from ..userns import IDENTITY, IdMap
from .extract import OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX
from .tarwriter import Item, TreeWriter, end_of_archive, header, walk

MODIFY, ADD, DELETE = 0, 1, 2


@dataclass(frozen=True)
class Change:
    path: str   # absolute, as docker diff prints it
    kind: int

    def doc(self) -> dict[str, object]:
        return {"Path": self.path, "Kind": self.kind}


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(dirfd: int, name: str) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dirfd)
    except OSError:
        return False
    try:
        return os.getxattr(fd, OVERLAY_OPAQUE_XATTR) == b"y"
    except OSError:
        return False
    finally:
        os.close(fd)


def _in_lowers(lowers: list[str], relpath: str) -> bool:
    """Whether relpath exists in the stack of lower directories (top first),
    honouring whiteouts and opaque directories as overlayfs does."""
    parts = relpath.split("/")
    for lower in lowers:
        path = lower
        opaque = False
        for i, part in enumerate(parts):
            path = os.path.join(path, part)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if opaque:
                    return False  # an opaque directory hides the layers below
                break
            if is_whiteout(st):
                return False
            if i == len(parts) - 1:
                return True
            if not stat.S_ISDIR(st.st_mode):
                return False
            try:
                opaque = opaque or os.getxattr(path, OVERLAY_OPAQUE_XATTR,
                                               follow_symlinks=False) == b"y"
            except OSError:
                pass
    return False


def overlay_changes(upper: str, lowers: list[str]) -> list[Change]:
    out = []
    fd = os.open(upper, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for item in walk(fd):
            if is_whiteout(item.st):
                out.append(Change("/" + item.arcname, DELETE))
                continue
            kind = MODIFY if _in_lowers(lowers, item.arcname) else ADD
            out.append(Change("/" + item.arcname, kind))
    finally:
        os.close(fd)
    return sorted(out, key=lambda c: c.path)


def overlay_diff(upper: str, idmap: IdMap = IDENTITY) -> Iterator[bytes]:
    """The upper directory as a layer tar: whiteouts become `.wh.` entries and
    opaque directories get `.wh..wh..opq`, as Docker writes them."""
    fd = os.open(upper, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    writer = TreeWriter(idmap)
    try:
        for item in walk(fd):
            if is_whiteout(item.st):
                parent, _, name = item.arcname.rpartition("/")
                # made by the kernel as the mounter: its owner stays the host's, as in Docker
                yield header(_empty_file(_join(parent, WHITEOUT_PREFIX + name), item.st, 0o600,
                                         IDENTITY))
                continue
            yield from writer.entry(item)
            if stat.S_ISDIR(item.st.st_mode) and _is_opaque(item.dirfd, item.name):
                yield header(_empty_file(_join(item.arcname, WHITEOUT_OPAQUE), item.st,
                                         stat.S_IMODE(item.st.st_mode), idmap))
        yield end_of_archive()
    finally:
        os.close(fd)


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _empty_file(name: str, st: os.stat_result, mode: int, idmap: IdMap) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.REGTYPE
    info.size = 0
    info.mode = mode
    info.uid, info.gid = idmap.to_container(st.st_uid, st.st_gid)
    info.mtime = int(st.st_mtime)
    info.uname = info.gname = ""
    return info


# -- naive (vfs) ------------------------------------------------------------------
def _differs(old: os.stat_result, new: os.stat_result, old_path: str, new_path: str) -> bool:
    if (old.st_mode != new.st_mode or old.st_uid != new.st_uid or old.st_gid != new.st_gid
            or old.st_rdev != new.st_rdev):
        return True
    if stat.S_ISDIR(new.st_mode):
        return False
    if old.st_size != new.st_size or old.st_mtime_ns != new.st_mtime_ns:
        return True
    if stat.S_ISLNK(new.st_mode):
        return os.readlink(old_path) != os.readlink(new_path)
    return False


def tree_changes(layer: str, parent: str | None) -> list[Change]:
    changes: dict[str, int] = {}

    def visit(rel: str) -> bool:
        """Compare rel (a directory, '' for the root); True if anything below changed."""
        new_dir = os.path.join(layer, rel)
        old_dir = os.path.join(parent, rel) if parent else None
        new_names = set(os.listdir(new_dir))
        old_names = set(os.listdir(old_dir)) if old_dir and os.path.isdir(old_dir) \
            and not os.path.islink(old_dir) else set()
        changed = False
        for name in sorted(new_names | old_names):
            path = f"{rel}/{name}" if rel else name
            new_path = os.path.join(layer, path)
            if name not in new_names:
                changes["/" + path] = DELETE
                changed = True
                continue
            new_st = os.lstat(new_path)
            if name not in old_names:
                changes["/" + path] = ADD
                changed = True
                if stat.S_ISDIR(new_st.st_mode):
                    _add_all(layer, path, changes)
                continue
            old_path = os.path.join(parent or "", path)
            old_st = os.lstat(old_path)
            modified = _differs(old_st, new_st, old_path, new_path)
            inner = False
            if stat.S_ISDIR(new_st.st_mode) and stat.S_ISDIR(old_st.st_mode):
                inner = visit(path)
            elif stat.S_ISDIR(new_st.st_mode):
                _add_all(layer, path, changes)
                inner = True
            if modified or inner:
                changes["/" + path] = MODIFY
                changed = True
        return changed

    visit("")
    return [Change(p, k) for p, k in sorted(changes.items())]


def _add_all(layer: str, rel: str, changes: dict[str, int]) -> None:
    for dirpath, dirnames, filenames in os.walk(os.path.join(layer, rel)):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            changes["/" + os.path.relpath(full, layer)] = ADD


def naive_diff(layer: str, parent: str | None, idmap: IdMap = IDENTITY) -> Iterator[bytes]:
    """A layer tar of what changed between parent and layer (vfs)."""
    changes = tree_changes(layer, parent)
    writer = TreeWriter(idmap)
    root = os.open(layer, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for change in changes:
            rel = change.path.lstrip("/")
            parent_rel, _, name = rel.rpartition("/")
            if change.kind == DELETE:
                st = os.lstat(os.path.join(parent or "", rel))
                yield header(_empty_file(_join(parent_rel, WHITEOUT_PREFIX + name), st, 0o600,
                                         idmap))
                continue
            dirfd = os.open(parent_rel or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                            | os.O_CLOEXEC, dir_fd=root)
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                yield from writer.entry(Item(dirfd, name, rel, st))
            finally:
                os.close(dirfd)
        yield end_of_archive()
    finally:
        os.close(root)
