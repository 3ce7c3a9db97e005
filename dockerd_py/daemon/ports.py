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

from ..config import DaemonConfig
from ..errors import DockerError, InvalidParameter
from ..network import conntrack
from ..network.firewall import Firewall, PortMapping
from ..network.proxy import ProxyError, TcpProxy, UdpProxy
from .containers.record import Container

log = logging.getLogger(__name__)
PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class Target:
    """Where a container's published ports lead: its address on a bridge."""
    bridge: str          # the host-side interface (the bridge)
    container_ip: str
    endpoint_id: str
    default_ip: str      # the host address a binding without one uses


@dataclass(frozen=True)
class Binding:
    """One asked-for publication: container port/proto on host_ip, host ports lo..hi
    (0..0: any free one)."""
    container_port: int
    proto: str
    host_ip: str
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
    if not (0 < first <= last < 65536):
        raise InvalidParameter(f"invalid hostPort: {text}")
    return first, last


def bindings_of(host_config: dict[str, Any], exposed: dict[str, Any] | None,
                default_ip: str) -> list[Binding]:
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
            out.append(Binding(port, proto, (item or {}).get("HostIp") or default_ip, lo, hi))
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

    def _ephemeral_range(self) -> tuple[int, int]:
        try:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                lo, hi = (int(x) for x in f.read().split())
                return lo, hi
        except (OSError, ValueError):
            return 32768, 60999

    def _clashes(self, proto: str, port: int, ip: str) -> bool:
        ips = self.taken.get((proto, port), set())
        return bool(ips) and (ip == "0.0.0.0" or "0.0.0.0" in ips or ip in ips)

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
                for binding in bindings_of(ctr.host_config, exposed, target.default_ip):
                    held.append(await self._hold(binding, target))
            else:
                for mapping in planned:
                    held.append((mapping, await self._start_proxy(mapping)))
                    self.taken.setdefault((mapping.proto, mapping.host_port),
                                          set()).add(mapping.host_ip)
            if self.cfg.iptables and held:
                await self.firewall.set_ports(ctr.id, [m for m, _ in held])
        except BaseException as exc:
            await self._let_go(held)
            if isinstance(exc, ProxyError):
                raise DockerError(f"driver failed programming external connectivity on "
                                  f"endpoint {ctr.name} ({target.endpoint_id}): "
                                  f"{exc}") from None
            raise
        self.published[ctr.id] = held
        settings["Ports"] = self._ports_doc(exposed, [m for m, _ in held])

    async def _hold(self, b: Binding, target: Target) -> tuple[PortMapping, Any]:
        if b.lo:
            candidates = range(b.lo, b.hi + 1)
        else:
            lo, hi = self._ephemeral_range()
            span = hi - lo + 1
            start = (self._next - lo) % span if self._next else 0
            candidates = [lo + (start + i) % span for i in range(span)]  # type: ignore[assignment]
        last_error: Exception | None = None
        for port in candidates:
            if self._clashes(b.proto, port, b.host_ip):
                last_error = ProxyError(f"Bind for {b.host_ip}:{port} failed: port is already "
                                        "allocated")
                continue
            mapping = PortMapping(b.proto, b.host_ip, port, target.container_ip,
                                  b.container_port, target.bridge)
            try:
                proxy = await self._start_proxy(mapping)
            except ProxyError as exc:
                last_error = exc
                continue
            self.taken.setdefault((b.proto, port), set()).add(b.host_ip)
            if not b.lo:
                self._next = port + 1
            return mapping, proxy
        raise last_error or ProxyError("no free host port")

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
                out.append(PortMapping(proto, item.get("HostIp") or "0.0.0.0",
                                       int(item["HostPort"]), target.container_ip, port,
                                       target.bridge))
        return out

    async def close(self) -> None:
        """Daemon shutdown: the proxies stop (rules stay, for live restore)."""
        for held in self.published.values():
            for _, proxy in held:
                if proxy is not None:
                    await proxy.stop()


def _probe(m: PortMapping) -> None:
    """Without the userland proxy: is the host port free at all?"""
    kind = socket.SOCK_DGRAM if m.proto == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((m.host_ip or "0.0.0.0", m.host_port))
        except OSError as exc:
            raise ProxyError(f"Bind for {m.host_ip}:{m.host_port} failed: "
                             f"{(exc.strerror or str(exc)).lower()}") from None
