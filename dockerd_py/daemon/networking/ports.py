"""Published ports: `-p`/`-P` turned into host ports (given, from a range, or
from the ephemeral range, never one in use), NAT rules through the firewall
seam, the userland proxy for the host's own addresses, and NetworkSettings.Ports
as Docker fills it."""
from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import Any

from ...config import DaemonConfig
from ...errors import DockerError, InvalidParameter
from ...network import conntrack
from ...network.firewall import Firewall, PortMapping
from ...network.links import ipv6_on_host, read_sysctl, set_route_localnet
from ...network.proxy import ProxyError, TcpProxy, UdpProxy, host_socket, join_host_port
from ..containers.record import Container

log = logging.getLogger(__name__)
PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class Target:
    """Where a container's published ports lead: its address on a bridge."""
    bridge: str          # the host-side interface (the bridge)
    container_ip: str
    endpoint_id: str
    default_ip: str      # the host address a binding without one uses
    container_ip6: str = ""

    def address_for(self, host_ip: str) -> str:
        """An IPv6 host address leads to the container's IPv6 address if it has one
        (else the proxy relays to its IPv4 address, as docker-proxy does)."""
        return self.container_ip6 if ":" in host_ip and self.container_ip6 else self.container_ip


@dataclass(frozen=True)
class Binding:
    """One asked-for publication: container port/proto, the same host port (one
    of lo..hi; 0..0: any free one) on each of host_ips."""
    container_port: int
    proto: str
    host_ips: tuple[str, ...]
    lo: int
    hi: int


def parse_port_key(key: str) -> tuple[int, str]:
    port, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise InvalidParameter(f"invalid proto: {proto}")
    try:
        number = int(port)
    except ValueError:
        raise InvalidParameter(f"invalid containerPort: {port}") from None
    if not 0 < number < 65536:
        raise InvalidParameter(f"invalid containerPort: {port}")
    return number, proto


def _host_range(text: str) -> tuple[int, int]:
    if not text:
        return 0, 0
    lo, _, hi = text.partition("-")
    try:
        first, last = int(lo), int(hi or lo)
    except ValueError:
        raise InvalidParameter(f"invalid hostPort: {text}") from None
    if first == last == 0:
        return 0, 0  # "0": any free port, as an empty one
    if not (0 < first <= last < 65536):
        raise InvalidParameter(f"invalid hostPort: {text}")
    return first, last


def _host_ips(asked: str, default_ip: str, dual_stack: bool) -> tuple[str, ...]:
    """No address asked and the default one: every IPv4 and (on a host with
    IPv6) every IPv6 address, as dockerd binds 0.0.0.0 and ::."""
    if asked:
        return (asked,)
    if default_ip == "0.0.0.0" and dual_stack:
        return ("0.0.0.0", "::")
    return (default_ip,)


def bindings_of(host_config: dict[str, Any], exposed: dict[str, Any] | None,
                default_ip: str, dual_stack: bool = False) -> list[Binding]:
    """PortBindings, plus every exposed port with -P (PublishAllPorts)."""
    wanted: dict[str, list[dict[str, str]]] = {}
    for key, items in (host_config.get("PortBindings") or {}).items():
        wanted[key] = list(items or [{}])
    if host_config.get("PublishAllPorts"):
        for key in exposed or {}:
            wanted.setdefault(key, [{}])
    out = []
    for key, items in wanted.items():
        port, proto = parse_port_key(key)
        for item in items:
            lo, hi = _host_range(str((item or {}).get("HostPort") or ""))
            asked = str((item or {}).get("HostIp") or "")
            out.append(Binding(port, proto, _host_ips(asked, default_ip, dual_stack), lo, hi))
    return out


def check_bindings(host_config: dict[str, Any]) -> None:
    """At create: malformed bindings are a 400 now, not a failed start later."""
    bindings_of(host_config, None, "0.0.0.0")


