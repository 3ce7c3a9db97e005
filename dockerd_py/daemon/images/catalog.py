"""The images the daemon has: lookups as dockerd does them, the references that
name an image, registering an image (with the hold on its layers) and tagging.
The other image services, and builds, distribution and the containers, go
through this; none of them reaches into the repository."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

from shared import reference as refs

from ...crashpoints import crashpoint
from ...errors import InvalidParameter, NoSuchImage
from ...storage.imageconfig import image_id_of, parse_image_config
from ...storage.layers import Layer, LayerStore
from ..events import Events
from ..store import Store
from .repository import Image, ImageStore
from .shapes import repository_tag

log = logging.getLogger(__name__)


class ImageCatalog:
    def __init__(self, db: Store, layers: LayerStore, events: Events,
                 containers_using: Callable[[str], list[Any]], spool_root: str) -> None:
        self.spool_root = spool_root  # where loads and pulls are staged
        self.store = ImageStore(db)
        self.layers = layers
        self.events = events
        self._containers_using = containers_using  # image id -> containers
        self.lock = asyncio.Lock()  # adding and deleting images
        self._holding: set[str] = set()  # images that hold a reference on their top layer

    def load(self) -> None:
        self.store.load()
        for image in self.store.images.values():
            top = image.top_layer
            if top is not None and top not in self.layers:
                log.error("image %s lost its layers: it fails to run until it is loaded "
                          "or pulled again", image.id)
                continue
            self.layers.acquire(top)
            self._holding.add(image.id)

    # -- lookup ------------------------------------------------------------------
    def get(self, ref_or_id: str) -> Image:
        """Find an image as dockerd does: digest, then reference, then ID prefix."""
        if not ref_or_id:
            raise NoSuchImage(ref_or_id)
        if refs.is_full_id(ref_or_id) or refs.is_digest(ref_or_id):
            image = self.store.images.get(
                ref_or_id if ref_or_id.startswith("sha256:") else "sha256:" + ref_or_id)
            if image is None:
                raise NoSuchImage(ref_or_id)
            return image
        try:
            named = refs.parse(ref_or_id)
        except refs.ReferenceError as exc:
            raise InvalidParameter(str(exc)) from None
        image_id = self.store.refs.get(named.with_default_tag().canonical())
        if image_id is not None:
            return self.store.images[image_id]
        image = self.store.search(ref_or_id)
        if image is not None:
            return image
        raise NoSuchImage(named.with_default_tag().familiar())

    def by_id(self, image_id: str) -> Image | None:
        return self.store.images.get(image_id)

    def all(self) -> list[Image]:
        return list(self.store.images.values())

    def count(self) -> int:
        return len(self.store.images)

    def children(self, image_id: str) -> list[Image]:
        """The images built (committed) directly on this one."""
        return self.store.children(image_id)

    def users(self, image_id: str) -> list[Any]:
        """The containers that use the image."""
        return self._containers_using(image_id)

    def in_use(self, image_id: str) -> bool:
        return bool(self._containers_using(image_id))

    def descends_from(self, image_id: str, ancestor_id: str) -> bool:
        """Whether the image is the ancestor or was built (committed) on top of it."""
        image = self.store.images.get(image_id)
        while image is not None:
            if image.id == ancestor_id:
                return True
            parent = image.meta.get("Parent")
            image = self.store.images.get(parent) if parent else None
        return image_id == ancestor_id

    # -- references ----------------------------------------------------------------
    def references(self, image_id: str) -> list[refs.Reference]:
        return self.store.references(image_id)

    def image_id_of(self, ref: refs.Reference) -> str | None:
        """The image a reference names now, if any."""
        return self.store.refs.get(ref.canonical())

    def tagged(self) -> Iterator[tuple[refs.Reference, Image]]:
        """Every tag (no digests) with its image, oldest reference first."""
        for canonical, image_id in list(self.store.refs.items()):
            ref = refs.parse(canonical)
            if ref.digest is None:
                yield ref, self.store.images[image_id]

    def repo_tags(self, image: Image) -> list[str]:
        return [r.familiar() for r in self.store.references(image.id) if r.digest is None]

    def repo_digests(self, image: Image) -> list[str]:
        return [r.familiar() for r in self.store.references(image.id) if r.digest is not None]

    # -- layers ------------------------------------------------------------------------
    def size(self, image: Image) -> int:
        return sum(layer.size for layer in self.layers.chain(image.top_layer))

    def layer_chain(self, image: Image) -> list[Layer]:
        return self.layers.chain(image.top_layer)

    # -- changes ---------------------------------------------------------------------
    async def tag(self, name: str, repo: str, tag: str | None) -> refs.Reference:
        image = self.get(name)
        ref = repository_tag(repo, tag)
        if ref.digest is not None:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        if ref.path.split("/")[-1] == "scratch" and ref.domain == refs.DEFAULT_DOMAIN:
            raise InvalidParameter("'scratch' is a reserved name")
        if ref.familiar_name == "sha256":  # reference store's addReference
            raise InvalidParameter("refusing to create an ambiguous tag using digest algorithm "
                                   "as name")
        previous = self.store.refs.get(ref.canonical())
        await self.store.add(image, [ref])
        if previous and previous != image.id:
            self.events.publish("image", "untag", previous, {"name": previous})
        self.events.publish("image", "tag", image.id, {"name": ref.familiar()})
        return ref

    async def add_image(self, raw_config: bytes, tags: list[refs.Reference],
                        meta: dict[str, Any] | None = None,
                        acquired_top: bool = False) -> Image:
        """Register an image whose layers are registered. If acquired_top, the
        caller's reference on the top layer passes to the image."""
        config = parse_image_config(raw_config)
        image_id = image_id_of(raw_config)
        async with self.lock:
            existing = self.store.images.get(image_id)
            image = existing or Image(image_id, raw_config, config, dict(meta or {}))
            if image_id in self._holding:
                if acquired_top:  # the image holds its layers already
                    await asyncio.to_thread(self.layers.release, image.top_layer)
            else:  # a new image, or one whose layers had been lost and are back
                if not acquired_top:
                    self.layers.acquire(image.top_layer)
                self._holding.add(image_id)
            crashpoint("image-add:before-record")
            await self.store.add(image, tags)
        return self.store.images[image_id]

    async def remove_ref(self, ref: refs.Reference) -> None:
        await self.store.remove_ref(ref)

    async def forget(self, image: Image) -> None:
        """Remove the image's record and let go of its layers (the caller holds
        the lock and has checked that nothing uses it)."""
        await self.store.remove_image(image.id)
        if image.id in self._holding:
            self._holding.discard(image.id)
            await asyncio.to_thread(self.layers.release, image.top_layer)
