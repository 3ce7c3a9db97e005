"""The firewall seam: what the network drivers ask of the host's packet filter.

Every backend keeps this instance's rules in chains named with its prefix, so
several daemons (or a real Docker) share one host without touching each other.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class BridgeRules:
    bridge: str
    subnet: str
    masquerade: bool = True
    icc: bool = True


class Firewall(ABC):
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix  # e.g. DPY

    @property
    def chains(self) -> dict[str, list[tuple[str, str, list[str]]]]:
        """table -> [(our chain, builtin chain it hangs off, jump rule arguments)]."""
        p = self.prefix
        return {
            "filter": [(f"{p}-FORWARD", "FORWARD", [])],
            "nat": [(f"{p}-POSTROUTING", "POSTROUTING", []),
                    (f"{p}-DNAT", "PREROUTING", ["-m", "addrtype", "--dst-type", "LOCAL"]),
                    (f"{p}-DNAT", "OUTPUT", ["!", "-d", "127.0.0.0/8", "-m", "addrtype",
                                             "--dst-type", "LOCAL"])],
        }

    def bridge_rules(self, rules: BridgeRules) -> dict[str, list[list[str]]]:
        """The rules of one bridge network, per table, as iptables arguments."""
        p = self.prefix
        br = rules.bridge
        filt = [
            ["-A", f"{p}-FORWARD", "-o", br, "-m", "conntrack", "--ctstate",
             "RELATED,ESTABLISHED", "-j", "ACCEPT"],
            ["-A", f"{p}-FORWARD", "-i", br, "!", "-o", br, "-j", "ACCEPT"],
            ["-A", f"{p}-FORWARD", "-i", br, "-o", br, "-j", "ACCEPT" if rules.icc else "DROP"],
        ]
        nat = []
        if rules.masquerade:
            nat.append(["-A", f"{p}-POSTROUTING", "-s", rules.subnet, "!", "-o", br,
                        "-j", "MASQUERADE"])
        return {"filter": filt, "nat": nat}

    @abstractmethod
    async def setup(self) -> None:
        """Create this instance's chains and hook them into the built-in ones."""

    @abstractmethod
    async def add_bridge(self, rules: BridgeRules) -> None: ...

    @abstractmethod
    async def remove_bridge(self, rules: BridgeRules) -> None: ...

    @abstractmethod
    async def teardown(self) -> None:
        """Remove every chain and jump of this instance."""
