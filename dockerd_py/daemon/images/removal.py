"""Removing images: Docker's ImageDelete (untag, then delete when nothing is
left, with its conflicts and texts) and image prune."""
from __future__ import annotations

from typing import Any

from shared import reference as refs
from shared.filters import Filters

from ...errors import Conflict, NoSuchImage
from ...storage.layers import chain_ids
from .catalog import ImageCatalog
from .repository import Image


class ImageRemoval:
    def __init__(self, catalog: ImageCatalog) -> None:
        self.catalog = catalog

    async def delete(self, name: str, force: bool, prune: bool) -> list[dict[str, str]]:
        """Docker's ImageDelete: untag a reference, delete when nothing is left."""
        async with self.catalog.lock:
            return await self._delete(name, force, prune)

    async def _delete(self, name: str, force: bool, prune: bool) -> list[dict[str, str]]:
        image = self.catalog.get(name)
        records: list[dict[str, str]] = []
        repo_refs = self.catalog.references(image.id)
        by_id = image.id.startswith(name) or image.id[7:].startswith(name)
        removed_repo_ref = False
        if not by_id:
            users = self.catalog.users(image.id)
            if not force and _single_reference(repo_refs) and users:
                raise Conflict(f'conflict: unable to remove repository reference "{name}" '
                               f"(must force) - container {users[0].id[:12]} is using its "
                               f"referenced image {image.short_id}")
            ref = refs.parse(name).with_default_tag()
            if self.catalog.image_id_of(ref) is None:
                raise NoSuchImage(ref.familiar())
            await self.catalog.remove_ref(ref)
            self.catalog.events.publish("image", "untag", image.id, {"name": image.id})
            records.append({"Untagged": ref.familiar()})
            repo_refs = self.catalog.references(image.id)
            if ref.digest is None and not any(
                    r.digest is None and r.name == ref.name for r in repo_refs):
                remaining = []
                for other in repo_refs:
                    if other.digest is not None and other.name == ref.name:
                        await self.catalog.remove_ref(other)
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
                await self.catalog.remove_ref(ref)
                self.catalog.events.publish("image", "untag", image.id, {"name": image.id})
                records.append({"Untagged": ref.familiar()})
        await self._delete_helper(image, records, force, prune, quiet=removed_repo_ref)
        return records

    def _check_conflicts(self, image: Image, hard_only: bool, ignore_refs: bool = False) -> None:
        def conflict(hard: bool, why: str) -> Conflict:
            how = "cannot be forced" if hard else "must be forced"
            return Conflict(f"conflict: unable to delete {image.short_id} ({how}) - {why}")
        if self.catalog.children(image.id):
            raise conflict(True, "image has dependent child images")
        users = self.catalog.users(image.id)
        running = [c for c in users if c.running]
        if running:
            raise conflict(True, f"image is being used by running container {running[0].id[:12]}")
        if hard_only:
            return
        if not ignore_refs and self.catalog.references(image.id):
            raise conflict(False, "image is referenced in multiple repositories")
        if users:
            raise conflict(False, f"image is being used by stopped container {users[0].id[:12]}")

    async def _delete_helper(self, image: Image, records: list[dict[str, str]], force: bool,
                             prune: bool, quiet: bool) -> None:
        try:
            self._check_conflicts(image, hard_only=force)
        except Conflict:
            if quiet:
                return  # the reference went; the image stays for its users
            raise
        for ref in self.catalog.references(image.id):
            await self.catalog.remove_ref(ref)
            self.catalog.events.publish("image", "untag", image.id, {"name": image.id})
            records.append({"Untagged": ref.familiar()})
        parent = image.meta.get("Parent")
        removed = await self._remove_image(image)
        self.catalog.events.publish("image", "delete", image.id, {"name": image.id})
        records.append({"Deleted": image.id})
        records.extend({"Deleted": chain} for chain in removed)
        parent_image = self.catalog.by_id(parent) if prune and parent else None
        if parent_image is not None:
            if not self.catalog.references(parent_image.id) and not self.catalog.children(
                    parent_image.id):
                await self._delete_helper(parent_image, records, False, True, True)

    async def _remove_image(self, image: Image) -> list[str]:
        before = {layer.chain_id for layer in self.catalog.layers.all()}
        await self.catalog.forget(image)
        after = {layer.chain_id for layer in self.catalog.layers.all()}
        return [c for c in chain_ids(image.diff_ids)[::-1] if c in before - after]

    # -- prune and disk usage ------------------------------------------------------------
    async def prune(self, filters: Filters) -> dict[str, Any]:
        filters.validate({"dangling", "until", "label", "label!"})
        dangling_only = True
        if "dangling" in filters:
            dangling_only = any(v.lower() in ("true", "1") for v in filters.get("dangling"))
        until = filters.until_ns()
        deleted: list[dict[str, str]] = []
        reclaimed = 0
        async with self.catalog.lock:
            for image in self.catalog.all():
                if self.catalog.by_id(image.id) is None:
                    continue
                if self.catalog.users(image.id):
                    continue
                if dangling_only and self.catalog.references(image.id):
                    continue
                if self.catalog.children(image.id):
                    continue
                labels = image.container_config.get("Labels") or {}
                if not filters.match_all_labels(labels):
                    continue
                if until is not None and image.created_ns >= until:
                    continue
                before = sum(layer.size for layer in self.catalog.layers.all())
                records: list[dict[str, str]] = []
                try:
                    await self._delete_helper(image, records, True, True, False)
                except Conflict:
                    continue
                deleted += records
                reclaimed += before - sum(layer.size for layer in self.catalog.layers.all())
        return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

def _single_reference(repo_refs: list[refs.Reference]) -> bool:
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
