"""The firewall seam: what the network drivers ask of the host's packet filter.

Every backend keeps this instance's rules in chains named with its prefix, so
several daemons (or a real Docker) share one host without touching each other.
The rules are rendered here, from the state (bridges and published ports), the
same for every backend; a backend only writes them, whole, on each change.
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
    internal: bool = False   # no traffic in or out of the network's subnet


@dataclass(frozen=True)
class PortMapping:
    """One published port: host_ip:host_port -> container_ip:container_port."""
    proto: str           # tcp, udp, sctp
    host_ip: str         # "" or 0.0.0.0: every address of the host
    host_port: int
    container_ip: str
    container_port: int
    bridge: str


class Firewall(ABC):
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix  # e.g. DPY
        # --userland-proxy=false: loopback traffic is NATed too (route_localnet)
        self.loopback_nat = False
        self.bridges: dict[str, BridgeRules] = {}
        self.ports: dict[str, list[PortMapping]] = {}  # by endpoint

    @property
    def chains(self) -> dict[str, list[tuple[str, str | None, list[str]]]]:
        """table -> [(our chain, built-in chain it hangs off or None, jump match)]."""
        p = self.prefix
        output = [] if self.loopback_nat else ["!", "-d", "127.0.0.0/8"]
        return {
            "filter": [(f"{p}-FORWARD", "FORWARD", []), (f"{p}-ISOLATION-1", None, []),
                       (f"{p}-ISOLATION-2", None, [])],
            "nat": [(f"{p}-POSTROUTING", "POSTROUTING", []),
                    (f"{p}-DNAT", "PREROUTING", ["-m", "addrtype", "--dst-type", "LOCAL"]),
                    (f"{p}-DNAT", "OUTPUT", [*output, "-m", "addrtype", "--dst-type", "LOCAL"])],
        }

    def bridge_rules(self, rules: BridgeRules) -> dict[str, list[list[str]]]:
        """The rules of one bridge network, per table, as iptables arguments."""
        p = self.prefix
        br = rules.bridge
        filt = [["-A", f"{p}-FORWARD", "-o", br, "-m", "conntrack", "--ctstate",
                 "RELATED,ESTABLISHED", "-j", "ACCEPT"]]
        if not rules.internal:
            filt.append(["-A", f"{p}-FORWARD", "-i", br, "!", "-o", br, "-j", "ACCEPT"])
        filt.append(["-A", f"{p}-FORWARD", "-i", br, "-o", br, "-j",
                     "ACCEPT" if rules.icc else "DROP"])
        nat = []
        if rules.masquerade and not rules.internal:
            nat.append(["-A", f"{p}-POSTROUTING", "-s", rules.subnet, "!", "-o", br,
                        "-j", "MASQUERADE"])
        if self.loopback_nat:  # 127.0.0.1 as a source means nothing to the container
            nat.append(["-A", f"{p}-POSTROUTING", "-o", br, "-m", "addrtype", "--src-type",
                        "LOCAL", "-j", "MASQUERADE"])
        return {"filter": filt, "nat": nat}

    def isolation_rules(self, rules: BridgeRules) -> list[list[str]]:
        """Docker's two-stage isolation: what leaves one of our bridges for
        another of our bridges is dropped; an internal network's traffic never
        leaves its subnet."""
        p, br = self.prefix, rules.bridge
        if rules.internal:
            return [["-A", f"{p}-ISOLATION-1", "!", "-s", rules.subnet, "-o", br, "-j", "DROP"],
                    ["-A", f"{p}-ISOLATION-1", "!", "-d", rules.subnet, "-i", br, "-j", "DROP"],
                    ["-A", f"{p}-ISOLATION-2", "-o", br, "-j", "DROP"]]
        return [["-A", f"{p}-ISOLATION-1", "-i", br, "!", "-o", br, "-j", f"{p}-ISOLATION-2"],
                ["-A", f"{p}-ISOLATION-2", "-o", br, "-j", "DROP"]]

    def port_rules(self, m: PortMapping) -> dict[str, list[list[str]]]:
        """DNAT to the container, the forwarding it needs, and masquerading for
        hairpin traffic (a container reaching itself through the host's port)."""
        p = self.prefix
        proto = ["-p", m.proto]
        dest = ["-d", f"{m.host_ip}/32"] if m.host_ip not in ("", "0.0.0.0") else []
        return {
            "filter": [["-A", f"{p}-FORWARD", "-d", f"{m.container_ip}/32", "!", "-i", m.bridge,
                        "-o", m.bridge, *proto, "-m", m.proto, "--dport",
                        str(m.container_port), "-j", "ACCEPT"]],
            "nat": [["-A", f"{p}-DNAT", *dest, "!", "-i", m.bridge, *proto, "-m", m.proto,
                     "--dport", str(m.host_port), "-j", "DNAT", "--to-destination",
                     f"{m.container_ip}:{m.container_port}"],
                    ["-A", f"{p}-POSTROUTING", "-s", f"{m.container_ip}/32",
                     "-d", f"{m.container_ip}/32", *proto, "-m", m.proto, "--dport",
                     str(m.container_port), "-j", "MASQUERADE"]],
        }

    def render(self) -> dict[str, list[list[str]]]:
        """Every rule of this instance, per table, in order."""
        p = self.prefix
        out: dict[str, list[list[str]]] = {"filter": [], "nat": []}
        if self.bridges:
            out["filter"].append(["-A", f"{p}-FORWARD", "-j", f"{p}-ISOLATION-1"])
        for rules in self.bridges.values():
            out["filter"].extend(self.isolation_rules(rules))
        for mappings in self.ports.values():
            for mapping in mappings:
                for table, items in self.port_rules(mapping).items():
                    out[table].extend(items)
        for rules in self.bridges.values():
            for table, items in self.bridge_rules(rules).items():
                out[table].extend(items)
        return out

    # -- what the drivers ask ---------------------------------------------------------
    async def add_bridge(self, rules: BridgeRules) -> None:
        self.bridges[rules.bridge] = rules
        await self.apply()

    async def remove_bridge(self, rules: BridgeRules) -> None:
        self.bridges.pop(rules.bridge, None)
        await self.apply()

    async def set_ports(self, key: str, mappings: list[PortMapping]) -> None:
        """Publish an endpoint's ports (replacing what it had)."""
        if mappings:
            self.ports[key] = list(mappings)
        else:
            self.ports.pop(key, None)
        await self.apply()

    async def remove_ports(self, key: str) -> None:
        if self.ports.pop(key, None) is not None:
            await self.apply()

    async def setup(self) -> None:
        """Create this instance's chains and hook them into the built-in ones."""
        await self.apply()

    @abstractmethod
    async def apply(self) -> None:
        """Write render() into our chains, whole, and hook any missing jump."""

    @abstractmethod
    async def teardown(self) -> None:
        """Remove every chain and jump of this instance."""
