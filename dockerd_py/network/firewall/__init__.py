"""Firewall backends by name: a new backend is a module plus one line here."""
from __future__ import annotations

from .base import BridgeRules, Firewall
from .iptables_restore import IptablesRestore
from .recorder import Recorder

BACKENDS: dict[str, type[Firewall]] = {
    "iptables-restore": IptablesRestore,
    "recorder": Recorder,
}


def new_firewall(name: str, prefix: str) -> Firewall:
    try:
        return BACKENDS[name](prefix)
    except KeyError:
        raise ValueError(f"unknown firewall backend {name!r}; known: "
                         + ", ".join(sorted(BACKENDS))) from None


__all__ = ["BridgeRules", "Firewall", "new_firewall", "BACKENDS"]
