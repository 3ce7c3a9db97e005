"""A container's files: `docker diff`, `export`, `cp` both ways (confined to the
container's root), and `commit` into a new image."""
from __future__ import annotations

import asyncio
import copy
import json
import posixpath
from collections.abc import AsyncIterator, Callable
from typing import Any

from shared.api import ENGINE_VERSION
from shared.timeutil import now_rfc3339

from ...builder.dockerfile import apply_change
from ...crashpoints import crashpoint
from ...errors import Conflict, DockerError, InvalidParameter, NotFound
from ...runtime import conmon, users
from ...storage import containerfs, mounts
from ...storage.layers import Layer
from ...storage.tarwriter import tar_tree
from ...streams import IteratorReader, feed_blocking, iterate_blocking
from ..images.shapes import container_config_shape, repository_tag
from .create import merge_image_config
from .deps import ContainerDeps
from .record import Container

EMPTY_LAYER_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

Pauser = Callable[[Container], Any]  # an async pause or unpause


class ContainerFiles:
    def __init__(self, deps: ContainerDeps) -> None:
        self.deps = deps

    def _publish(self, ctr: Container, action: str, **extra: str) -> None:
        self.deps.events.publish("container", action, ctr.id, ctr.event_attrs(**extra))

    async def changes(self, ctr: Container) -> list[dict[str, Any]] | None:
        rw = self.deps.layers.rw_layer(ctr.internal.rw_layer)
        found = await asyncio.to_thread(rw.changes)
        return [c.doc() for c in found] or None

    def export(self, ctr: Container) -> AsyncIterator[bytes]:
        """The container's whole filesystem as a tar stream."""
        rw = self.deps.layers.rw_layer(ctr.internal.rw_layer)

        def produce():  # type: ignore[no-untyped-def]
            root = rw.mount()
            try:
                yield from tar_tree(root, idmap=self.deps.idmap)
            finally:
                rw.unmount()
        self._publish(ctr, "export")
        return iterate_blocking(produce)

    # -- docker cp --------------------------------------------------------------------
    async def _open_fs(self, ctr: Container, path: str, into: bool = False,
                       pid: int | None = None) -> tuple[str, str, Callable[[], None] | None]:
        """Where a path of the container is, as it sees it: in /proc/<pid>/root while
        it runs (mounts included); stopped, in the volume or bind that covers the
        path (confined to it), else in its mounted layers.
        Reading the mount point itself as an archive stays in the layers (entries
        are named after it); its stat and a write into it go to the mount
        (into=True).
        Returns (root, path under that root, unmount); pid: the running one, when
        the caller looked already."""
        pid = self._running_pid(ctr) if pid is None else pid
        if pid:
            return f"/proc/{pid}/root", path, None
        clean = posixpath.normpath("/" + path.lstrip("/"))
        covering = [m for m in ctr.internal.mounts if m.type in ("bind", "volume")
                    and m.source and ((into and clean == m.destination)
                                      or clean.startswith(m.destination + "/"))]
        if covering:
            m = max(covering, key=lambda m: len(m.destination))
            return m.source, "/" + clean[len(m.destination):].lstrip("/"), None
        rw = self.deps.layers.rw_layer(ctr.internal.rw_layer)
        return await asyncio.to_thread(rw.mount), path, rw.unmount

    @staticmethod
    def _running_pid(ctr: Container) -> int:
        pid = ctr.state.get("Pid") or 0
        if ctr.running and pid > 0 and conmon.pid_alive(pid, ctr.internal.pid_start):
            return int(pid)
        return 0

    @staticmethod
    async def _close_fs(unmount: Callable[[], None] | None) -> None:
        if unmount is not None:
            await asyncio.to_thread(unmount)

    @staticmethod
    def _path_error(ctr: Container, path: str, exc: OSError) -> DockerError:
        """dockerd's answer to a path that cannot be looked up: a missing one is a
        404; a component that is a file (`/etc/passwd/`) is its lstat error, which
        it answers as a system error (Go's IsNotExist is false for ENOTDIR)."""
        if isinstance(exc, NotADirectoryError):
            return DockerError(f"lstat /{path.lstrip('/')}: not a directory")
        return NotFound(f"Could not find the file {path} in container {ctr.name}")

    async def stat_path(self, ctr: Container, path: str) -> dict[str, Any]:
        root, inner, unmount = await self._open_fs(ctr, path, into=True)
        try:
            info = await asyncio.to_thread(containerfs.path_stat, root, inner)
            if inner == "/" and path.strip("/"):
                info["name"] = posixpath.basename(posixpath.normpath(path))  # a mount point
            return info
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise self._path_error(ctr, path, exc) from None
        finally:
            await self._close_fs(unmount)

    async def archive_path(self, ctr: Container,
                           path: str) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        """(stat, tar stream) of a path, for `docker cp CONTAINER:PATH`."""
        pid = self._running_pid(ctr)
        root, inner, unmount = await self._open_fs(ctr, path, pid=pid)
        try:
            info = await asyncio.to_thread(containerfs.path_stat, root, inner)
        except (FileNotFoundError, NotADirectoryError) as exc:
            await self._close_fs(unmount)
            raise self._path_error(ctr, path, exc) from None

        # seen through /proc/<pid>/root, the container's proc and sys mounts are
        # archived as the empty directories dockerd's rootfs has there
        opaque = await asyncio.to_thread(mounts.kernel_fs_devices, pid) if pid else frozenset()

        def produce():  # type: ignore[no-untyped-def]
            try:
                yield from containerfs.tar_path(root, inner, self.deps.idmap, opaque)
            finally:
                if unmount is not None:
                    unmount()
        self._publish(ctr, "archive-path")
        return info, iterate_blocking(produce)

    async def extract_to(self, ctr: Container, path: str, source: AsyncIterator[bytes],
                         copy_uid_gid: bool, no_overwrite_dir_non_dir: bool) -> None:
        """`docker cp SRC CONTAINER:PATH`: unpack a tar into the directory path."""
        if ctr.host_config.get("ReadonlyRootfs"):
            raise InvalidParameter("container rootfs is marked read-only")
        root, inner, unmount = await self._open_fs(ctr, path, into=True)
        try:
            try:
                is_dir = await asyncio.to_thread(containerfs.is_directory, root, inner)
            except (FileNotFoundError, NotADirectoryError) as exc:
                raise self._path_error(ctr, path, exc) from None
            if not is_dir:
                raise InvalidParameter("extraction point is not a directory")
            owner: tuple[int, int] | None = (0, 0)
            if copy_uid_gid:
                user = await asyncio.to_thread(users.resolve, root, ctr.config.get("User", ""),
                                               ctr.host_config.get("GroupAdd"))
                owner = (user.uid, user.gid)
            await feed_blocking(source, lambda f: containerfs.extract_into(
                root, inner, f, owner, no_overwrite_dir_non_dir, self.deps.idmap))
        finally:
            await self._close_fs(unmount)
        self._publish(ctr, "extract-to-dir")

    # -- commit -----------------------------------------------------------------------
    async def commit(self, ctr: Container, repo: str | None, tag: str | None, author: str,
                     comment: str, changes: list[str], config: dict[str, Any] | None,
                     pause: bool, pauser: Pauser, unpauser: Pauser) -> str:
        """A new image: the container's image plus its changes as one layer."""
        ref = repository_tag(repo, tag) if repo else None
        image = self.deps.images.by_id(ctr.image_id)
        if image is None:
            raise Conflict(f"the image of container {ctr.id} is gone")
        paused_here = pause and ctr.running and not ctr.paused \
            and await _pause_unless_gone(ctr, pauser)
        try:
            layer = await asyncio.to_thread(self._commit_layer, ctr, image.top_layer)
        finally:
            if paused_here:
                try:
                    await unpauser(ctr)
                except DockerError:
                    if not ctr.process_gone():
                        raise
        layers = self.deps.layers
        crashpoint("commit:layer-made")
        try:
            raw = commit_config(image.config, ctr, author, comment, changes, config, layer)
            new = await self.deps.images.add_image(raw, [ref] if ref else [],
                                                   {"Parent": image.id},
                                                   acquired_top=layer is not None)
        except BaseException:
            if layer is not None:
                await asyncio.to_thread(layers.release, layer.chain_id)
            raise
        self._publish(ctr, "commit", comment=comment)
        return new.id

    def _commit_layer(self, ctr: Container, top: str | None) -> Layer | None:
        """Register the container's changes; None when there are none (an empty
        layer, which Docker records only in the history)."""
        layers = self.deps.layers
        rw = layers.rw_layer(ctr.internal.rw_layer)
        layer = layers.register(IteratorReader(rw.diff()), top)
        if layer.diff_id == EMPTY_LAYER_DIFF_ID:
            layers.release(layer.chain_id)  # the new image holds the parent's top instead
            return None
        return layer


