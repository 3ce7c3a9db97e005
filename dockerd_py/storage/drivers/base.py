"""The graph driver interface: one directory tree per layer, stacked by parent.

All methods block (they touch the disk); callers run them off the event loop.
"""
from __future__ import annotations

import os
import secrets
import shutil
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator

from ...errors import DockerError
from ...userns import IDENTITY, IdMap, chown_dir
from ..changes import Change
from ..extract import ExtractResult, Whiteouts, extract
from ..tarsplit import SkeletonWriter
from ..tarstream import TarReader


class DriverError(DockerError):
    """A graph driver failed: part of the one error tree (a 500 with its own text)."""


class GraphDriver(ABC):
    name: str = ""
    # Whether a layer's own files are complete without its parents (overlay:
    # yes, so layers of one image can be extracted in parallel or out of order).
    independent_layers: bool = False
    whiteouts: Whiteouts = Whiteouts.APPLY

    def __init__(self, home: str, idmap: IdMap = IDENTITY) -> None:
        self.home = home
        self.idmap = idmap  # layers hold host IDs: container IDs shifted by the map
        os.makedirs(home, mode=0o700, exist_ok=True)
        chown_dir(home, idmap, 0o710)
        self._lock = threading.Lock()
        self._mounts: dict[str, int] = {}

    # -- lifecycle of a layer -------------------------------------------------
    @abstractmethod
    def create(self, layer_id: str, parent: str | None) -> None:
        """Make an empty layer on top of parent (or a copy of it, for vfs)."""

    @abstractmethod
    def remove(self, layer_id: str) -> None:
        """Remove the layer's files; unmount first if needed."""

    @abstractmethod
    def exists(self, layer_id: str) -> bool: ...

    @abstractmethod
    def list_ids(self) -> list[str]:
        """Every layer directory present, registered or not."""

    @abstractmethod
    def diff_path(self, layer_id: str) -> str:
        """The directory that holds this layer's own changes."""

    @abstractmethod
    def get(self, layer_id: str) -> str:
        """Mount (reference counted) and return the layer's full filesystem."""

    @abstractmethod
    def put(self, layer_id: str) -> None:
        """Release one get(); unmount at the last."""

    @abstractmethod
    def parent_of(self, layer_id: str) -> str | None: ...

    def set_parent(self, layer_id: str, parent: str | None) -> None:
        """Put an independently extracted layer on top of parent."""
        raise DriverError(f"{self.name} layers cannot change parent")

    @abstractmethod
    def changes(self, layer_id: str) -> list[Change]:
        """What this layer changed relative to its parents (`docker diff`)."""

    @abstractmethod
    def diff(self, layer_id: str) -> Iterator[bytes]:
        """This layer's changes as a layer tar with whiteouts (for commit)."""

    def metadata(self, layer_id: str) -> dict[str, str]:
        """GraphDriver.Data as `inspect` shows it."""
        return {}

    def status(self) -> list[list[str]]:
        """DriverStatus of /info."""
        return []

    def cleanup(self) -> None:
        """Unmount everything this driver mounted (daemon shutdown)."""

    def adopt_mount(self, layer_id: str) -> None:
        """Count a mount that survived a daemon restart (a running container's);
        drivers that mount nothing have nothing to count."""

    # -- content ---------------------------------------------------------------
    def apply_diff(self, layer_id: str, reader: TarReader,
                   skeleton: SkeletonWriter | None = None) -> ExtractResult:
        return extract(reader, self.diff_path(layer_id), self.whiteouts, skeleton,
                       idmap=self.idmap)

    def size(self, layer_id: str) -> int:
        return tree_size(self.diff_path(layer_id))

    def own_root(self, path: str, mode: int) -> None:
        """A directory the container sees as its own (a layer's root): owned by
        the container's root."""
        if self.idmap.remapped:
            os.chown(path, *self.idmap.root)
            os.chmod(path, mode)

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(32)


def tree_size(path: str) -> int:
    """Bytes used by regular files and links below path, hard links counted once."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for entry in _walk(path):
        st = entry.stat(follow_symlinks=False)
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
        if not entry.is_dir(follow_symlinks=False):
            total += st.st_size
    return total


def _walk(path: str) -> Iterator[os.DirEntry]:
    try:
        with os.scandir(path) as it:
            for entry in it:
                yield entry
                if entry.is_dir(follow_symlinks=False):
                    yield from _walk(entry.path)
    except FileNotFoundError:
        return


def remove_tree(path: str) -> None:
    """rm -rf that also clears the immutable surprises a container may leave."""
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=False, onerror=_force_remove)


def _force_remove(func, path, exc_info):  # type: ignore[no-untyped-def]
    exc = exc_info[1]
    if isinstance(exc, FileNotFoundError):
        return
    if isinstance(exc, PermissionError):
        parent = os.path.dirname(path)
        os.chmod(parent, 0o700)
        func(path)
        return
    raise exc