class Ports:
    def __init__(self, cfg: DaemonConfig, firewall: Firewall) -> None:
        self.cfg = cfg
        self.firewall = firewall
        self.taken: dict[tuple[str, int], set[str]] = {}   # (proto, port) -> host ips
        self.published: dict[str, list[tuple[PortMapping, Any]]] = {}
        self._next = 0
        self.dual_stack = ipv6_on_host()

    def _ephemeral_range(self) -> tuple[int, int]:
        try:
            lo, hi = (int(x) for x in (read_sysctl("/proc/sys/net/ipv4/ip_local_port_range")
                                       or "").split())
            return lo, hi
        except ValueError:
            return 32768, 60999

    def _clashes(self, proto: str, port: int, ip: str) -> bool:
        v6 = ":" in ip
        wildcard = "::" if v6 else "0.0.0.0"
        ips = {i for i in self.taken.get((proto, port), set()) if (":" in i) == v6}
        return bool(ips) and (ip == wildcard or wildcard in ips or ip in ips)

    async def publish(self, ctr: Container, target: Target | None,
                      restoring: bool = False) -> None:
        """Hold the host ports, start the proxies, add the rules; all or nothing."""
        settings = ctr.doc["NetworkSettings"]
        exposed = ctr.config.get("ExposedPorts") or {}
        if target is None:
            settings["Ports"] = self._ports_doc(exposed, [])
            return
        planned = None
        if restoring:
            planned = self._recorded(settings.get("Ports") or {}, target)
        held: list[tuple[PortMapping, Any]] = []
        try:
            if planned is None:
                for binding in bindings_of(ctr.host_config, exposed, target.default_ip,
                                           self.dual_stack):
                    held.extend(await self._hold(binding, target))
            else:
                for mapping in planned:
                    held.append((mapping, await self._start_proxy(mapping)))
                    self.taken.setdefault((mapping.proto, mapping.host_port),
                                          set()).add(mapping.host_ip)
            if self.cfg.iptables and held:
                # NAT within one family; an IPv6 host address of an IPv4-only
                # container is the proxy's alone
                await self.firewall.set_ports(ctr.id, [m for m, _ in held if
                                                       (":" in m.host_ip) == (m.family == 6)])
        except BaseException as exc:
            await self._let_go(held)
            if isinstance(exc, ProxyError):
                raise DockerError(f"driver failed programming external connectivity on "
                                  f"endpoint {ctr.name} ({target.endpoint_id}): "
                                  f"{exc}") from None
            raise
        self.published[ctr.id] = held
        settings["Ports"] = self._ports_doc(exposed, [m for m, _ in held])

    async def _hold(self, b: Binding, target: Target) -> list[tuple[PortMapping, Any]]:
        """One host port, the same on every address of the binding."""
        if b.lo:
            candidates = range(b.lo, b.hi + 1)
        else:
            lo, hi = self._ephemeral_range()
            span = hi - lo + 1
            start = (self._next - lo) % span if self._next else 0
            candidates = [lo + (start + i) % span for i in range(span)]  # type: ignore[assignment]
        last_error: Exception | None = None
        for port in candidates:
            got: list[tuple[PortMapping, Any]] = []
            try:
                for ip in b.host_ips:
                    got.append(await self._hold_one(b, ip, port, target))
            except ProxyError as exc:
                await self._let_go(got)
                last_error = exc
                continue
            if not b.lo:
                self._next = port + 1
            return got
        raise last_error or ProxyError("no free host port")

    async def _hold_one(self, b: Binding, ip: str, port: int,
                        target: Target) -> tuple[PortMapping, Any]:
        if self._clashes(b.proto, port, ip):
            raise ProxyError(f"Bind for {join_host_port(ip, port)} failed: port is already "
                             "allocated")
        mapping = PortMapping(b.proto, ip, port, target.address_for(ip), b.container_port,
                              target.bridge)
        proxy = await self._start_proxy(mapping)
        self.taken.setdefault((b.proto, port), set()).add(ip)
        return mapping, proxy

    async def _start_proxy(self, m: PortMapping) -> Any:
        if not self.cfg.userland_proxy or m.proto == "sctp":
            _probe(m)
            return None
        cls = TcpProxy if m.proto == "tcp" else UdpProxy
        proxy = cls(m.host_ip, m.host_port, m.container_ip, m.container_port)
        await proxy.start()
        return proxy

    async def unpublish(self, ctr: Container) -> None:
        held = self.published.pop(ctr.id, [])
        await self._let_go(held)
        if held and self.cfg.iptables:
            try:
                await self.firewall.remove_ports(ctr.id)
            except DockerError as exc:
                log.error("removing the port rules of %s: %s", ctr.id, exc.message)
            for address in {m.container_ip for m, _ in held}:
                await asyncio.to_thread(conntrack.forget, address)

    async def _let_go(self, held: list[tuple[PortMapping, Any]]) -> None:
        for mapping, proxy in held:
            if proxy is not None:
                await proxy.stop()
            ips = self.taken.get((mapping.proto, mapping.host_port))
            if ips is not None:
                ips.discard(mapping.host_ip)
                if not ips:
                    self.taken.pop((mapping.proto, mapping.host_port), None)

    @staticmethod
    def _ports_doc(exposed: dict[str, Any], mappings: list[PortMapping]) -> dict[str, Any]:
        doc: dict[str, Any] = {k if "/" in k else f"{k}/tcp": None for k in exposed}
        for m in mappings:
            key = f"{m.container_port}/{m.proto}"
            doc[key] = (doc.get(key) or []) + [{"HostIp": m.host_ip or "0.0.0.0",
                                                "HostPort": str(m.host_port)}]
        return doc

    @staticmethod
    def _recorded(ports: dict[str, Any], target: Target) -> list[PortMapping]:
        out = []
        for key, items in ports.items():
            port, proto = parse_port_key(key)
            for item in items or []:
                host_ip = item.get("HostIp") or "0.0.0.0"
                out.append(PortMapping(proto, host_ip, int(item["HostPort"]),
                                       target.address_for(host_ip), port, target.bridge))
        return out

    async def close(self) -> None:
        """Daemon shutdown: the proxies stop (rules stay, for live restore). What
        they answered on the host's loopback is handed to the kernel until the
        next start takes it back, so published ports keep answering 127.0.0.1
        while the daemon is down (as --userland-proxy=false answers it)."""
        bridges = set()
        for held in self.published.values():
            for mapping, proxy in held:
                if proxy is not None:
                    await proxy.stop()
                    bridges.add(mapping.bridge)
        if bridges and self.cfg.iptables and not self.firewall.loopback_nat:
            for bridge in bridges:
                set_route_localnet(bridge, True)
            self.firewall.loopback_nat = True
            await self.firewall.apply()
            log.info("published ports answer 127.0.0.1 through NAT until the next start")


def _probe(m: PortMapping) -> None:
    """Without the userland proxy: is the host port free at all?"""
    kind = socket.SOCK_DGRAM if m.proto == "udp" else socket.SOCK_STREAM
    with host_socket(kind, m.host_ip) as sock:
        try:
            sock.bind((m.host_ip, m.host_port))
        except OSError as exc:
            raise ProxyError(f"Bind for {join_host_port(m.host_ip, m.host_port)} failed: "
                             f"{(exc.strerror or str(exc)).lower()}") from None
