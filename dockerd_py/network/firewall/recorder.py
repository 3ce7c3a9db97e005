"""A backend that only records what it was asked: for unit tests, and for hosts
where the daemon must not touch the packet filter (`--iptables=false` uses it)."""
from __future__ import annotations

from .base import BridgeRules, Firewall


class Recorder(Firewall):
    def __init__(self, prefix: str) -> None:
        super().__init__(prefix)
        self.calls: list[tuple[str, object]] = []
        self.bridges: dict[str, BridgeRules] = {}

    async def setup(self) -> None:
        self.calls.append(("setup", None))

    async def add_bridge(self, rules: BridgeRules) -> None:
        self.calls.append(("add_bridge", rules))
        self.bridges[rules.bridge] = rules

    async def remove_bridge(self, rules: BridgeRules) -> None:
        self.calls.append(("remove_bridge", rules))
        self.bridges.pop(rules.bridge, None)

    async def teardown(self) -> None:
        self.calls.append(("teardown", None))
        self.bridges.clear()

    def rules(self) -> dict[str, list[list[str]]]:
        out: dict[str, list[list[str]]] = {"filter": [], "nat": []}
        for rules in self.bridges.values():
            for table, items in self.bridge_rules(rules).items():
                out[table].extend(items)
        return out
