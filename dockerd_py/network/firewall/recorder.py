"""A backend that only records what it was asked: for unit tests, and for hosts
where the daemon must not touch the packet filter (`--iptables=false` uses it)."""
from __future__ import annotations

from .base import Firewall


class Recorder(Firewall):
    def __init__(self, prefix: str, ipv6: bool = True) -> None:
        super().__init__(prefix, ipv6)
        self.applied = 0

    async def write(self, family: int, rendered: dict[str, list[list[str]]]) -> None:
        self.applied += 1

    async def remove(self, family: int) -> None:
        pass

    def rules(self, family: int = 4) -> dict[str, list[list[str]]]:
        return self.render(family)