async def _pause_unless_gone(ctr: Container, pauser: Pauser) -> bool:
    """Pause for a commit. Pausing applies to a running container only: one that
    stops meanwhile is simply committed, as dockerd does. Whether it paused."""
    try:
        await pauser(ctr)
    except DockerError:
        if ctr.process_gone():
            return False
        raise
    return True


def commit_config(base: dict[str, Any], ctr: Container, author: str, comment: str,
                  changes: list[str], overrides: dict[str, Any] | None,
                  layer: Layer | None) -> bytes:
    """The committed image's config: the container's config (with the request's
    overrides and changes), the parent's layers plus the new one, a history line."""
    config = copy.deepcopy(ctr.config)
    if overrides:
        merged = dict(overrides)
        merge_image_config(merged, config)
        for key, value in config.items():
            merged.setdefault(key, value)
        config = merged
    for change in changes:
        apply_change(config, change)
    return image_config(base, config, ctr.config, ctr.id,
                        " ".join(ctr.config.get("Cmd") or []), author, comment, layer)


def image_config(base: dict[str, Any], config: dict[str, Any], container_config: dict[str, Any],
                 container_id: str, created_by: str, author: str, comment: str,
                 layer: Layer | None) -> bytes:
    """A child image's config: base's, with this config, a history line and the
    new layer (when there is one)."""
    created = now_rfc3339()
    doc = copy.deepcopy(base)
    for key in ("author", "comment", "container", "container_config"):
        doc.pop(key, None)
    doc.update({"config": container_config_shape(config), "container": container_id,
                "container_config": container_config_shape(container_config),
                "created": created, "docker_version": ENGINE_VERSION})
    entry: dict[str, Any] = {"created": created, "created_by": created_by}
    for key, value in (("author", author), ("comment", comment)):
        if value:
            doc[key] = value
            entry[key] = value
    if layer is None:
        entry["empty_layer"] = True
    doc["history"] = list(doc.get("history") or []) + [entry]
    rootfs = dict(doc.get("rootfs") or {"type": "layers"})
    rootfs["diff_ids"] = list(rootfs.get("diff_ids") or []) + ([layer.diff_id] if layer else [])
    doc["rootfs"] = rootfs
    return json.dumps(doc, separators=(",", ":")).encode()
