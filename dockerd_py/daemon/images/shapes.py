"""Docker's shapes and names around images: container.Config as Docker marshals
it, platform strings, the host's Go architecture, a repo and tag as one reference."""
from __future__ import annotations

import platform
from typing import Any

from shared import reference as refs

from ...apitypes.container import CONFIG
from ...errors import InvalidParameter


def go_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(machine, machine)


def container_config_shape(cfg: dict[str, Any] | None) -> dict[str, Any]:
    """A container.Config as Go marshals it (inspect, image configs)."""
    return CONFIG.marshal(cfg)


def repository_tag(repo: str, tag: str | None) -> refs.Reference:
    """`repo` and `tag` query parameters as one reference; a bad one is a 400."""
    try:
        return refs.parse_repository_tag(repo, tag)
    except refs.ReferenceError as exc:
        raise InvalidParameter(str(exc)) from None


def parse_platform(text: str | None) -> tuple[str, str, str]:
    """`linux/amd64/v8` -> (os, architecture, variant); defaults to this host."""
    if not text:
        return "linux", go_arch(), ""
    parts = text.lower().split("/")
    if len(parts) > 3 or not all(parts):
        raise InvalidParameter(f"invalid platform: {text}")
    os_name = parts[0]
    if os_name != "linux":
        raise InvalidParameter(f"operating system is not supported: {os_name}")
    arch = parts[1] if len(parts) > 1 else go_arch()
    arch = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}.get(arch, arch)
    variant = parts[2] if len(parts) > 2 else ""
    return os_name, arch, variant
