"""Images: configs keyed by their digest, references (tags and digests), and the
operations on them. Layers live in the layer store; this service holds the rules.
"""
from __future__ import annotations

import asyncio
import builtins
import fnmatch
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from shared import reference as refs
from shared.api import ENGINE_VERSION
from shared.filters import Filters
from shared.timeutil import ZERO_TIME, now_rfc3339, parse_rfc3339

from ..builder.dockerfile import apply_change
from ..crashpoints import crashpoint
from ..distribution import archive
from ..errors import Conflict, InvalidParameter, NoSuchImage
from ..storage.imageconfig import image_id_of, parse_image_config
from ..storage.layers import Layer, LayerStore, chain_ids
from ..streams import feed_blocking, iterate_blocking
from .events import Events
from .image_store import Image, ImageStore, container_config_shape, parse_platform, repository_tag
from .store import Store

log = logging.getLogger(__name__)

IMAGE_LIST_FILTERS = {"dangling", "label", "label!", "before", "since", "reference", "until"}


class ImageService:
    def __init__(self, db: Store, layers: LayerStore, events: Events,
                 containers_using: Callable[[str], list[Any]], spool_root: str) -> None:
        self.spool_root = spool_root  # where loads are staged
        self.store = ImageStore(db)
        self.layers = layers
        self.events = events
        self._containers_using = containers_using  # image id -> containers
        self._lock = asyncio.Lock()
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

    def in_use(self, image_id: str) -> bool:
        """Whether a container uses the image."""
        return bool(self._containers_using(image_id))

    def count(self) -> int:
        return len(self.store.images)

    def by_id(self, image_id: str) -> Image | None:
        return self.store.images.get(image_id)

    def descends_from(self, image_id: str, ancestor_id: str) -> bool:
        """Whether the image is the ancestor or was built (committed) on top of it."""
        image = self.store.images.get(image_id)
        while image is not None:
            if image.id == ancestor_id:
                return True
            parent = image.meta.get("Parent")
            image = self.store.images.get(parent) if parent else None
        return image_id == ancestor_id

    def repo_tags(self, image: Image) -> list[str]:
        return [r.familiar() for r in self.store.references(image.id) if r.digest is None]

    def repo_digests(self, image: Image) -> list[str]:
        return [r.familiar() for r in self.store.references(image.id) if r.digest is not None]

    def size(self, image: Image) -> int:
        return sum(layer.size for layer in self.layers.chain(image.top_layer))

    def layer_chain(self, image: Image) -> list[Layer]:
        return self.layers.chain(image.top_layer)

    # -- views ---------------------------------------------------------------------
    def inspect(self, name: str, api_version: tuple[int, ...]) -> dict[str, Any]:
        image = self.get(name)
        cfg = image.config
        top = image.top_layer
        doc: dict[str, Any] = {
            "Id": image.id,
            "RepoTags": self.repo_tags(image),
            "RepoDigests": self.repo_digests(image),
            "Parent": image.meta.get("Parent", ""),
            "Comment": cfg.get("comment", ""),
            "Created": cfg.get("created") or ZERO_TIME,
        }
        if api_version < (1, 45):
            doc["Container"] = cfg.get("container", "")
            doc["ContainerConfig"] = container_config_shape(cfg.get("container_config"))
        doc.update({
            "DockerVersion": cfg.get("docker_version", ""),
            "Author": cfg.get("author", ""),
            "Config": container_config_shape(image.container_config),
            "Architecture": cfg.get("architecture", ""),
        })
        if cfg.get("variant"):
            doc["Variant"] = cfg["variant"]
        doc["Os"] = cfg.get("os", "")
        if cfg.get("os.version"):
            doc["OsVersion"] = cfg["os.version"]
        doc["Size"] = self.size(image)
        if api_version < (1, 44):
            doc["VirtualSize"] = doc["Size"]
        layer = self.layers.get(top) if top else None
        doc["GraphDriver"] = {
            "Name": self.layers.driver.name,
            "Data": self.layers.driver.metadata(layer.cache_id) if layer else None}
        doc["RootFS"] = {"Type": "layers", "Layers": image.diff_ids}
        doc["Metadata"] = {"LastTagTime": image.meta.get("LastTagTime") or ZERO_TIME}
        return doc

    def summary(self, image: Image, api_version: tuple[int, ...],
                containers: int = -1) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "Containers": containers,
            "Created": image.created_ns // 1_000_000_000,
            "Id": image.id,
            "Labels": image.container_config.get("Labels") or {},
            "ParentId": image.meta.get("Parent", ""),
            "RepoDigests": self.repo_digests(image),
            "RepoTags": self.repo_tags(image),
            "SharedSize": -1,
            "Size": self.size(image),
        }
        if api_version < (1, 43) and not doc["RepoTags"] and not doc["RepoDigests"]:
            doc["RepoTags"] = ["<none>:<none>"]
            doc["RepoDigests"] = ["<none>@<none>"]
        if api_version < (1, 44):
            doc["VirtualSize"] = doc["Size"]
        return doc

    def list(self, show_all: bool, filters: Filters, api_version: tuple[int, ...],
             digests: bool = False) -> builtins.list[dict[str, Any]]:
        filters.validate(IMAGE_LIST_FILTERS)
        images = list(self.store.images.values())
        before = self._bound(filters, "before")
        since = self._bound(filters, "since")
        until = filters.until_ns()
        parents = {img.meta.get("Parent") for img in images}
        out = []
        for image in images:
            tags = self.store.references(image.id)
            dangling = not tags
            if "dangling" in filters:
                values = filters.get("dangling")
                if values - {"true", "false", "1", "0"}:
                    raise InvalidParameter(f"invalid filter 'dangling={','.join(values)}'")
                want = any(v in ("true", "1") for v in values)
                if want != dangling:
                    continue
            elif not show_all and dangling and image.id in parents:
                continue  # an intermediate build layer
            labels = image.container_config.get("Labels") or {}
            if not filters.match_all_labels(labels):
                continue
            if before is not None and image.created_ns >= before:
                continue
            if since is not None and image.created_ns <= since:
                continue
            if until is not None and image.created_ns > until:
                continue
            if "reference" in filters and not self._match_reference(tags, filters.get("reference")):
                continue
            out.append(self.summary(image, api_version,
                                    containers=len(self._containers_using(image.id))))
        out.sort(key=lambda d: d["Created"], reverse=True)
        return out

    def _bound(self, filters: Filters, key: str) -> int | None:
        if key not in filters:
            return None
        bounds = [self.get(v).created_ns for v in filters.get(key)]
        return min(bounds) if key == "before" else max(bounds)

    @staticmethod
    def _match_reference(tags: builtins.list[refs.Reference], patterns: set[str]) -> bool:
        for ref in tags:
            for pattern in patterns:
                name = ref.familiar_name
                if ":" in pattern.rsplit("/", 1)[-1]:
                    if fnmatch.fnmatchcase(ref.familiar(), pattern) or \
                            fnmatch.fnmatchcase(ref.canonical(), pattern):
                        return True
                elif fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(ref.name, pattern):
                    return True
        return False

    def history(self, name: str) -> builtins.list[dict[str, Any]]:
        image = self.get(name)
        history = image.config.get("history") or []
        layers = self.layer_chain(image)
        out = []
        layer_index = 0
        for entry in history:
            size = 0
            if not entry.get("empty_layer") and layer_index < len(layers):
                size = layers[layer_index].size
                layer_index += 1
            created = entry.get("created")
            out.append({"Id": "<missing>", "Created": (parse_rfc3339(created) // 10**9)
                        if created else 0, "CreatedBy": entry.get("created_by", ""),
                        "Tags": None, "Size": size, "Comment": entry.get("comment", "")})
        out.reverse()
        if out:
            out[0]["Id"] = image.id
            out[0]["Tags"] = self.repo_tags(image) or None
        return out

    # -- changes ---------------------------------------------------------------------
    async def tag(self, name: str, repo: str, tag: str | None) -> refs.Reference:
        image = self.get(name)
        ref = repository_tag(repo, tag)
        if ref.digest is not None:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        if ref.path.split("/")[-1] == "scratch" and ref.domain == refs.DEFAULT_DOMAIN:
            raise InvalidParameter("'scratch' is a reserved name")
        previous = self.store.refs.get(ref.canonical())
        await self.store.add(image, [ref])
        if previous and previous != image.id:
            self.events.publish("image", "untag", previous, {"name": previous})
        self.events.publish("image", "tag", image.id, {"name": ref.familiar()})
        return ref

    async def add_image(self, raw_config: bytes, tags: builtins.list[refs.Reference],
                        meta: dict[str, Any] | None = None,
                        acquired_top: bool = False) -> Image:
        """Register an image whose layers are registered. If acquired_top, the
        caller's reference on the top layer passes to the image."""
        config = parse_image_config(raw_config)
        image_id = image_id_of(raw_config)
        async with self._lock:
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

    async def import_image(self, source: AsyncIterator[bytes], repo: str | None,
                           tag: str | None, changes: builtins.list[str], message: str,
                           platform_text: str | None, src: str = "-") -> Image:
        """`docker import`: one layer from a rootfs tar, a config from changes."""
        ref = repository_tag(repo, tag) if repo else None
        if ref is not None and ref.digest is not None:
            raise InvalidParameter("cannot import digest reference")
        os_name, arch, variant = parse_platform(platform_text)
        config: dict[str, Any] = {}
        for change in changes:
            apply_change(config, change)
        layer = await feed_blocking(source, lambda f: self.layers.register(f, None))
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
        image = await self.add_image(raw, [ref] if ref else [], acquired_top=True)
        self.events.publish("image", "import", image.id, {"name": image.id})
        return image

    # -- save and load --------------------------------------------------------------
    def _save_targets(self, names: builtins.list[str]) -> builtins.list[tuple[Image, builtins.list[refs.Reference]]]:
        """Images by name, as `docker save` picks them: `repo` means all its tags,
        `repo:tag` that tag, an ID the untagged image."""
        chosen: dict[str, list[refs.Reference]] = {}
        for name in names:
            tags: builtins.list[refs.Reference] = []
            image = None
            try:
                ref = refs.parse(name)
            except refs.ReferenceError:
                ref = None
            if ref is not None and ref.tag is None and ref.digest is None:
                for canonical, image_id in self.store.refs.items():
                    candidate = refs.parse(canonical)
                    if candidate.name == ref.name and candidate.tag:
                        chosen.setdefault(image_id, []).append(candidate)
                        image = self.store.images[image_id]
                if image is not None:
                    continue
            image = self.get(name)
            if ref is not None and (ref.tag or ref.digest) and not image.id.endswith(name):
                named = ref.with_default_tag()
                if named.canonical() in self.store.refs:
                    tags.append(named)
            chosen.setdefault(image.id, []).extend(tags)
        return [(self.store.images[i], t) for i, t in chosen.items()]

    def save_archive(self, names: builtins.list[str]) -> AsyncIterator[bytes]:
        """The archive of the named images; unknown names fail before any byte."""
        targets = self._save_targets(names)
        items = [archive.SaveItem(image.id, image.raw_config, image.diff_ids,
                                  chain_ids(image.diff_ids), tags, image.created_ns / 1e9,
                                  image.meta.get("Parent", ""))
                 for image, tags in targets]
        chains = {c for item in items for c in item.chains}
        for image, _ in targets:
            self.events.publish("image", "save", image.id, {"name": image.id})

        def produce():  # type: ignore[no-untyped-def]
            for chain in chains:  # held while streaming: a concurrent rmi cannot pull them
                self.layers.acquire(chain)
            try:
                yield from archive.save(items, self.layers)
            finally:
                for chain in chains:
                    self.layers.release(chain)
        return iterate_blocking(produce)

    async def load_archive(self, source: AsyncIterator[bytes]) -> builtins.list[str]:
        """`docker load`: returns the lines Docker prints (`Loaded image: ...`)."""
        spool = archive.new_spool_dir(self.spool_root)
        loader = archive.Loader(self.layers, spool)
        lines: builtins.list[str] = []
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
                               loaded: archive.LoadedImage) -> builtins.list[str]:
        lines = []
        for ref in loaded.tags:
            old = self.store.refs.get(ref.canonical())
            if old is not None and old != image_id_of(loaded.raw_config):
                lines.append(f"The image {ref.familiar()} already exists, renaming the old "
                             f"one with ID {old} to empty string")
        await asyncio.to_thread(loader.register, loaded)  # holds the top layer for us
        meta = {"Parent": loaded.parent} if loaded.parent in self.store.images else {}
        image = await self.add_image(loaded.raw_config, loaded.tags, meta, acquired_top=True)
        self.events.publish("image", "load", image.id, {"name": image.id})
        if loaded.tags:
            lines += [f"Loaded image: {ref.familiar()}" for ref in loaded.tags]
        else:
            lines.append(f"Loaded image ID: {image.id}")
        return lines

    async def delete(self, name: str, force: bool, prune: bool) -> builtins.list[dict[str, str]]:
        """Docker's ImageDelete: untag a reference, delete when nothing is left."""
        async with self._lock:
            return await self._delete(name, force, prune)

    async def _delete(self, name: str, force: bool, prune: bool) -> builtins.list[dict[str, str]]:
        image = self.get(name)
        records: builtins.list[dict[str, str]] = []
        repo_refs = self.store.references(image.id)
        by_id = image.id.startswith(name) or image.id[7:].startswith(name)
        removed_repo_ref = False
        if not by_id:
            users = self._containers_using(image.id)
            if not force and _single_reference(repo_refs) and users:
                raise Conflict(f'conflict: unable to remove repository reference "{name}" '
                               f"(must force) - container {users[0].id[:12]} is using its "
                               f"referenced image {image.short_id}")
            ref = refs.parse(name).with_default_tag()
            if ref.canonical() not in self.store.refs:
                raise NoSuchImage(ref.familiar())
            await self.store.remove_ref(ref)
            self.events.publish("image", "untag", image.id, {"name": image.id})
            records.append({"Untagged": ref.familiar()})
            repo_refs = self.store.references(image.id)
            if ref.digest is None and not any(
                    r.digest is None and r.name == ref.name for r in repo_refs):
                remaining = []
                for other in repo_refs:
                    if other.digest is not None and other.name == ref.name:
                        await self.store.remove_ref(other)
                        records.append({"Untagged": other.familiar()})
                    else:
                        remaining.append(other)
                repo_refs = remaining
            if repo_refs:
                return records
            removed_repo_ref = True
        elif _single_reference(repo_refs):
            self._check_conflicts(image, hard_only=force, ignore_refs=True)
            for ref in repo_refs:
                await self.store.remove_ref(ref)
                self.events.publish("image", "untag", image.id, {"name": image.id})
                records.append({"Untagged": ref.familiar()})
        await self._delete_helper(image, records, force, prune, quiet=removed_repo_ref)
        return records

    def _check_conflicts(self, image: Image, hard_only: bool, ignore_refs: bool = False) -> None:
        def conflict(hard: bool, why: str) -> Conflict:
            how = "cannot be forced" if hard else "must be forced"
            return Conflict(f"conflict: unable to delete {image.short_id} ({how}) - {why}")
        if any(img.meta.get("Parent") == image.id for img in self.store.images.values()):
            raise conflict(True, "image has dependent child images")
        users = self._containers_using(image.id)
        running = [c for c in users if c.running]
        if running:
            raise conflict(True, f"image is being used by running container {running[0].id[:12]}")
        if hard_only:
            return
        if not ignore_refs and self.store.references(image.id):
            raise conflict(False, "image is referenced in multiple repositories")
        if users:
            raise conflict(False, f"image is being used by stopped container {users[0].id[:12]}")

    async def _delete_helper(self, image: Image, records: builtins.list[dict[str, str]], force: bool,
                             prune: bool, quiet: bool) -> None:
        try:
            self._check_conflicts(image, hard_only=force)
        except Conflict:
            if quiet:
                return  # the reference went; the image stays for its users
            raise
        for ref in self.store.references(image.id):
            await self.store.remove_ref(ref)
            self.events.publish("image", "untag", image.id, {"name": image.id})
            records.append({"Untagged": ref.familiar()})
        parent = image.meta.get("Parent")
        removed = await self._remove_image(image)
        self.events.publish("image", "delete", image.id, {"name": image.id})
        records.append({"Deleted": image.id})
        records.extend({"Deleted": chain} for chain in removed)
        if prune and parent and parent in self.store.images:
            parent_image = self.store.images[parent]
            if not self.store.references(parent) and not any(
                    i.meta.get("Parent") == parent for i in self.store.images.values()):
                await self._delete_helper(parent_image, records, False, True, True)

    async def _remove_image(self, image: Image) -> builtins.list[str]:
        before = {layer.chain_id for layer in self.layers.all()}
        await self.store.remove_image(image.id)
        if image.id in self._holding:
            self._holding.discard(image.id)
            await asyncio.to_thread(self.layers.release, image.top_layer)
        after = {layer.chain_id for layer in self.layers.all()}
        return [c for c in chain_ids(image.diff_ids)[::-1] if c in before - after]

    # -- prune and disk usage ------------------------------------------------------------
    async def prune(self, filters: Filters) -> dict[str, Any]:
        filters.validate({"dangling", "until", "label", "label!"})
        dangling_only = True
        if "dangling" in filters:
            dangling_only = any(v.lower() in ("true", "1") for v in filters.get("dangling"))
        until = filters.until_ns()
        deleted: builtins.list[dict[str, str]] = []
        reclaimed = 0
        async with self._lock:
            for image in list(self.store.images.values()):
                if image.id not in self.store.images:
                    continue
                if self._containers_using(image.id):
                    continue
                if dangling_only and self.store.references(image.id):
                    continue
                if any(i.meta.get("Parent") == image.id for i in self.store.images.values()):
                    continue
                labels = image.container_config.get("Labels") or {}
                if not filters.match_all_labels(labels):
                    continue
                if until is not None and image.created_ns >= until:
                    continue
                before = sum(layer.size for layer in self.layers.all())
                records: builtins.list[dict[str, str]] = []
                try:
                    await self._delete_helper(image, records, True, True, False)
                except Conflict:
                    continue
                deleted += records
                reclaimed += before - sum(layer.size for layer in self.layers.all())
        return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    def disk_usage(self, api_version: tuple[int, ...]) -> tuple[int, builtins.list[dict[str, Any]]]:
        """LayersSize and the Images of `/system/df`, with shared sizes."""
        users: dict[str, int] = {}
        for image in self.store.images.values():
            for chain in chain_ids(image.diff_ids):
                users[chain] = users.get(chain, 0) + 1
        out = []
        for image in self.store.images.values():
            doc = self.summary(image, api_version, len(self._containers_using(image.id)))
            doc["SharedSize"] = sum(layer.size for layer in self.layer_chain(image)
                                    if users.get(layer.chain_id, 0) > 1)
            out.append(doc)
        return sum(layer.size for layer in self.layers.all()), out


def _single_reference(repo_refs: builtins.list[refs.Reference]) -> bool:
    """Docker's isSingleReference: one tag, possibly with digests of its repo."""
    if len(repo_refs) <= 1:
        return len(repo_refs) == 1
    single = None
    canonical: set[str] = set()
    for ref in repo_refs:
        if ref.digest is not None:
            canonical.add(ref.name)
        elif single is None:
            single = ref
        else:
            return False
    single = single or repo_refs[0]
    return len(canonical) == 1 and single.name in canonical
