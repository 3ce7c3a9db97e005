"""Images as the daemon keeps them: the config (its digest is the image ID), the
references that name it, and the SQL behind both. Indexed in memory by ID, by
reference and by parent (a build-cache probe looks at one image's children)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from shared import reference as refs
from shared.timeutil import now_rfc3339, parse_rfc3339

from ...errors import InvalidParameter
from ...storage.layers import chain_ids
from ..store import Store, dumps, loads

log = logging.getLogger(__name__)


@dataclass
class Image:
    id: str                      # sha256:<config digest>
    raw_config: bytes
    config: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)  # Parent, LastTagTime

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def top_layer(self) -> str | None:
        chains = chain_ids(self.diff_ids)
        return chains[-1] if chains else None

    @property
    def container_config(self) -> dict[str, Any]:
        return self.config.get("config") or {}

    @property
    def created_ns(self) -> int:
        created = self.config.get("created")
        try:
            return parse_rfc3339(created) if created else 0
        except ValueError:
            return 0

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[1][:12]


class ImageStore:
    """In-memory indexes over the images and refs tables."""

    def __init__(self, db: Store) -> None:
        self.db = db
        self.images: dict[str, Image] = {}
        self.refs: dict[str, str] = {}  # canonical reference -> image id
        self.ref_times: dict[str, str] = {}
        self._children: dict[str, set[str]] = {}  # parent id -> ids of images built on it

    def load(self) -> None:
        def read(conn: Any) -> tuple[list, list]:
            return (conn.execute("SELECT id, config, meta FROM images").fetchall(),
                    conn.execute("SELECT name, image_id FROM refs").fetchall())
        images, references = self.db.run_sync(read)
        for image_id, raw, meta in images:
            try:
                self._index(Image(image_id, bytes(raw), json.loads(raw), loads(meta)))
            except ValueError:
                log.error("image %s has a corrupt config; skipping it", image_id)
        for name, image_id in references:
            if image_id in self.images:
                self.refs[name] = image_id

    def _index(self, image: Image) -> None:
        self.images[image.id] = image
        parent = image.meta.get("Parent")
        if parent:
            self._children.setdefault(parent, set()).add(image.id)

    def children(self, image_id: str) -> list[Image]:
        """The images built (committed) directly on this one."""
        return [self.images[i] for i in self._children.get(image_id, ()) if i in self.images]

    def references(self, image_id: str) -> list[refs.Reference]:
        return sorted((refs.parse(name) for name, iid in self.refs.items() if iid == image_id),
                      key=lambda r: r.canonical())

    def search(self, prefix: str) -> Image | None:
        """An image by ID or unique ID prefix (with or without `sha256:`)."""
        term = prefix.split(":", 1)[1] if prefix.startswith("sha256:") else prefix
        if not term or not all(c in "0123456789abcdef" for c in term):
            return None
        found = [img for iid, img in self.images.items() if iid[7:].startswith(term)]
        if len(found) > 1:
            raise InvalidParameter(f"ambiguous image ID prefix: {prefix}")  # as digestset
        return found[0] if found else None

    async def add(self, image: Image, tags: list[refs.Reference]) -> None:
        now = now_rfc3339()

        def write(conn: Any) -> None:
            conn.execute("INSERT OR IGNORE INTO images(id, config, meta) VALUES (?,?,?)",
                         (image.id, image.raw_config, dumps(image.meta)))
            for ref in tags:
                conn.execute("INSERT OR REPLACE INTO refs(name, image_id) VALUES (?,?)",
                             (ref.canonical(), image.id))
        await self.db.run(write)
        if image.id not in self.images:
            self._index(image)
        for ref in tags:
            self.refs[ref.canonical()] = image.id
            self.ref_times[image.id] = now
        if tags:
            self.images[image.id].meta["LastTagTime"] = now

    async def remove_ref(self, ref: refs.Reference) -> None:
        name = ref.canonical()
        await self.db.run(lambda c: c.execute("DELETE FROM refs WHERE name=?", (name,)))
        self.refs.pop(name, None)

    async def remove_image(self, image_id: str) -> None:
        await self.db.run(lambda c: c.execute("DELETE FROM images WHERE id=?", (image_id,)))
        image = self.images.pop(image_id, None)
        parent = image.meta.get("Parent") if image is not None else None
        if parent:
            self._children.get(parent, set()).discard(image_id)
        for name in [n for n, iid in self.refs.items() if iid == image_id]:
            self.refs.pop(name, None)
