"""Firewall backends by name: a new backend is a module plus one line here."""
from __future__ import annotations

import asyncio

from .base import BridgeRules, Firewall, PortMapping
from .iptables_restore import IptablesRestore
from .python_iptables import PythonIptables
from .recorder import Recorder

BACKENDS: dict[str, type[Firewall]] = {
    "iptables-restore": IptablesRestore,
    "python-iptables": PythonIptables,
    "recorder": Recorder,
}
AUTO = "auto"


def new_firewall(name: str, prefix: str, loopback_nat: bool = False,
                 ipv6: bool = True) -> Firewall:
    try:
        firewall = BACKENDS[name](prefix, ipv6)
    except KeyError:
        raise ValueError(f"unknown firewall backend {name!r}; known: "
                         + ", ".join(sorted(BACKENDS))) from None
    firewall.loopback_nat = loopback_nat
    return firewall


async def choose_backend(configured: str) -> str:
    """`auto`: iptables-restore where the host's iptables is the nf_tables
    variant (python-iptables cannot see those rules), python-iptables where it
    is the legacy one."""
    if configured != AUTO:
        return configured
    try:
        proc = await asyncio.create_subprocess_exec(
            "iptables", "--version", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)
        out, _ = await proc.communicate()
    except OSError:
        return "iptables-restore"
    return "python-iptables" if b"legacy" in out else "iptables-restore"


__all__ = ["BridgeRules", "Firewall", "PortMapping", "new_firewall", "choose_backend", "BACKENDS", "AUTO"]
