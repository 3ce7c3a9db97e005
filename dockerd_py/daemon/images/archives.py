"""Images in and out as archives: `docker import` (a rootfs tar), `docker save`
and `docker load` (Docker's image archive)."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from shared import reference as refs
from shared.api import ENGINE_VERSION
from shared.timeutil import now_rfc3339

from ...builder.dockerfile import apply_change
from ...distribution import archive
from ...errors import InvalidParameter
from ...storage.imageconfig import image_id_of
from ...storage.layers import chain_ids
from ...streams import feed_blocking, iterate_blocking
from .catalog import ImageCatalog
from .repository import Image
from .shapes import linux_platform, repository_tag


class ImageArchives:
    def __init__(self, catalog: ImageCatalog) -> None:
        self.catalog = catalog

    async def import_image(self, source: AsyncIterator[bytes], repo: str | None,
                           tag: str | None, changes: list[str], message: str,
                           platform_text: str | None, src: str = "-") -> Image:
        """`docker import`: one layer from a rootfs tar, a config from changes."""
        ref = repository_tag(repo, tag) if repo else None
        if ref is not None and ref.digest is not None:
            raise InvalidParameter("cannot import digest reference")
        os_name, arch, variant = linux_platform(platform_text)
        config: dict[str, Any] = {}
        for change in changes:
            apply_change(config, change)
        layer = await feed_blocking(source, lambda f: self.catalog.layers.register(f, None))
        created = now_rfc3339()
        msg = message or f"Imported from {src}"
        image_config: dict[str, Any] = {
            "architecture": arch, "comment": msg, "config": config or {},
            "created": created, "docker_version": ENGINE_VERSION,
            "history": [{"created": created, "comment": msg}],
            "os": os_name, "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]}}
        if variant:
            image_config["variant"] = variant
        raw = json.dumps(image_config, separators=(",", ":")).encode()
        image = await self.catalog.add_image(raw, [ref] if ref else [], acquired_top=True)
        self.catalog.events.publish("image", "import", image.id, {"name": image.id})
        return image

    # -- save and load --------------------------------------------------------------
    def _save_targets(self, names: list[str]) -> list[tuple[Image, list[refs.Reference]]]:
        """Images by name, as `docker save` picks them: `repo` means all its tags,
        `repo:tag` that tag, an ID the untagged image."""
        chosen: dict[str, list[refs.Reference]] = {}
        for name in names:
            tags: list[refs.Reference] = []
            image = None
            try:
                ref = refs.parse(name)
            except refs.ReferenceError:
                ref = None
            if ref is not None and ref.tag is None and ref.digest is None:
                for candidate, tagged in self.catalog.tagged():
                    if candidate.name == ref.name and candidate.tag:
                        chosen.setdefault(tagged.id, []).append(candidate)
                        image = tagged
                if image is not None:
                    continue
            image = self.catalog.get(name)
            if ref is not None and (ref.tag or ref.digest) and not image.id.endswith(name):
                named = ref.with_default_tag()
                if self.catalog.image_id_of(named) is not None:
                    tags.append(named)
            chosen.setdefault(image.id, []).extend(tags)
        return [(self.catalog.store.images[i], t) for i, t in chosen.items()]

    def save_archive(self, names: list[str]) -> AsyncIterator[bytes]:
        """The archive of the named images; unknown names fail before any byte."""
        targets = self._save_targets(names)
        items = [archive.SaveItem(image.id, image.raw_config, image.diff_ids,
                                  chain_ids(image.diff_ids), tags, image.created_ns / 1e9,
                                  image.meta.get("Parent", ""))
                 for image, tags in targets]
        chains = {c for item in items for c in item.chains}
        for image, _ in targets:
            self.catalog.events.publish("image", "save", image.id, {"name": image.id})

        def produce():  # type: ignore[no-untyped-def]
            for chain in chains:  # held while streaming: a concurrent rmi cannot pull them
                self.catalog.layers.acquire(chain)
            try:
                yield from archive.save(items, self.catalog.layers)
            finally:
                for chain in chains:
                    self.catalog.layers.release(chain)
        return iterate_blocking(produce)

    async def load_archive(self, source: AsyncIterator[bytes]) -> list[str]:
        """`docker load`: returns the lines Docker prints (`Loaded image: ...`)."""
        spool = archive.new_spool_dir(self.catalog.spool_root)
        loader = archive.Loader(self.catalog.layers, spool)
        lines: list[str] = []
        try:
            await feed_blocking(source, loader.read)
            images = loader.images()
            await asyncio.to_thread(loader.check, images)
            for loaded in images:
                lines += await self._register_loaded(loader, loaded)
        finally:
            await asyncio.to_thread(loader.discard_all)
            archive.remove_spool_dir(spool)
        return lines

    async def _register_loaded(self, loader: archive.Loader,
                               loaded: archive.LoadedImage) -> list[str]:
        lines = []
        for ref in loaded.tags:
            old = self.catalog.image_id_of(ref)
            if old is not None and old != image_id_of(loaded.raw_config):
                lines.append(f"The image {ref.familiar()} already exists, renaming the old "
                             f"one with ID {old} to empty string")
        await asyncio.to_thread(loader.register, loaded)  # holds the top layer for us
        meta = {"Parent": loaded.parent} if self.catalog.by_id(loaded.parent) else {}
        image = await self.catalog.add_image(loaded.raw_config, loaded.tags, meta, acquired_top=True)
        self.catalog.events.publish("image", "load", image.id, {"name": image.id})
        if loaded.tags:
            lines += [f"Loaded image: {ref.familiar()}" for ref in loaded.tags]
        else:
            lines.append(f"Loaded image ID: {image.id}")
        return lines
