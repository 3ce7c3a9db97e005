"""What clients read about images: inspect, the list with its filters, history,
and the images part of `system df`."""
from __future__ import annotations

import builtins
from typing import Any

from shared import reference as refs
from shared.filters import Filters
from shared.gomatch import go_path_match
from shared.timeutil import ZERO_TIME, parse_rfc3339

from ...apitypes.image import IMAGE_INSPECT, IMAGE_SUMMARY
from ...errors import InvalidParameter
from ...storage.layers import chain_ids
from .catalog import ImageCatalog
from .repository import Image

IMAGE_LIST_FILTERS = {"dangling", "label", "label!", "before", "since", "reference", "until"}


class ImageViews:
    def __init__(self, catalog: ImageCatalog) -> None:
        self.catalog = catalog

    def inspect(self, name: str, api_version: tuple[int, ...]) -> dict[str, Any]:
        image = self.catalog.get(name)
        cfg = image.config
        top = image.top_layer
        size = self.catalog.size(image)
        layer = self.catalog.layers.get(top) if top else None
        driver = self.catalog.layers.driver
        doc = IMAGE_INSPECT.marshal({
            "Id": image.id,
            "RepoTags": self.catalog.repo_tags(image),
            "RepoDigests": self.catalog.repo_digests(image),
            "Parent": image.meta.get("Parent", ""),
            "Comment": cfg.get("comment", ""),
            "Created": cfg.get("created") or ZERO_TIME,
            "Container": cfg.get("container", ""),
            "ContainerConfig": cfg.get("container_config") or {},
            "DockerVersion": cfg.get("docker_version", ""),
            "Author": cfg.get("author", ""),
            "Config": image.container_config,
            "Architecture": cfg.get("architecture", ""),
            "Variant": cfg.get("variant", ""),
            "Os": cfg.get("os", ""),
            "OsVersion": cfg.get("os.version", ""),
            "Size": size,
            "VirtualSize": size if api_version < (1, 44) else 0,
            "GraphDriver": {"Name": driver.name,
                            "Data": driver.metadata(layer.cache_id) if layer else None},
            "RootFS": {"Type": "layers", "Layers": image.diff_ids},
            "Metadata": {"LastTagTime": image.meta.get("LastTagTime") or ZERO_TIME},
        })
        if api_version >= (1, 45):  # gone from the API in 1.45
            del doc["Container"], doc["ContainerConfig"]
        return doc

    def summary(self, image: Image, api_version: tuple[int, ...], containers: int = -1,
                refs_shown: builtins.list[refs.Reference] | None = None) -> dict[str, Any]:
        """The list's Summary of an image; refs_shown narrows RepoTags and RepoDigests."""
        if refs_shown is None:
            tags, digests = self.catalog.repo_tags(image), self.catalog.repo_digests(image)
        else:
            tags = [r.familiar() for r in refs_shown if r.digest is None]
            digests = [r.familiar() for r in refs_shown if r.digest is not None]
        if api_version < (1, 43) and not tags and not digests:
            tags, digests = ["<none>:<none>"], ["<none>@<none>"]
        size = self.catalog.size(image)
        return IMAGE_SUMMARY.marshal({
            "Containers": containers,
            "Created": image.created_ns // 1_000_000_000,
            "Id": image.id,
            "Labels": image.container_config.get("Labels") or {},
            "ParentId": image.meta.get("Parent", ""),
            "RepoDigests": digests,
            "RepoTags": tags,
            "SharedSize": -1,
            "Size": size,
            "VirtualSize": size if api_version < (1, 44) else 0,
        })

    def list(self, show_all: bool, filters: Filters, api_version: tuple[int, ...],
             digests: bool = False) -> builtins.list[dict[str, Any]]:
        filters.validate(IMAGE_LIST_FILTERS)
        images = list(self.catalog.all())
        before = self._bound(filters, "before")
        since = self._bound(filters, "since")
        until = filters.until_ns()
        parents = {img.meta.get("Parent") for img in images}
        out = []
        for image in images:
            tags = self.catalog.references(image.id)
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
            if "reference" in filters:
                # dockerd lists only the references that matched
                patterns = filters.get("reference")
                tags = [r for r in tags if any(self._familiar_match(p, r) for p in patterns)]
                if not tags:
                    continue
            out.append(self.summary(image, api_version, containers=len(self.catalog.users(image.id)),
                                    refs_shown=tags if "reference" in filters else None))
        out.sort(key=lambda d: d["Created"], reverse=True)
        return out

    def _bound(self, filters: Filters, key: str) -> int | None:
        if key not in filters:
            return None
        bounds = [self.catalog.get(v).created_ns for v in filters.get(key)]
        return min(bounds) if key == "before" else max(bounds)

    @staticmethod
    def _familiar_match(pattern: str, ref: refs.Reference) -> bool:
        """distribution's reference.FamiliarMatch: the pattern (Go's path.Match)
        against `name:tag` (or `name@digest`), then against the name alone."""
        return go_path_match(pattern, ref.familiar()) or go_path_match(pattern, ref.familiar_name)

    def history(self, name: str) -> builtins.list[dict[str, Any]]:
        image = self.catalog.get(name)
        history = image.config.get("history") or []
        layers = self.catalog.layer_chain(image)
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
            out[0]["Tags"] = self.catalog.repo_tags(image) or None
        return out

    def disk_usage(self, api_version: tuple[int, ...]) -> tuple[int, builtins.list[dict[str, Any]]]:
        """LayersSize and the Images of `/system/df`, with shared sizes."""
        users: dict[str, int] = {}
        for image in self.catalog.all():
            for chain in chain_ids(image.diff_ids):
                users[chain] = users.get(chain, 0) + 1
        out = []
        for image in self.catalog.all():
            doc = self.summary(image, api_version, len(self.catalog.users(image.id)))
            doc["SharedSize"] = sum(layer.size for layer in self.catalog.layer_chain(image)
                                    if users.get(layer.chain_id, 0) > 1)
            out.append(doc)
        return sum(layer.size for layer in self.catalog.layers.all()), out
