"""IP address management: pools, the first free subnet, addresses in a subnet,
for IPv4 and IPv6 alike (a network has at most one subnet of each)."""
from __future__ import annotations

import ipaddress
import random

from ..errors import Conflict, Forbidden, InvalidParameter

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s.
# There is no IPv6 default (as in Docker 25): `default-address-pools` may add one.
DEFAULT_POOLS: list[tuple[str, int]] = [(f"172.{n}.0.0/16", 16) for n in range(17, 32)] + [
    ("192.168.0.0/16", 20)]


def version_of(text: str) -> int:
    """The IP version of an address or subnet as text (no parsing: it is valid)."""
    return 6 if ":" in text else 4


def host_routes() -> list[IPNetwork]:
    """Destinations of the host's routes, both families (no default routes)."""
    return _routes_v4() + _routes_v6()


def _routes_v4() -> list[IPNetwork]:
    nets: list[IPNetwork] = []
    try:
        with open("/proc/net/route") as f:
            next(f)
            for line in f:
                fields = line.split()
                if len(fields) < 8:
                    continue
                dest = int(fields[1], 16)
                mask = int(fields[7], 16)
                if mask == 0:
                    continue
                addr = ipaddress.IPv4Address(dest.to_bytes(4, "little"))
                prefix = bin(mask).count("1")
                nets.append(ipaddress.IPv4Network(f"{addr}/{prefix}", strict=False))
    except OSError:
        pass
    return nets


def _routes_v6() -> list[IPNetwork]:
    """From /proc/net/ipv6_route; link-local, multicast and default routes left out."""
    nets: list[IPNetwork] = []
    try:
        with open("/proc/net/ipv6_route") as f:
            for line in f:
                fields = line.split()
                prefix = int(fields[1], 16) if len(fields) > 1 else 0
                if prefix == 0:
                    continue
                net = ipaddress.IPv6Network((int(fields[0], 16), prefix), strict=False)
                if not (net.is_link_local or net.is_multicast or net.prefixlen == 128):
                    nets.append(net)
    except (OSError, ValueError):
        pass
    return nets


def first_free_subnet(taken: list[IPNetwork], pools: list[tuple[str, int]] | None = None,
                      version: int = 4) -> IPNetwork:
    """The first subnet of the pools (of one IP version) that overlaps no host
    route and no network already taken (dockerd's rule for the default bridge
    and new networks)."""
    busy = [b for b in list(taken) + host_routes() if b.version == version]
    for base, size in pools or DEFAULT_POOLS:
        pool = ipaddress.ip_network(base)
        if pool.version != version:
            continue
        for candidate in pool.subnets(new_prefix=size):
            if not any(candidate.overlaps(b) for b in busy):
                return candidate
    raise InvalidParameter(f"could not find an available, non-overlapping IPv{version} address "
                           "pool among the defaults to assign to the network")


