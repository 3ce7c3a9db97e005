"""Volumes: named and anonymous, their documents as Docker shows them, who uses
them, and mounting them for containers through their driver (volumes/drivers/)."""
from __future__ import annotations

import asyncio
import builtins
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from shared.filters import Filters

from ..apitypes.volume import VOLUME
from ..config import DaemonConfig
from ..crashpoints import crashpoint
from ..errors import Conflict, InvalidParameter, NotFound
from ..volumes.drivers import VOLUME_DRIVERS, VolumeDriver, VolumeDriverError
from ..volumes.drivers.plugin import PluginDriver, find_plugin
from .container_mounts import MountPoint
from .containers.record import Container
from .events import Events
from .store import Store, dumps, loads

log = logging.getLogger(__name__)
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
ANONYMOUS = "com.docker.volume.anonymous"   # the label Docker puts on anonymous volumes
VOLUME_FILTERS = {"dangling", "driver", "label", "label!", "name"}


def volume_mounts(ctr: Container) -> list[MountPoint]:
    return [m for m in ctr.internal.mounts if m.type == "volume"]


class VolumeService:
    def __init__(self, cfg: DaemonConfig, db: Store, events: Events,
                 containers: Callable[[], list[Container]],
                 owner: tuple[int, int] | None = None) -> None:
        self.db = db
        self.events = events
        self.containers = containers  # every container, to know who uses a volume
        root = os.path.join(cfg.data_root, "volumes")
        self.drivers: dict[str, VolumeDriver] = {n: cls(root, owner)
                                                 for n, cls in VOLUME_DRIVERS.items()}
        self.plugin_dirs = list(cfg.plugin_dirs)
        self.volumes: dict[str, dict[str, Any]] = {}

    async def load(self) -> None:
        rows = await self.db.run(lambda c: c.execute("SELECT name, doc FROM volumes").fetchall())
        for name, doc in rows:
            self.volumes[name] = loads(doc)
        await self._adopt_orphans()

    async def _adopt_orphans(self) -> None:
        """A local volume directory without its record (a crash between the two)
        is a volume, as dockerd's local driver counts what is on disk: its data
        is kept, without the labels it was to have."""
        local = self.drivers["local"]
        for name in await asyncio.to_thread(local.names):  # type: ignore[attr-defined]
            if name in self.volumes:
                continue
            await self._record(_volume_doc(name, "local", local.path(name), {}, {},
                                           os.stat(local.path(name)).st_mtime))
            log.warning("volume %s had a directory but no record: kept as a volume", name)

    def driver_of(self, doc: dict[str, Any]) -> VolumeDriver:
        return self.driver(doc["Driver"])

    def driver(self, name: str) -> VolumeDriver:
        """A built-in driver, or a plugin found in the plugin directories (file
        lookups only here: the plugin is first spoken to from a worker thread)."""
        driver = self.drivers.get(name)
        if driver is None:
            address = find_plugin(name, self.plugin_dirs)
            if address is None:
                raise NotFound(f'error looking up volume plugin {name}: plugin "{name}" '
                               "not found")
            driver = self.drivers[name] = PluginDriver(name, address)
        return driver

    def plugin_names(self) -> list[str]:
        return sorted(n for n, d in self.drivers.items() if isinstance(d, PluginDriver))

    # -- create, get, remove ------------------------------------------------------
    async def create(self, name: str | None, driver_name: str = "local",
                     options: dict[str, str] | None = None,
                     labels: dict[str, str] | None = None) -> dict[str, Any]:
        anonymous = not name
        name = name or secrets.token_hex(32)
        if not NAME.match(name):
            raise InvalidParameter(f'create {name}: "{name}" includes invalid characters for a '
                                   'local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are '
                                   "allowed. If you intended to pass a host directory, use "
                                   "absolute path")
        existing = self.volumes.get(name)
        if existing is not None:  # no driver named (`-v name:/path`): whatever it has
            if driver_name and existing["Driver"] != driver_name:
                raise Conflict(f"create {name}: volume name must be unique")
            return existing
        driver_name = driver_name or "local"
        driver = self.driver(driver_name)
        labels = dict(labels) if labels is not None else None  # none sent: null, as Docker
        if anonymous:
            labels = dict(labels or {})
            labels.setdefault(ANONYMOUS, "")
        options = {str(k): str(v) for k, v in (options or {}).items()}
        def make() -> str:
            driver.create(name, options)
            return driver.path(name)
        try:
            mountpoint = await asyncio.to_thread(make)
        except VolumeDriverError as exc:
            raise InvalidParameter(f"create {name}: {exc}") from None
        crashpoint("volume-create:directory-made")
        doc = _volume_doc(name, driver_name, mountpoint, labels, options)
        try:
            await self._record(doc)
        except BaseException:
            await asyncio.to_thread(driver.remove, name)
            raise
        self.events.publish("volume", "create", name, {"driver": driver_name})
        return doc

    async def _record(self, doc: dict[str, Any]) -> None:
        await self.db.run(lambda c: c.execute("INSERT INTO volumes(name, doc) VALUES (?, ?)",
                                              (doc["Name"], dumps(doc))))
        self.volumes[doc["Name"]] = doc

    def get(self, name: str) -> dict[str, Any]:
        doc = self.volumes.get(name)
        if doc is None:
            raise NotFound(f"get {name}: no such volume")
        return doc

    def users(self, name: str) -> list[str]:
        """The containers (IDs) configured with the volume, running or not."""
        return [c.id for c in self.containers()
                if any(m.name == name for m in volume_mounts(c))]

    async def remove(self, name: str, force: bool = False) -> None:
        doc = self.volumes.get(name)
        if doc is None:
            if force:
                return
            raise NotFound(f"get {name}: no such volume")
        users = self.users(name)
        if users:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        await self.db.run(lambda c: c.execute("DELETE FROM volumes WHERE name=?", (name,)))
        self.volumes.pop(name, None)
        try:
            await asyncio.to_thread(self.driver_of(doc).remove, name)
        except (OSError, VolumeDriverError) as exc:
            log.error("removing the data of volume %s: %s", name, exc)
        self.events.publish("volume", "destroy", name, {"driver": doc["Driver"]})

    async def prune(self, filters: Filters, api_version: tuple[int, ...]) -> dict[str, Any]:
        filters.validate({"label", "label!", "all"})
        everything = filters.match_bool("all", True) if "all" in filters else \
            api_version < (1, 42)
        deleted, reclaimed = [], 0
        for name, doc in list(self.volumes.items()):
            if self.users(name):
                continue
            if not everything and ANONYMOUS not in (doc.get("Labels") or {}):
                continue
            if not filters.match_all_labels(doc.get("Labels") or {}):
                continue
            size = await asyncio.to_thread(self.driver_of(doc).size, name)
            await self.remove(name)
            deleted.append(name)
            reclaimed += max(size, 0)
        return {"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # -- views ----------------------------------------------------------------------
    def list(self, filters: Filters) -> list[dict[str, Any]]:
        filters.validate(VOLUME_FILTERS)
        out = []
        for name, doc in sorted(self.volumes.items()):
            if "name" in filters and not any(v in name for v in filters.get("name")):
                continue
            if not filters.match_exact("driver", doc["Driver"]):
                continue
            if "dangling" in filters and not filters.match_bool("dangling",
                                                                not self.users(name)):
                continue
            if not filters.match_all_labels(doc.get("Labels") or {}):
                continue
            out.append(VOLUME.marshal(doc))
        return out

    async def with_usage(self, doc: dict[str, Any]) -> dict[str, Any]:
        size = await asyncio.to_thread(self.driver_of(doc).size, doc["Name"])
        return VOLUME.marshal(dict(doc, UsageData={"Size": size,
                                                   "RefCount": len(self.users(doc["Name"]))}))

    async def disk_usage(self) -> builtins.list[dict[str, Any]]:
        return [await self.with_usage(doc) for doc in self.volumes.values()]

    # -- containers' use -----------------------------------------------------------------
    def mount(self, name: str, user: str) -> str:
        """Blocking: the volume ready for a container; its path."""
        doc = self.get(name)
        try:
            return self.driver_of(doc).mount(name, doc.get("Options") or {}, user)
        except VolumeDriverError as exc:
            raise InvalidParameter(f"error while mounting volume '{doc['Mountpoint']}': "
                                   f"{exc}") from None

    def unmount(self, name: str, user: str) -> None:
        doc = self.volumes.get(name)
        if doc is not None:
            try:
                self.driver_of(doc).unmount(name, doc.get("Options") or {}, user)
            except (OSError, VolumeDriverError) as exc:
                log.error("unmounting volume %s: %s", name, exc)

    def adopt(self, ctr: Container) -> None:
        """A running container's volume mounts that survived a daemon restart."""
        for m in volume_mounts(ctr):
            doc = self.volumes.get(m.name)
            if doc is not None:
                self.driver_of(doc).adopt(m.name, ctr.id)


def _volume_doc(name: str, driver: str, mountpoint: str, labels: dict[str, str] | None,
                options: dict[str, str], created: float | None = None) -> dict[str, Any]:
    """A volume's document as `volume inspect` shows it (created: now if None)."""
    return {"CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
            "Driver": driver, "Labels": labels, "Mountpoint": mountpoint,
            "Name": name, "Options": options or None, "Scope": "local"}
