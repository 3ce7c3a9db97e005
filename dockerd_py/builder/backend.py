"""What the builder needs from the daemon, and nothing more: images, cache
lookups, and containers run through the same machinery as `docker run`. The
daemon's BuildService implements it; the builder never imports the daemon."""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

Output = Callable[[str], Awaitable[None]]


@dataclass
class BaseImage:
    id: str
    config: dict[str, Any]          # the whole image config (architecture, config, rootfs…)

    @property
    def run_config(self) -> dict[str, Any]:
        return dict(self.config.get("config") or {})


@dataclass
class RunOptions:
    """Host settings for RUN containers (the /build query's)."""
    network_mode: str = ""
    extra_hosts: list[str] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass
class Commit:
    parent: BaseImage | None
    config: dict[str, Any]          # what the image's `config` becomes
    container_config: dict[str, Any]  # the step's probe config (the cache compares it)
    created_by: str
    author: str = ""


class Backend(Protocol):
    async def image(self, name: str, pull: bool, platform: str | None,
                    progress: Any) -> BaseImage: ...

    def cached(self, parent: str | None, probe: dict[str, Any],
               sources: set[str] | None) -> BaseImage | None: ...

    async def create(self, image: BaseImage | None, config: dict[str, Any],
                     options: RunOptions) -> str: ...

    async def run(self, container_id: str, output: Output) -> int: ...

    async def mount(self, container_id: str) -> tuple[str, Callable[[], Awaitable[None]]]: ...

    async def copy_in(self, container_id: str, tar: Callable[[], Iterator[bytes]],
                      owner: tuple[int, int] | None, base: str = "/") -> None: ...

    async def is_dir(self, container_id: str, path: str) -> bool: ...

    async def mkdir(self, container_id: str, path: str, owner: tuple[int, int] | None) -> None: ...

    async def resolve_owner(self, container_id: str, spec: str) -> tuple[int, int]: ...

    async def commit(self, container_id: str | None, commit: Commit) -> BaseImage: ...

    async def remove(self, container_id: str) -> None: ...

    async def download(self, url: str, dest_dir: str) -> tuple[str, str, float]: ...

    async def tag(self, image_id: str, names: list[str]) -> list[str]: ...


AsyncChunks = AsyncIterator[bytes]
