"""A container's filesystem: its read-write layer above the image's init layer,
and its directory in the data root. Blocking: run off the event loop."""
from __future__ import annotations

import logging
import os
import stat

from ...storage.confined import Root
from ...storage.drivers.base import remove_tree
from ...storage.layers import LayerStore
from ...userns import IDENTITY, IdMap, chown_dir
from .repository import ContainerPaths

log = logging.getLogger(__name__)

# Docker's init layer: real entries where the runtime mounts, so an image's own
# symlinks there never reach the runtime.
INIT_ENTRIES = [("dev/pts", "dir"), ("dev/shm", "dir"), ("proc", "dir"), ("sys", "dir"),
                (".dockerenv", "file"), ("etc/resolv.conf", "file"), ("etc/hosts", "file"),
                ("etc/hostname", "file"), ("dev/console", "file"), ("etc/mtab", "/proc/mounts")]


def create_filesystem(layers: LayerStore, paths: ContainerPaths, cid: str,
                      top: str | None, idmap: IdMap = IDENTITY) -> None:
    layers.acquire(top)
    try:
        init_id = layers.ensure_init(top, lambda root: setup_init_layer(root, idmap.owner))
        layers.create_rw(cid, init_id)
        os.makedirs(paths.dir(cid), mode=0o700, exist_ok=True)
        chown_dir(paths.dir(cid), idmap, 0o710)  # the runtime reaches its name files
    except BaseException:
        layers.release(top)
        raise


def remove_filesystem(layers: LayerStore, paths: ContainerPaths, cid: str, top: str | None,
                      missing_ok: bool = False) -> None:
    rw = layers.rw_layer(cid)
    if rw.exists():
        rw.remove()
    elif not missing_ok:
        log.warning("container %s had no layer", cid)
    if not missing_ok or top is not None:
        try:
            layers.release(top)
        except KeyError:
            pass
    remove_tree(paths.dir(cid))
    remove_tree(paths.bundle(cid))
    try:  # conmon's exit file: one per container would pile up otherwise
        os.unlink(os.path.join(paths.exit_dir, cid))
    except FileNotFoundError:
        pass


def setup_init_layer(root_path: str, owner: tuple[int, int] | None = None) -> None:
    """Make the init entries inside the root (an image's symlinks there go first),
    owned by owner (the host IDs of a remapped container root) when given."""
    with Root(root_path) as root:
        for path, kind in INIT_ENTRIES:
            _clear_symlinks(root, path)
            try:
                root.lstat(path)
                continue
            except FileNotFoundError:
                pass
            pfd, name = root.open_parent(path, create=True, owner=owner)
            try:
                if kind == "dir":
                    os.mkdir(name, 0o755, dir_fd=pfd)
                elif kind == "file":
                    os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW
                                     | os.O_CLOEXEC, 0o755, dir_fd=pfd))
                else:
                    os.symlink(kind, name, dir_fd=pfd)
                if owner is not None:
                    os.chown(name, *owner, dir_fd=pfd, follow_symlinks=False)
            finally:
                os.close(pfd)


def _clear_symlinks(root: Root, path: str) -> None:
    """Remove the first component of path that is a symlink (or a non-directory
    where a directory must be)."""
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        try:
            st = root.lstat(prefix)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode) or (depth < len(parts) and not stat.S_ISDIR(st.st_mode)):
            pfd, name = root.open_parent(prefix)
            try:
                os.unlink(name, dir_fd=pfd)
            finally:
                os.close(pfd)
            return
