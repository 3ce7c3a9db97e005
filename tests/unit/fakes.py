"""Fakes for unit tests of the container services: stand-ins for the stores,
events and images that record what they were asked, so the rules run without
root, a runtime or a disk."""
from __future__ import annotations

import secrets
from typing import Any

from dockerd_py.daemon.containers.record import (
    Container,
    Internal,
    network_settings_shape,
    new_state,
)


def container(name: str = "c", created: str = "2026-11-30T08:00:00Z", **config: Any) -> Container:
    cid = secrets.token_hex(32)
    doc = {"Id": cid, "Created": created, "Path": "true", "Args": [], "State": new_state(),
           "Image": "sha256:" + "0" * 64, "Name": "/" + name, "RestartCount": 0,
           "HostConfig": {"RestartPolicy": {"Name": "no"}}, "Config": dict(config),
           "NetworkSettings": network_settings_shape(), "Mounts": []}
    return Container(cid, name, doc, Internal(rw_layer=cid, top_layer=None, runtime="runc"))


class FakeEvents:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, str]] = []

    def publish(self, kind: str, action: str, actor: str, attrs: dict | None = None) -> None:
        self.published.append((kind, action, actor))


class FakeRepo:
    """The repository's interface over a dict; saves are counted."""

    def __init__(self, *containers: Container) -> None:
        self.containers = {c.id: c for c in containers}
        self.saved: list[str] = []

    def get(self, name_or_id: str) -> Container:
        for c in self.containers.values():
            if name_or_id in (c.id, c.name):
                return c
        raise KeyError(name_or_id)

    def all(self) -> list[Container]:
        return list(self.containers.values())

    def link_names(self) -> dict[str, list[str]]:
        return {}

    def __contains__(self, cid: str) -> bool:
        return cid in self.containers

    async def save(self, ctr: Container) -> None:
        self.saved.append(ctr.id)


class FakeImages:
    def by_id(self, image_id: str) -> None:
        return None

    def get(self, ref: str) -> Any:
        raise KeyError(ref)


class FakeLayers:
    driver_name = "fake"

    def chain(self, top: str | None) -> list:
        return []
