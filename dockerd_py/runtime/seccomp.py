"""Docker-format seccomp profiles (archMap, includes/excludes by capability,
architecture and kernel) turned into the OCI `linux.seccomp` section."""
from __future__ import annotations

import functools
import json
import os
import platform
from typing import Any

from ..errors import InvalidParameter

_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}
_SCMP_ARCH = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "arm": "SCMP_ARCH_ARM",
              "386": "SCMP_ARCH_X86", "ppc64le": "SCMP_ARCH_PPC64LE",
              "s390x": "SCMP_ARCH_S390X", "riscv64": "SCMP_ARCH_RISCV64"}


def _kernel_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("-")[0].split("."):
        digits = "".join(c for c in piece if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


DEBIAN_PROFILE = "/usr/share/containers/seccomp.json"

# Debian's profile is Podman's: it allows namespace and mount syscalls to everyone
# and leaves the capabilities to refuse them. Docker's default profile only lets
# a container with the capability named here make them; the others get EPERM, as
# from Docker (Debian's default errno is ENOSYS).
_CAPABILITY_GATES = {
    "CAP_SYS_ADMIN": ("mount", "umount", "umount2", "unshare", "setns", "fsconfig", "fsmount",
                      "fsopen", "fspick", "mount_setattr", "move_mount", "open_tree",
                      "pivot_root", "keyctl"),
    "CAP_SYSLOG": ("syslog",),
    "CAP_SYS_NICE": ("get_mempolicy", "mbind", "set_mempolicy"),
    "CAP_SYS_PTRACE": ("pidfd_getfd",),
    "CAP_SYS_BOOT": ("reboot",),
}
_CLONE_NAMESPACE_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
_EPERM, _ENOSYS = 1, 38


def _no_namespaces(index: int) -> dict[str, Any]:
    return {"index": index, "value": _CLONE_NAMESPACE_FLAGS, "valueTwo": 0,
            "op": "SCMP_CMP_MASKED_EQ"}


def with_docker_gates(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile with Docker's capability gates on namespace, mount and kernel
    keyring syscalls, and clone without namespace flags for the rest."""
    gated = {name for names in _CAPABILITY_GATES.values() for name in names}
    gated |= {"clone", "clone3"}
    rules = []
    for rule in profile.get("syscalls") or []:  # the gates replace all rules of theirs
        names = [n for n in rule.get("names") or [] if n not in gated]
        if names:
            rules.append(dict(rule, names=names))
    for cap, gated_names in _CAPABILITY_GATES.items():
        rules.append({"names": list(gated_names), "action": "SCMP_ACT_ALLOW",
                      "includes": {"caps": [cap]}})
        rules.append({"names": list(gated_names), "action": "SCMP_ACT_ERRNO", "errnoRet": _EPERM,
                      "excludes": {"caps": [cap]}})
    admin = {"caps": ["CAP_SYS_ADMIN"]}
    rules += [
        {"names": ["clone", "clone3"], "action": "SCMP_ACT_ALLOW", "includes": admin},
        # clone's flags are its first argument, but its second on s390
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "excludes": dict(admin, arches=["s390", "s390x"]), "args": [_no_namespaces(0)]},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390", "s390x"]},
         "excludes": admin, "args": [_no_namespaces(1)]},
        # ENOSYS, not EPERM: the C library then falls back to clone, which is filtered
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": _ENOSYS,
         "excludes": admin},
    ]
    return dict(profile, syscalls=rules)


@functools.lru_cache(maxsize=8)
def load_profile(path: str) -> dict[str, Any]:
    """A profile file; Debian's default gets Docker's capability gates."""
    with open(path, "rb") as f:
        profile = json.load(f)
    return with_docker_gates(profile) if path == DEBIAN_PROFILE else profile


def parse_profile(text: str) -> dict[str, Any]:
    try:
        profile = json.loads(text)
    except ValueError as exc:
        raise InvalidParameter(f"decoding seccomp profile failed: {exc}") from None
    if not isinstance(profile, dict) or "defaultAction" not in profile:
        raise InvalidParameter("decoding seccomp profile failed: no defaultAction")
    return profile


def to_oci(profile: dict[str, Any], capabilities: frozenset[str],
           arch: str | None = None, kernel: str | None = None) -> dict[str, Any]:
    """Filter a Docker profile for this container's capabilities and this host."""
    goarch = arch or _GO_ARCH.get(platform.machine(), platform.machine())
    kver = _kernel_tuple(kernel or os.uname().release)
    out: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    arches: list[str] = []
    native = _SCMP_ARCH.get(goarch)
    for entry in profile.get("archMap") or []:
        if native is not None and entry.get("architecture") == native:
            arches = [native, *(entry.get("subArchitectures") or [])]
    if not arches and profile.get("architectures"):
        arches = list(profile["architectures"])
    out["architectures"] = arches
    syscalls = []
    for rule in profile.get("syscalls") or []:
        if not _applies(rule, capabilities, goarch, kver):
            continue
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        item: dict[str, Any] = {"names": names, "action": rule["action"]}
        if rule.get("errnoRet") is not None:
            item["errnoRet"] = rule["errnoRet"]
        if rule.get("args"):
            item["args"] = [{"index": a["index"], "value": a["value"],
                             "valueTwo": a.get("valueTwo", 0), "op": a["op"]}
                            for a in rule["args"]]
        syscalls.append(item)
    out["syscalls"] = syscalls
    if profile.get("flags"):
        out["flags"] = profile["flags"]
    return out


def _applies(rule: dict[str, Any], caps: frozenset[str], goarch: str,
             kver: tuple[int, ...]) -> bool:
    inc = rule.get("includes") or {}
    exc = rule.get("excludes") or {}
    if inc.get("arches") and goarch not in inc["arches"]:
        return False
    if exc.get("arches") and goarch in exc["arches"]:
        return False
    if inc.get("caps") and not all(c in caps for c in inc["caps"]):
        return False
    if exc.get("caps") and any(c in caps for c in exc["caps"]):
        return False
    if inc.get("minKernel") and kver < _kernel_tuple(inc["minKernel"]):
        return False
    return True
