"""The firewall seam: what the network drivers ask of the host's packet filter.

Every backend keeps this instance's rules in chains named with its prefix, so
several daemons (or a real Docker) share one host without touching each other.
The rules are rendered here, from the state (bridges and published ports), the
same for every backend; a backend only writes them, whole, on each change.
IPv4 (iptables) and IPv6 (ip6tables) rules are rendered apart, as family 4 and 6.
"""
from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

from ...errors import DockerError

log = logging.getLogger(__name__)

Rendered = dict[str, list[list[str]]]


@dataclass(frozen=True)
class BridgeRules:
    bridge: str
    subnet: str
    masquerade: bool = True
    icc: bool = True
    internal: bool = False   # no traffic in or out of the network's subnet
    subnet6: str = ""        # a network with IPv6 has rules in ip6tables too

    def subnet_of(self, family: int) -> str:
        return self.subnet6 if family == 6 else self.subnet


@dataclass(frozen=True)
class PortMapping:
    """One published port: host_ip:host_port -> container_ip:container_port."""
    proto: str           # tcp, udp, sctp
    host_ip: str         # "" or 0.0.0.0: every address of the host
    host_port: int
    container_ip: str
    container_port: int
    bridge: str

    @property
    def family(self) -> int:
        return 6 if ":" in self.container_ip else 4


def _host(address: str, family: int) -> str:
    return f"{address}/{32 if family == 4 else 128}"


