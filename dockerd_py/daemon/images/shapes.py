"""Docker's shapes and names around images: container.Config as Docker marshals
it, platform strings, the host's Go architecture, a repo and tag as one reference."""
from __future__ import annotations

import platform
import re
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


_KNOWN_OS = frozenset("aix android darwin dragonfly freebsd hurd illumos ios js linux nacl "
                      "netbsd openbsd plan9 solaris windows zos".split())
_KNOWN_ARCH = frozenset("386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips "
                        "mipsle mips64 mips64le mips64p32 mips64p32le ppc riscv riscv64 s390 "
                        "s390x sparc sparc64 wasm".split())
_COMPONENT = re.compile(r"^[A-Za-z0-9_-]+$")


def _normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd's normalizeArch: the names Go and OCI use."""
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        return "arm64", "" if variant in ("8", "v8", "v8.0") else variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        return "arm", {"": "v7", "5": "v5", "6": "v6", "7": "v7", "8": "v8"}.get(variant, variant)
    return arch, variant


def parse_platform(text: str | None) -> tuple[str, str, str]:
    """A platform specifier as containerd's platforms.Parse reads it, with its
    errors (400): `linux`, `amd64`, `linux/arm64/v8` -> (os, architecture,
    variant); none means this host."""
    if not text:
        return "linux", go_arch(), ""
    if "*" in text:
        raise InvalidParameter(f'"{text}": wildcards not yet supported: invalid argument')
    parts = text.split("/")
    for part in parts:
        if not _COMPONENT.match(part):
            raise InvalidParameter(
                f'"{part}" is an invalid component of "{text}": platform specifier component '
                f'must match "{_COMPONENT.pattern}": invalid argument')
    os_name = parts[0].lower()
    os_name = "darwin" if os_name == "macos" else os_name
    if len(parts) == 1:
        if os_name in _KNOWN_OS:
            return os_name, go_arch(), ""
        arch, variant = _normalize_arch(parts[0], "")
        if arch in _KNOWN_ARCH:
            return "linux", arch, "" if (arch, variant) == ("arm", "v7") else variant
        raise InvalidParameter(f'"{text}": unknown operating system or architecture: '
                               "invalid argument")
    if len(parts) == 2:
        arch, variant = _normalize_arch(parts[1], "")
        return os_name, arch, "" if (arch, variant) == ("arm", "v7") else variant
    if len(parts) == 3:
        arch, variant = _normalize_arch(parts[1], parts[2])
        return os_name, arch, "v8" if (arch, variant) == ("arm64", "") else variant
    raise InvalidParameter(f'"{text}": cannot parse platform specifier: invalid argument')


def linux_platform(text: str | None) -> tuple[str, str, str]:
    """parse_platform, for what this daemon can run or store: Linux only."""
    os_name, arch, variant = parse_platform(text)
    if os_name != "linux":
        raise InvalidParameter(f"operating system is not supported: {os_name}")
    return os_name, arch, variant


def format_platform(os_name: str, arch: str, variant: str = "") -> str:
    return "/".join(p for p in (os_name, arch, variant) if p)


def image_platform(config: dict[str, Any]) -> tuple[str, str, str]:
    """An image config's platform, normalized as containerd compares them."""
    arch, variant = _normalize_arch(config.get("architecture") or "", config.get("variant") or "")
    return (config.get("os") or "").lower(), arch, variant


def platform_matches(wanted: tuple[str, str, str], image: tuple[str, str, str]) -> bool:
    """containerd's platforms.Only, for one image: same OS and architecture, and
    a variant the wanted one runs (an armv7 host runs v6 and v5 images)."""
    if wanted[:2] != image[:2]:
        return False
    if not wanted[2] or not image[2] or wanted[2] == image[2]:
        return True
    return wanted[1] == "arm" and image[2] < wanted[2]
