"""A backend that only records what it was asked: for unit tests, and for hosts
where the daemon must not touch the packet filter (`--iptables=false` uses it)."""
from __future__ import annotations

from .base import Firewall


class Recorder(Firewall):
    def __init__(self, prefix: str) -> None:
        super().__init__(prefix)
        self.applied = 0

    async def apply(self) -> None:
        self.applied += 1

    async def teardown(self) -> None:
        self.bridges.clear()
        self.ports.clear()

    def rules(self) -> dict[str, list[list[str]]]:
        return self.render()