def mac_for(ip: str) -> str:
    """Docker derives a container's MAC from its IPv4 address: 02:42:<ip bytes>."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)


def pools_of(configured: list[dict]) -> list[tuple[str, int]]:
    """`default-address-pools` of daemon.json ([{"base": ..., "size": ...}])."""
    out = []
    for item in configured or []:
        try:
            base, size = str(item["base"]), int(item["size"])
            if size < ipaddress.ip_network(base).prefixlen:
                raise ValueError(size)
        except (KeyError, TypeError, ValueError):
            raise InvalidParameter(f"invalid default address pool: {item}") from None
        out.append((base, size))
    return out or DEFAULT_POOLS


def _network(text: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidParameter(f"invalid CIDR address: {text}") from None


def parse_address(text: str, what: str, version: int | None = None) -> IPAddress:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidParameter(f"invalid {what} address: {text}") from None
    if version is not None and address.version != version:
        raise InvalidParameter(f"invalid {what} address: {text}")
    return address


def check_config(config: dict, taken: list[IPNetwork]) -> dict:
    """One IPAM.Config entry as dockerd checks it; the normalised entry. An
    IPv4 entry gets its default gateway written in; an IPv6 one shows a gateway
    only when one was given (as dockerd shows them)."""
    if not isinstance(config, dict):
        raise InvalidParameter("invalid IPAM config")
    subnet_text = config.get("Subnet") or ""
    subnet = _network(subnet_text)
    same_version = [t for t in taken if t.version == subnet.version]
    if any(subnet.overlaps(t) for t in same_version):
        raise Forbidden("Pool overlaps with other one on this address space")
    out: dict = {"Subnet": str(subnet)}
    if config.get("IPRange"):
        ip_range = _network(config["IPRange"])
        if ip_range.version != subnet.version or \
                not ip_range.subnet_of(subnet):  # type: ignore[arg-type]
            raise InvalidParameter(f"no matching subnet for range {config['IPRange']}")
        out["IPRange"] = str(ip_range)
    if config.get("Gateway"):
        gateway = parse_address(config["Gateway"], "gateway")
        if gateway not in subnet:
            raise InvalidParameter(f"no matching subnet for gateway {config['Gateway']}")
        out["Gateway"] = str(gateway)
    elif subnet.version == 4:
        out["Gateway"] = str(subnet.network_address + 1)
    aux = config.get("AuxiliaryAddresses") or config.get("AuxAddress") or {}
    if aux:
        for addr in aux.values():
            if parse_address(addr, "auxiliary") not in subnet:
                raise InvalidParameter(f"no matching subnet for aux-address {addr}")
        out["AuxiliaryAddresses"] = dict(aux)
    return out


class Pool:
    """Addresses of one subnet (optionally limited to an ip-range) for endpoints."""

    def __init__(self, subnet: str, gateway: str | None = None,
                 ip_range: str | None = None, aux: dict[str, str] | None = None) -> None:
        try:
            self.subnet = ipaddress.ip_network(subnet, strict=False)
        except ValueError as exc:
            raise InvalidParameter(f"invalid subnet {subnet}: {exc}") from None
        self.version = self.subnet.version
        self.gateway = (parse_address(gateway, "gateway", self.version) if gateway
                        else self.subnet.network_address + 1)
        if self.gateway not in self.subnet:
            raise InvalidParameter(f"gateway {self.gateway} is not in subnet {self.subnet}")
        self.range = ipaddress.ip_network(ip_range, strict=False) if ip_range else self.subnet
        if self.range.version != self.version or \
                not self.range.subnet_of(self.subnet):  # type: ignore[arg-type]
            raise InvalidParameter(f"ip-range {ip_range} is not in subnet {self.subnet}")
        self.allocated: set[IPAddress] = {self.gateway}
        self.allocated.update(ipaddress.ip_address(a) for a in (aux or {}).values())
        self._next = int(self.range.network_address) + 1

    def reserve(self, address: str) -> IPAddress:
        ip = parse_address(address, f"IPv{self.version}", self.version)
        if ip not in self.subnet:
            raise InvalidParameter(f"no configured subnet or ip-range contain the IP address "
                                   f"{address}")
        if ip in self.allocated:
            raise Conflict("Address already in use")
        self.allocated.add(ip)
        return ip

    def allocate(self) -> IPAddress:
        """The next free address after the last one given (as dockerd's bitmap does)."""
        first = int(self.range.network_address) + 1
        last = int(self.range.broadcast_address) - (1 if self.version == 4 else 0)
        if self.range.prefixlen >= self.range.max_prefixlen - 1:
            first, last = int(self.range.network_address), int(self.range.broadcast_address)
        span = last - first + 1
        start = self._next if first <= self._next <= last else first
        # a full pool is scanned whole; an IPv6 one never is (a /64 has 2^64 addresses)
        for offset in range(min(span, len(self.allocated) + 2)):
            candidate = ipaddress.ip_address(first + (start - first + offset) % span)
            if candidate not in self.allocated and (
                    self.version == 6 or candidate != self.subnet.broadcast_address):
                self.allocated.add(candidate)
                self._next = int(candidate) + 1
                return candidate
        raise Conflict(f"no available IPv{self.version} addresses on this network's address "
                       f"pools: {self.subnet}")

    def release(self, address: str | None) -> None:
        if not address:
            return
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return
        if ip != self.gateway:
            self.allocated.discard(ip)


def random_suffix(n: int = 6) -> str:
    return "".join(random.choice("0123456789abcdef") for _ in range(n))
