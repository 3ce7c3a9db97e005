"""Views of containers: `docker ps` with Docker's filters and order, inspect
(with sizes), the counts of /info, and the rows of `system df`."""
from __future__ import annotations

import builtins
import re
from typing import Any

from shared.filters import Filters

from ...errors import DockerError, InvalidParameter
from ...storage.layers import LayerStore
from ..images.catalog import ImageCatalog
from .record import STATES, Container
from .repository import ContainerRepository

LIST_FILTERS = {"ancestor", "before", "expose", "exited", "health", "id", "isolation",
                "is-task", "label", "label!", "name", "network", "publish", "since", "status",
                "volume"}


class ContainerViews:
    def __init__(self, repo: ContainerRepository, layers: LayerStore,
                 images: ImageCatalog) -> None:
        self.repo = repo
        self.layers = layers
        self.images = images

    # -- inspect --------------------------------------------------------------------
    def inspect(self, ctr: Container, api_version: tuple[int, ...], size: bool = False) -> dict:
        rw = self.layers.rw_layer(ctr.internal.rw_layer)
        sizes = None
        if size:
            rw_size = rw.size()
            sizes = {"rw": rw_size, "rootfs": self._image_size(ctr) + rw_size}
        return ctr.inspect(rw.graph_driver(), api_version, sizes, self._links(ctr))

    def _links(self, ctr: Container) -> list[str] | None:
        """HostConfig.Links as dockerd shows them, from its link index:
        `/child:/parent/alias` (none on a user-defined network)."""
        links = []
        for full, cid in sorted(ctr.internal.links.items()):
            if cid in self.repo:
                links.append(f"/{self.repo.get(cid).name}:{full}")
        return links or None

    def _image_size(self, ctr: Container) -> int:
        return sum(layer.size for layer in self.layers.chain(ctr.internal.top_layer))

    def counts(self) -> dict[str, int]:
        containers = self.repo.all()
        running = sum(1 for c in containers if c.status == "running")
        paused = sum(1 for c in containers if c.status == "paused")
        return {"Containers": len(containers), "ContainersRunning": running,
                "ContainersPaused": paused,
                "ContainersStopped": len(containers) - running - paused}

    # -- docker ps ----------------------------------------------------------------------
    def list(self, show_all: bool, limit: int, size: bool, filters: Filters) -> list[dict]:
        filters.validate(LIST_FILTERS)
        # newest first, by the creation time in nanoseconds (RFC 3339 strings trim
        # trailing zeros, so they do not sort)
        containers = sorted(self.repo.all(), key=lambda c: c.created_ns, reverse=True)
        if limit > 0:
            show_all = True
        before = self._bound(filters, "before")
        since = self._bound(filters, "since")
        out = []
        link_names = self.repo.link_names()
        for ctr in containers:
            if before is not None and ctr.created_ns >= before:
                continue
            if since is not None and ctr.created_ns <= since:
                continue
            if not show_all and not ctr.running and "status" not in filters \
                    and "exited" not in filters:
                continue
            if not self._match(ctr, filters):
                continue
            out.append(self.summary(ctr, size, link_names.get(ctr.id, [])))
            if limit > 0 and len(out) >= limit:
                break
        return out

    def _bound(self, filters: Filters, key: str) -> int | None:
        if key not in filters:
            return None
        values = [self.repo.get(v).created_ns for v in filters.get(key)]
        return min(values) if key == "before" else max(values)

    def _match(self, ctr: Container, filters: Filters) -> bool:
        if "id" in filters and not any(ctr.id.startswith(v) for v in filters.get("id")):
            return False
        if "name" in filters and not any(re.search(v.lstrip("/") if v.startswith("/") else v,
                                                   ctr.name) or re.search(v, "/" + ctr.name)
                                         for v in filters.get("name")):
            return False
        if "status" in filters:
            for value in filters.get("status"):
                if value not in STATES:
                    raise InvalidParameter(f"invalid filter 'status={value}'")
            if ctr.status not in filters.get("status"):
                return False
        if "exited" in filters and not self._match_exited(ctr, filters.get("exited")):
            return False
        if not filters.match_all_labels(ctr.config.get("Labels") or {}):
            return False
        if "ancestor" in filters and not self._match_ancestor(ctr, filters.get("ancestor")):
            return False
        if "network" in filters and not _match_network(ctr, filters.get("network")):
            return False
        if "health" in filters:
            health = (ctr.state.get("Health") or {}).get("Status", "none")
            if health not in filters.get("health"):
                return False
        if "volume" in filters:
            mounts = ctr.mount_views()
            if not any(m.get("Name") == v or m.get("Destination") == v or m.get("Source") == v
                       for m in mounts for v in filters.get("volume")):
                return False
        if "is-task" in filters and filters.match_bool("is-task", True):
            return False
        return True

    @staticmethod
    def _match_exited(ctr: Container, values: set[str]) -> bool:
        codes = set()
        for value in values:
            try:
                codes.add(int(value))
            except ValueError:
                raise InvalidParameter(f"invalid filter 'exited={value}'") from None
        return not ctr.running and ctr.status == "exited" and ctr.state["ExitCode"] in codes

    def _match_ancestor(self, ctr: Container, values: set[str]) -> bool:
        for value in values:
            try:
                image = self.images.get(value)
            except DockerError:
                continue
            if self.images.descends_from(ctr.image_id, image.id):
                return True
        return False

    def summary(self, ctr: Container, size: bool,
                link_names: builtins.list[str] | None = None) -> dict[str, Any]:
        """A row of `docker ps` (and of `system df`); link_names: its names as
        other containers' links, which dockerd lists after its own."""
        image_name = ctr.config.get("Image") or ctr.image_id
        if self.images.by_id(ctr.image_id) is None or image_name == ctr.image_id:
            image_name = ctr.image_id
        else:
            try:
                if self.images.get(image_name).id != ctr.image_id:
                    image_name = ctr.image_id
            except DockerError:
                image_name = ctr.image_id
        networks = {name: dict(ep) for name, ep
                    in (ctr.doc["NetworkSettings"].get("Networks") or {}).items()}
        doc: dict[str, Any] = {
            "Id": ctr.id, "Names": ["/" + ctr.name, *(link_names or [])], "Image": image_name,
            "ImageID": ctr.image_id,
            "Command": command_line(ctr.doc["Path"], ctr.doc["Args"]),
            "Created": ctr.created_ns // 1_000_000_000,
            "Ports": port_list(ctr.doc["NetworkSettings"].get("Ports") or {}),
            "Labels": ctr.config.get("Labels") or {}, "State": ctr.status,
            "Status": ctr.status_text(),
            "HostConfig": {"NetworkMode": ctr.host_config.get("NetworkMode", "bridge")},
            "NetworkSettings": {"Networks": networks}, "Mounts": ctr.mount_views(),
        }
        if size:
            rw = self.layers.rw_layer(ctr.internal.rw_layer).size()
            doc["SizeRw"] = rw
            doc["SizeRootFs"] = rw + self._image_size(ctr)
        return doc

    def disk_usage(self) -> builtins.list[dict[str, Any]]:
        return [self.summary(c, True) for c in self.repo.all()]


def port_list(ports: dict[str, Any]) -> list[dict[str, Any]]:
    """NetworkSettings.Ports as the Ports of `docker ps`."""
    out: list[dict[str, Any]] = []
    for key, bindings in ports.items():
        port, _, proto = key.partition("/")
        if not bindings:
            out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
            continue
        for b in bindings:
            out.append({"IP": b.get("HostIp") or "0.0.0.0", "PrivatePort": int(port),
                        "PublicPort": int(b.get("HostPort") or 0), "Type": proto or "tcp"})
    return out


def _match_network(ctr: Container, values: set[str]) -> bool:
    nets = ctr.doc["NetworkSettings"].get("Networks") or {}
    ids = {ep.get("NetworkID", "") for ep in nets.values()}
    return any(v in nets or any(i.startswith(v) for i in ids if i) for v in values)


def command_line(path: str, args: list[str]) -> str:
    """dockerd's Command of a listed container: arguments with spaces in quotes."""
    return " ".join([path] + [f"'{a}'" if " " in a else a for a in args or []])
