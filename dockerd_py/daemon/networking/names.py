"""Names on user-defined networks: each container there gets the embedded DNS
server at 127.0.0.11, which answers the names, network aliases and short IDs
of the running containers that share a network with it, and forwards the rest
to the host's resolvers (never from an internal network)."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

from ...config import DaemonConfig
from ...network.dns import ContainerDns, Resolver
from ...network.files import host_nameservers
from ...network.netns import sockets_in
from ..containers.record import Container
from .networks import PREDEFINED, NetworkService

log = logging.getLogger(__name__)
EMBEDDED_DNS = "127.0.0.11"


def dns_names(ctr: Container, endpoint: dict[str, Any]) -> list[str]:
    """The names a container answers to on one network (DNSNames of inspect), as
    dockerd's buildEndpointDNSNames orders them: its name, its aliases, its short
    ID, its hostname; the first of each kept."""
    names = [ctr.name, *(endpoint.get("Aliases") or []), ctr.id[:12],
             ctr.config.get("Hostname") or ""]
    return list(dict.fromkeys(n for n in names if n))


class EmbeddedDns:
    def __init__(self, cfg: DaemonConfig, networks: NetworkService) -> None:
        self.cfg = cfg
        self.networks = networks
        self.servers: dict[str, ContainerDns] = {}

    def wanted(self, ctr: Container) -> bool:
        """On at least one user-defined network (the default bridge has no DNS)."""
        return any(name not in PREDEFINED
                   for name in ctr.doc["NetworkSettings"].get("Networks") or {})

    async def start(self, ctr: Container, pid: int) -> None:
        if ctr.id in self.servers or not self.wanted(ctr):
            return
        udp, tcp = await asyncio.to_thread(sockets_in, pid, EMBEDDED_DNS, 53)
        internal_only = all(self._internal(name) for name in self._user_networks(ctr))
        resolver = Resolver(lambda name: self._lookup(ctr, name),
                            lambda name: self._reverse(ctr, name),
                            self.upstreams(ctr), may_forward=not internal_only)
        server = ContainerDns(resolver)
        try:
            await server.start(udp, tcp)
        except BaseException:
            udp.close()
            tcp.close()
            raise
        self.servers[ctr.id] = server

    def stop(self, ctr: Container) -> None:
        server = self.servers.pop(ctr.id, None)
        if server is not None:
            server.close()  # our sockets would otherwise keep its namespace alive

    def close(self) -> None:
        for server in self.servers.values():
            server.close()
        self.servers.clear()

    def upstreams(self, ctr: Container) -> list[str]:
        return list(ctr.host_config.get("Dns") or self.cfg.dns or host_nameservers())

    # -- answers ------------------------------------------------------------------
    def _user_networks(self, ctr: Container) -> list[str]:
        return [n for n in ctr.doc["NetworkSettings"].get("Networks") or {}
                if n not in PREDEFINED]

    def _internal(self, name: str) -> bool:
        net = self.networks.find(name, missing_ok=True)
        return net is not None and net.internal

    def _peers(self, ctr: Container) -> list[tuple[Container, str, dict[str, Any]]]:
        """(container, network, endpoint) of every running container that shares a
        user-defined network with ctr, ctr included."""
        out = []
        for name in self._user_networks(ctr):
            net = self.networks.find(name, missing_ok=True)
            if net is None:
                continue
            for other in self.networks.members(net):
                ep = other.doc["NetworkSettings"]["Networks"].get(name) or {}
                if other.running and (ep.get("IPAddress") or ep.get("GlobalIPv6Address")):
                    out.append((other, name, ep))
        return out

    def _lookup(self, ctr: Container, name: str) -> list[str] | None:
        addresses = []
        for other, network, ep in self._peers(ctr):
            names = {n.lower() for n in dns_names(other, ep)}
            if name in names or name in {f"{n}.{network.lower()}" for n in names} \
                    or self._linked_as(ctr, network, other, name):
                addresses += [a for a in (ep.get("IPAddress"), ep.get("GlobalIPv6Address")) if a]
        return list(dict.fromkeys(addresses)) or None

    @staticmethod
    def _linked_as(ctr: Container, network: str, other: Container, name: str) -> bool:
        """`--link target:alias` on a user-defined network: the alias is a name of
        the target for this container alone (libnetwork's links there)."""
        own = (ctr.doc["NetworkSettings"].get("Networks") or {}).get(network) or {}
        for link in own.get("Links") or []:
            target, _, alias = str(link).partition(":")
            target = target.lstrip("/")
            if (alias or target).rsplit("/", 1)[-1].lower() == name and \
                    (other.name == target or other.id.startswith(target)):
                return True
        return False

    def _reverse(self, ctr: Container, name: str) -> list[str] | None:
        address = _reverse_address(name)
        if address is None:
            return None
        hosts = [f"{other.name}.{network}" for other, network, ep in self._peers(ctr)
                 if address in (ep.get("IPAddress"), _normal(ep.get("GlobalIPv6Address")))]
        return hosts or None


def _normal(address: str | None) -> str | None:
    return str(ipaddress.ip_address(address)) if address else None


def _reverse_address(name: str) -> str | None:
    """The address a PTR name asks about (in-addr.arpa or ip6.arpa), or None."""
    try:
        if name.endswith(".in-addr.arpa"):
            return str(ipaddress.IPv4Address(".".join(reversed(
                name[:-len(".in-addr.arpa")].split(".")))))
        if name.endswith(".ip6.arpa"):
            nibbles = "".join(reversed(name[:-len(".ip6.arpa")].split(".")))
            if len(nibbles) == 32:
                return str(ipaddress.IPv6Address(int(nibbles, 16)))
    except ValueError:
        pass
    return None
