"""The containers of this daemon: the in-memory index by ID and name, and the
one place that reads and writes their SQL rows."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from ...config import DaemonConfig
from ...errors import InvalidParameter, NameConflict, NoSuchContainer
from ...userns import IDENTITY, IdMap, chown_dir
from ..store import Store, dumps, loads
from .record import Container, Internal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContainerPaths:
    """Where a container's files live: its directory in the data root (logs,
    hosts files), its bundle in the exec root, and conmon's exit files."""
    root: str
    run_root: str
    exit_dir: str

    @classmethod
    def of(cls, cfg: DaemonConfig, idmap: IdMap = IDENTITY) -> ContainerPaths:
        paths = cls(os.path.join(cfg.data_root, "containers"),
                    os.path.join(cfg.exec_root, "containers"),
                    os.path.join(cfg.exec_root, "exits"))
        for path in (paths.root, paths.run_root, paths.exit_dir):
            os.makedirs(path, mode=0o700, exist_ok=True)
        chown_dir(paths.root, idmap, 0o710)  # on the way to each container's name files
        return paths

    def dir(self, cid: str) -> str:
        return os.path.join(self.root, cid)

    def bundle(self, cid: str) -> str:
        return os.path.join(self.run_root, cid)


class ContainerRepository:
    def __init__(self, db: Store) -> None:
        self.db = db
        self.containers: dict[str, Container] = {}
        self.names: dict[str, str] = {}

    # -- lookup ----------------------------------------------------------------
    def get(self, name_or_id: str) -> Container:
        if not name_or_id:
            raise InvalidParameter(f'invalid name or ID supplied: "{name_or_id}"')
        ctr = self.containers.get(name_or_id)
        if ctr is not None:
            return ctr
        cid = self.names.get(name_or_id.lstrip("/"))
        if cid is not None and cid in self.containers:  # (a name whose create is under
            return self.containers[cid]                  # way names no container yet)
        matches = [c for i, c in self.containers.items() if i.startswith(name_or_id)]
        if len(matches) > 1:
            raise InvalidParameter(f"multiple IDs found with provided prefix: {name_or_id}")
        if not matches:
            raise NoSuchContainer(name_or_id)
        return matches[0]

    def all(self) -> list[Container]:
        return list(self.containers.values())

    def using_image(self, image_id: str) -> list[Container]:
        return [c for c in self.containers.values() if c.image_id == image_id]

    def __contains__(self, cid: str) -> bool:
        return cid in self.containers

    # -- names: reserved before the first await, so a race has one winner --------
    def reserve_name(self, name: str, cid: str) -> None:
        owner = self.names.get(name)
        if owner is not None:
            raise NameConflict(name, owner)
        self.names[name] = cid

    def release_name(self, name: str, cid: str) -> None:
        if self.names.get(name) == cid:
            self.names.pop(name, None)

    # -- rows --------------------------------------------------------------------
    def add(self, ctr: Container) -> None:
        self.containers[ctr.id] = ctr
        self.names[ctr.name] = ctr.id
        for full, child in ctr.internal.links.items():
            # a link's name (`parent/alias`) names its child, as in dockerd's registry; one
            # taken already stays its owner's (dockerd logs that and goes on)
            self.names.setdefault(full.lstrip("/"), child)

    def relink(self, ctr: Container, old_links: dict[str, str]) -> None:
        """The container's links changed (a rename): their old names go, the new come."""
        for full, child in old_links.items():
            self.release_name(full.lstrip("/"), child)
        self.add(ctr)

    def unlink(self, full: str) -> Container | None:
        """Forget the link named `/parent/alias`; returns its parent."""
        parent = self.containers.get(self.names.get(full.lstrip("/").rsplit("/", 1)[0], ""))
        if parent is not None and parent.internal.links.pop(full, None) is not None:
            self.names.pop(full.lstrip("/"), None)
        return parent

    def link_names(self) -> dict[str, list[str]]:
        """Each linked container's names as its parents' links (`/parent/alias`)."""
        out: dict[str, list[str]] = {}
        for name, cid in self.names.items():
            if "/" in name:
                out.setdefault(cid, []).append("/" + name)
        return {cid: sorted(names) for cid, names in out.items()}

    async def save(self, ctr: Container) -> None:
        doc, internal = dumps(ctr.doc), dumps(ctr.internal.to_json())
        await self.db.run(lambda c: c.execute(
            "INSERT INTO containers(id, name, image_id, doc, internal) VALUES (?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET name=excluded.name, doc=excluded.doc, "
            "internal=excluded.internal", (ctr.id, ctr.name, ctr.image_id, doc, internal)))

    async def delete(self, ctr: Container) -> None:
        """Forget the container: its row first, then the index."""
        await self.db.run(lambda c: c.execute("DELETE FROM containers WHERE id=?", (ctr.id,)))
        self.containers.pop(ctr.id, None)
        self.release_name(ctr.name, ctr.id)
        for full, child in ctr.internal.links.items():
            self.release_name(full.lstrip("/"), child)

    async def load(self) -> list[Container]:
        rows = await self.db.run(lambda c: c.execute(
            "SELECT id, name, doc, internal FROM containers").fetchall())
        for cid, name, doc, internal in rows:
            try:
                ctr = Container(cid, name, loads(doc), Internal.from_json(loads(internal)))
            except (ValueError, TypeError):
                log.error("container %s has a corrupt record; skipping it", cid)
                continue
            self.add(ctr)
        return self.all()
