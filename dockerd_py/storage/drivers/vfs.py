"""vfs: every layer is a full copy of its parent plus its own changes.

Slow and heavy on disk, but it needs nothing from the kernel, so it works on
any filesystem (and under overlayfs itself).
"""
from __future__ import annotations

import os
from collections.abc import Iterator

from ...userns import IDENTITY, IdMap, chown_dir
from ..changes import Change, naive_diff, tree_changes
from ..copytree import copy_tree
from ..extract import Whiteouts
from .base import DriverError, GraphDriver, remove_tree


class VfsDriver(GraphDriver):
    name = "vfs"
    independent_layers = False
    whiteouts = Whiteouts.APPLY

    def __init__(self, home: str, idmap: IdMap = IDENTITY) -> None:
        super().__init__(home, idmap)
        os.makedirs(os.path.join(home, "dir"), mode=0o700, exist_ok=True)
        chown_dir(os.path.join(home, "dir"), idmap, 0o710)
        os.makedirs(os.path.join(home, "parents"), mode=0o700, exist_ok=True)

    def _dir(self, layer_id: str) -> str:
        if not layer_id or "/" in layer_id or layer_id.startswith("."):
            raise DriverError(f"invalid layer id {layer_id!r}")
        return os.path.join(self.home, "dir", layer_id)

    def _parent_file(self, layer_id: str) -> str:
        return os.path.join(self.home, "parents", layer_id)

    def exists(self, layer_id: str) -> bool:
        return os.path.isdir(self._dir(layer_id))

    def list_ids(self) -> list[str]:
        return os.listdir(os.path.join(self.home, "dir"))

    def diff_path(self, layer_id: str) -> str:
        return self._dir(layer_id)

    def create(self, layer_id: str, parent: str | None) -> None:
        d = self._dir(layer_id)
        os.mkdir(d, 0o755)
        try:
            self.own_root(d, 0o755)
            if parent is not None:
                copy_tree(self._dir(parent), d)
                with open(self._parent_file(layer_id), "w") as f:
                    f.write(parent)
        except BaseException:
            self.remove(layer_id)
            raise

    def parent_of(self, layer_id: str) -> str | None:
        try:
            with open(self._parent_file(layer_id)) as f:
                return f.read().strip() or None
        except FileNotFoundError:
            return None

    def remove(self, layer_id: str) -> None:
        remove_tree(self._dir(layer_id))
        try:
            os.unlink(self._parent_file(layer_id))
        except FileNotFoundError:
            pass

    def get(self, layer_id: str) -> str:
        return self._dir(layer_id)

    def put(self, layer_id: str) -> None:
        pass

    def _parent_dir(self, layer_id: str) -> str | None:
        parent = self.parent_of(layer_id)
        return self._dir(parent) if parent else None

    def changes(self, layer_id: str) -> list[Change]:
        return tree_changes(self._dir(layer_id), self._parent_dir(layer_id))

    def diff(self, layer_id: str) -> Iterator[bytes]:
        return naive_diff(self._dir(layer_id), self._parent_dir(layer_id), self.idmap)

    def metadata(self, layer_id: str) -> dict[str, str]:
        return {}