class Firewall(ABC):
    def __init__(self, prefix: str, ipv6: bool = True) -> None:
        self.prefix = prefix  # e.g. DPY
        # --userland-proxy=false: loopback traffic is NATed too (route_localnet)
        self.loopback_nat = False
        self.ipv6 = ipv6      # --ip6tables: write IPv6 rules too
        self.bridges: dict[str, BridgeRules] = {}
        self.ports: dict[str, list[PortMapping]] = {}  # by endpoint
        self._written6: Rendered | None = None  # None: not known to be in place
        self._lock = asyncio.Lock()  # one change at a time, as the xtables lock wants

    def families(self) -> list[int]:
        return [4, 6] if self.ipv6 else [4]

    def due(self) -> dict[int, Rendered]:
        """What each family's tables must be given now: IPv4 always (a jump
        someone removed is put back), IPv6 only when it changed: most hosts use
        IPv6 networks seldom, and each write costs a save and a restore."""
        out = {4: self.render(4)}
        if self.ipv6:
            six = self.render(6)
            if six != self._written6:
                out[6] = six
        return out

    def written(self, family: int, rendered: Rendered | None) -> None:
        """A backend wrote (or, with None, tore down) a family's rules."""
        if family == 6:
            self._written6 = rendered

    @property
    def user_chain(self) -> str:
        """The operator's chain (Docker's DOCKER-USER): consulted before ours in
        FORWARD, made when missing, never emptied by the daemon."""
        return f"{self.prefix}-USER"

    def chains(self, family: int = 4) -> dict[str, list[tuple[str, str | None, list[str]]]]:
        """table -> [(our chain, built-in chain it hangs off or None, jump match)];
        jumps into one built-in chain come in the order listed."""
        p = self.prefix
        # ::1 is never NATed (route_localnet is IPv4's alone), 127/8 only in loopback NAT
        loopback = ["!", "-d", "::1/128" if family == 6 else "127.0.0.0/8"]
        output = [] if self.loopback_nat and family == 4 else loopback
        return {
            "filter": [(self.user_chain, "FORWARD", []), (f"{p}-FORWARD", "FORWARD", []),
                       (f"{p}-ISOLATION-1", None, []), (f"{p}-ISOLATION-2", None, [])],
            "nat": [(f"{p}-POSTROUTING", "POSTROUTING", []),
                    # a loopback destination from outside is forged (moby#41872): no DNAT
                    (f"{p}-DNAT", "PREROUTING", [*loopback, "-m", "addrtype", "--dst-type",
                                                 "LOCAL"]),
                    (f"{p}-DNAT", "OUTPUT", [*output, "-m", "addrtype", "--dst-type", "LOCAL"])],
        }

    def bridge_rules(self, rules: BridgeRules, family: int = 4) -> Rendered:
        """The rules of one bridge network, per table, as iptables arguments."""
        p = self.prefix
        br = rules.bridge
        filt = [["-A", f"{p}-FORWARD", "-o", br, "-m", "conntrack", "--ctstate",
                 "RELATED,ESTABLISHED", "-j", "ACCEPT"]]
        if not rules.internal:
            filt.append(["-A", f"{p}-FORWARD", "-i", br, "!", "-o", br, "-j", "ACCEPT"])
        filt.append(["-A", f"{p}-FORWARD", "-i", br, "-o", br, "-j",
                     "ACCEPT" if rules.icc else "DROP"])
        # nothing else gets in, whatever the host's FORWARD policy: a neighbour
        # routing to a container's address reaches no port (moby#45610)
        filt.append(["-A", f"{p}-FORWARD", "!", "-i", br, "-o", br, "-j", "DROP"])
        nat = []
        if rules.masquerade and not rules.internal:
            nat.append(["-A", f"{p}-POSTROUTING", "-s", rules.subnet_of(family), "!", "-o", br,
                        "-j", "MASQUERADE"])
        if self.loopback_nat and family == 4:  # 127.0.0.1 means nothing to the container
            nat.append(["-A", f"{p}-POSTROUTING", "-o", br, "-m", "addrtype", "--src-type",
                        "LOCAL", "-j", "MASQUERADE"])
        return {"filter": filt, "nat": nat}

    def isolation_rules(self, rules: BridgeRules, family: int = 4) -> list[list[str]]:
        """Docker's two-stage isolation: what leaves one of our bridges for
        another of our bridges is dropped; an internal network's traffic never
        leaves its subnet."""
        p, br, subnet = self.prefix, rules.bridge, rules.subnet_of(family)
        if rules.internal:
            return [["-A", f"{p}-ISOLATION-1", "!", "-s", subnet, "-o", br, "-j", "DROP"],
                    ["-A", f"{p}-ISOLATION-1", "!", "-d", subnet, "-i", br, "-j", "DROP"],
                    ["-A", f"{p}-ISOLATION-2", "-o", br, "-j", "DROP"]]
        return [["-A", f"{p}-ISOLATION-1", "-i", br, "!", "-o", br, "-j", f"{p}-ISOLATION-2"],
                ["-A", f"{p}-ISOLATION-2", "-o", br, "-j", "DROP"]]

    def port_rules(self, m: PortMapping) -> Rendered:
        """DNAT to the container, the forwarding it needs, and masquerading for
        hairpin traffic (a container reaching itself through the host's port)."""
        p, family = self.prefix, m.family
        proto = ["-p", m.proto]
        dest = ["-d", _host(m.host_ip, family)] if m.host_ip not in ("", "0.0.0.0", "::") else []
        target = f"[{m.container_ip}]" if family == 6 else m.container_ip
        return {
            # only what the DNAT above sent: not a packet addressed to the container
            "filter": [["-A", f"{p}-FORWARD", "-d", _host(m.container_ip, family), "!", "-i",
                        m.bridge, "-o", m.bridge, *proto, "-m", m.proto, "--dport",
                        str(m.container_port), "-m", "conntrack", "--ctstate", "DNAT",
                        "-j", "ACCEPT"]],
            "nat": [["-A", f"{p}-DNAT", *dest, "!", "-i", m.bridge, *proto, "-m", m.proto,
                     "--dport", str(m.host_port), "-j", "DNAT", "--to-destination",
                     f"{target}:{m.container_port}"],
                    ["-A", f"{p}-POSTROUTING", "-s", _host(m.container_ip, family),
                     "-d", _host(m.container_ip, family), *proto, "-m", m.proto, "--dport",
                     str(m.container_port), "-j", "MASQUERADE"]],
        }

    def render(self, family: int = 4) -> Rendered:
        """Every rule of this instance for one family, per table, in order."""
        p = self.prefix
        out: Rendered = {"filter": [], "nat": []}
        bridges = [b for b in self.bridges.values() if b.subnet_of(family)]
        if bridges:
            out["filter"].append(["-A", f"{p}-FORWARD", "-j", f"{p}-ISOLATION-1"])
        for rules in bridges:
            out["filter"].extend(self.isolation_rules(rules, family))
        for mappings in self.ports.values():
            for mapping in mappings:
                if mapping.family != family:
                    continue
                for table, items in self.port_rules(mapping).items():
                    out[table].extend(items)
        for rules in bridges:
            for table, items in self.bridge_rules(rules, family).items():
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

    async def reconcile(self) -> None:
        """Every rule written again, both families (after someone else's flush or
        a firewall reload removed ours)."""
        self._written6 = None
        await self.apply()

    async def apply(self) -> None:
        """Write each family's rules that are due into our chains, whole. A host
        whose ip6tables fails keeps its IPv4 rules, and says so."""
        async with self._lock:
            for family, rendered in self.due().items():
                try:
                    await self.write(family, rendered)
                except DockerError as exc:
                    if family == 4:
                        raise
                    log.warning("no IPv6 rules, so IPv6 networks get no NAT or isolation: %s",
                                exc.message)
                    self.ipv6 = False
                    continue
                self.written(family, rendered)

    async def teardown(self) -> None:
        """Remove every chain and jump of this instance."""
        async with self._lock:
            self.bridges.clear()
            self.ports.clear()
            for family in self.families():
                try:
                    await self.remove(family)
                except DockerError:
                    if family == 4:
                        raise
                self.written(family, None)

    @abstractmethod
    async def write(self, family: int, rendered: Rendered) -> None:
        """Write one family's rules into our chains, whole, and hook any missing jump."""

    @abstractmethod
    async def remove(self, family: int) -> None:
        """Remove one family's chains of this instance and every jump to them."""
