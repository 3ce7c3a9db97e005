"""The layer store: read-only layers keyed by chain ID, with reference counts.

On disk, much as Docker keeps it: <root>/sha256/<chain>/ holds `layer.json`
(the diff ID, the parent chain ID, the driver's directory, sizes) and
`skeleton` (to regenerate the layer tar byte for byte). A layer
appears by renaming a complete staging directory, so a crash leaves either the
whole layer or an orphan that the next start removes.

Every method blocks; the daemon calls them from worker threads.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .changes import Change
from .drivers.base import GraphDriver, remove_tree
from .extract import ExtractResult
from .tarsplit import SkeletonWriter, regenerate
from .tarstream import ByteReader, TarReader

log = logging.getLogger(__name__)
EMPTY_INIT = "empty-init"


def chain_id(parent: str | None, diff_id: str) -> str:
    if parent is None:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest()


def chain_ids(diff_ids: list[str]) -> list[str]:
    out: list[str] = []
    parent = None
    for diff in diff_ids:
        parent = chain_id(parent, diff)
        out.append(parent)
    return out


@dataclass
class Layer:
    chain_id: str
    diff_id: str
    parent: str | None
    cache_id: str
    size: int
    tar_size: int


@dataclass
class StagedLayer:
    """A layer extracted but not yet registered (its parent may be unknown)."""
    cache_id: str
    meta_dir: str
    result: ExtractResult
    parent_cache: str | None


class LayerStore:
    def __init__(self, root: str, driver: GraphDriver) -> None:
        self.root = root
        self.driver = driver
        self._dir = os.path.join(root, "sha256")
        self._tmp = os.path.join(root, "tmp")
        os.makedirs(self._dir, mode=0o700, exist_ok=True)
        os.makedirs(self._tmp, mode=0o700, exist_ok=True)
        self._layers: dict[str, Layer] = {}
        self._refs: dict[str, int] = {}
        self._lock = threading.RLock()
        self._init_lock = threading.Lock()

    # -- loading and garbage collection ---------------------------------------
    def load(self) -> None:
        remove_tree(self._tmp)
        os.makedirs(self._tmp, mode=0o700)
        for name in os.listdir(self._dir):
            path = os.path.join(self._dir, name)
            try:
                with open(os.path.join(path, "layer.json")) as f:
                    meta = json.load(f)
                layer = Layer(chain_id="sha256:" + name, diff_id=meta["diff"],
                              parent=meta.get("parent"), cache_id=meta["cache-id"],
                              size=int(meta["size"]), tar_size=int(meta["tar-size"]))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("layer %s is damaged (%s): removing it", name, exc)
                remove_tree(path)
                continue
            self._layers[layer.chain_id] = layer
        for layer in list(self._layers.values()):
            if layer.parent is not None and layer.parent not in self._layers:
                log.warning("layer %s lost its parent: removing it", layer.chain_id)
                self._forget(layer)
        for layer in self._layers.values():
            if layer.parent is not None:
                self._refs[layer.parent] = self._refs.get(layer.parent, 0) + 1

    def collect_garbage(self, driver_ids_in_use: set[str]) -> None:
        """After images and containers took their references: drop layers no one
        holds and driver directories no layer or container owns."""
        with self._lock:
            for layer in list(self._layers.values()):
                if self._refs.get(layer.chain_id, 0) == 0 and layer.chain_id in self._layers:
                    log.info("removing unreferenced layer %s", layer.chain_id)
                    self._release_locked(layer.chain_id, already_zero=True)
            owned = {layer.cache_id for layer in self._layers.values()}
            owned |= {layer.cache_id + "-init" for layer in self._layers.values()}
            owned |= driver_ids_in_use | {EMPTY_INIT}
        for name in self.driver.list_ids():
            if name not in owned:
                log.info("removing orphaned %s directory %s", self.driver.name, name)
                self.driver.remove(name)
        markers = os.path.join(self.root, "init")
        for name in os.listdir(markers) if os.path.isdir(markers) else []:
            if name not in owned:  # the record of an init layer whose image is gone
                self._drop_init_marker(name)
        inits = [f"{layer.cache_id}-init" for layer in self._layers.values()] + [EMPTY_INIT]
        for init_id in inits:
            if self.driver.exists(init_id) and not os.path.exists(os.path.join(markers, init_id)):
                # half made when the daemon died (the marker comes last; no container
                # sits on it): its setup mount goes with it, ensure_init makes it again
                log.info("removing half-made init layer %s", init_id)
                self.driver.remove(init_id)

    # -- queries -----------------------------------------------------------------
    def get(self, chain: str) -> Layer | None:
        return self._layers.get(chain)

    def __contains__(self, chain: str) -> bool:
        return chain in self._layers

    def all(self) -> list[Layer]:
        return list(self._layers.values())

    def chain(self, top: str | None) -> list[Layer]:
        """The layers from the bottom to top (those present: an image whose layers
        were lost still lists, with what is left, instead of breaking every list)."""
        out = []
        while top is not None:
            layer = self._layers.get(top)
            if layer is None:
                break
            out.append(layer)
            top = layer.parent
        return list(reversed(out))

    # -- registration --------------------------------------------------------------
    def stage(self, stream: ByteReader, parent: str | None) -> StagedLayer:
        """Extract a layer tar into a new driver directory (no registration yet).
        With an independent driver the parent may be given later."""
        parent_cache = self._layers[parent].cache_id if parent else None
        cache_id = GraphDriver.new_id()
        meta_dir = os.path.join(self._tmp, secrets.token_hex(16))
        os.mkdir(meta_dir, 0o700)
        try:
            self.driver.create(cache_id, parent_cache)
            skeleton = SkeletonWriter(os.path.join(meta_dir, "skeleton"),
                                      os.path.join(meta_dir, "sidecar"))
            try:
                result = self.driver.apply_diff(cache_id, TarReader(stream), skeleton)
            except BaseException:
                skeleton.abort()
                raise
            skeleton.close()
        except BaseException:
            self.driver.remove(cache_id)
            remove_tree(meta_dir)
            raise
        return StagedLayer(cache_id, meta_dir, result, parent_cache)

    def discard(self, staged: StagedLayer) -> None:
        self.driver.remove(staged.cache_id)
        remove_tree(staged.meta_dir)

    def commit(self, staged: StagedLayer, parent: str | None) -> Layer:
        """Register a staged layer on top of parent; an identical existing layer
        wins and the staged copy is dropped. The result holds one reference."""
        diff_id = staged.result.digest
        chain = chain_id(parent, diff_id)
        with self._lock:
            existing = self._layers.get(chain)
            if existing is not None:
                self._refs[chain] = self._refs.get(chain, 0) + 1
                self.discard(staged)
                return existing
            parent_cache = self._layers[parent].cache_id if parent else None
            if parent_cache != staged.parent_cache:
                self.driver.set_parent(staged.cache_id, parent_cache)
            layer = Layer(chain, diff_id, parent, staged.cache_id, staged.result.size,
                          staged.result.tar_size)
            _write_json(os.path.join(staged.meta_dir, "layer.json"), {
                "diff": diff_id, "parent": parent, "cache-id": staged.cache_id,
                "size": layer.size, "tar-size": layer.tar_size})
            _fsync_dir(staged.meta_dir)
            os.rename(staged.meta_dir, self._path(chain))
            _fsync_dir(self._dir)
            self._layers[chain] = layer
            self._refs[chain] = 1
            if parent:
                self._refs[parent] = self._refs.get(parent, 0) + 1
            return layer

    def register(self, stream: ByteReader, parent: str | None) -> Layer:
        return self.commit(self.stage(stream, parent), parent)

    # -- references ----------------------------------------------------------------
    def acquire(self, chain: str | None) -> None:
        if chain is None:
            return
        with self._lock:
            if chain not in self._layers:
                raise KeyError(chain)
            self._refs[chain] = self._refs.get(chain, 0) + 1

    def release(self, chain: str | None) -> None:
        """Drop one reference; a layer no one holds is removed, and so on down."""
        if chain is None:
            return
        with self._lock:
            self._release_locked(chain)

    def _release_locked(self, chain: str, already_zero: bool = False) -> None:
        current: str | None = chain
        first = True
        while current is not None:
            if not (first and already_zero):
                count = self._refs.get(current, 0) - 1
                if count > 0:
                    self._refs[current] = count
                    return
            first = False
            self._refs.pop(current, None)
            layer = self._layers.get(current)
            if layer is None:
                return
            self._forget(layer)
            current = layer.parent

    def _forget(self, layer: Layer) -> None:
        self._layers.pop(layer.chain_id, None)
        path = self._path(layer.chain_id)
        trash = os.path.join(self._tmp, "rm-" + secrets.token_hex(8))
        try:
            os.rename(path, trash)  # atomic: the layer is gone before cleanup
        except FileNotFoundError:
            trash = path
        for cache in (layer.cache_id + "-init", layer.cache_id):
            if self.driver.exists(cache):
                self.driver.remove(cache)
        self._drop_init_marker(layer.cache_id + "-init")
        remove_tree(trash)

    def _drop_init_marker(self, init_id: str) -> None:
        try:
            os.unlink(os.path.join(self.root, "init", init_id))
        except FileNotFoundError:
            pass

    def refcount(self, chain: str) -> int:
        return self._refs.get(chain, 0)

    # -- content ---------------------------------------------------------------------
    def tar_stream(self, chain: str) -> Iterator[bytes]:
        layer = self._layers[chain]
        path = self._path(chain)
        return regenerate(os.path.join(path, "skeleton"), self.driver.diff_path(layer.cache_id),
                          os.path.join(path, "sidecar"))

    def _path(self, chain: str) -> str:
        return os.path.join(self._dir, chain.split(":", 1)[1])

    # -- container filesystems ----------------------------------------------------
    def ensure_init(self, top: str | None, setup: Callable[[str], None]) -> str:
        """The read-only init layer above an image's top layer (made once per
        image): real /dev, /proc, /sys, /etc/hosts... entries, so the image's
        own symlinks there never reach the runtime."""
        parent_cache = self._layers[top].cache_id if top else None
        init_id = f"{parent_cache}-init" if parent_cache else EMPTY_INIT
        marker = os.path.join(self.root, "init", init_id)
        with self._init_lock:
            if os.path.exists(marker):
                return init_id
            if self.driver.exists(init_id):
                self.driver.remove(init_id)  # left half-made by a crash
            self.driver.create(init_id, parent_cache)
            try:
                root = self.driver.get(init_id)
                try:
                    setup(root)
                finally:
                    self.driver.put(init_id)
            except BaseException:
                self.driver.remove(init_id)
                raise
            os.makedirs(os.path.dirname(marker), mode=0o700, exist_ok=True)
            _write_json(marker, {"parent": top})
        return init_id

    def create_rw(self, rw_id: str, init_id: str) -> RWLayer:
        self.driver.create(rw_id, init_id)
        return RWLayer(self.driver, rw_id)

    def rw_layer(self, rw_id: str) -> RWLayer:
        return RWLayer(self.driver, rw_id)

    @property
    def driver_name(self) -> str:
        return self.driver.name


class RWLayer:
    """A container's read-write layer: what the container services may do with
    it, whatever the graph driver (all calls block: run them off the loop)."""

    def __init__(self, driver: GraphDriver, rw_id: str) -> None:
        self._driver = driver
        self.id = rw_id

    def mount(self) -> str:
        """Mount (counted) and return the container's whole filesystem."""
        return self._driver.get(self.id)

    def unmount(self) -> None:
        self._driver.put(self.id)

    def adopt_mount(self) -> None:
        """A running container's mount survived a daemon restart: count it."""
        self._driver.adopt_mount(self.id)

    def exists(self) -> bool:
        return self._driver.exists(self.id)

    def remove(self) -> None:
        self._driver.remove(self.id)

    def size(self) -> int:
        return self._driver.size(self.id)

    def changes(self) -> list[Change]:
        return self._driver.changes(self.id)

    def diff(self) -> Iterator[bytes]:
        return self._driver.diff(self.id)

    def graph_driver(self) -> dict[str, Any]:
        """GraphDriver of container inspect."""
        return {"Name": self._driver.name, "Data": self._driver.metadata(self.id) or None}


def _write_json(path: str, doc: dict) -> None:
    with open(path, "w") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
