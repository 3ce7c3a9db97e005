"""IP address management: pools, the first free subnet, addresses in a subnet."""
from __future__ import annotations

import ipaddress
import random

from ..errors import Conflict, Forbidden, InvalidParameter

# Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s.
DEFAULT_POOLS: list[tuple[str, int]] = [(f"172.{n}.0.0/16", 16) for n in range(17, 32)] + [
    ("192.168.0.0/16", 20)]


def host_routes() -> list[ipaddress.IPv4Network]:
    """Destinations of the host's IPv4 routes (from /proc/net/route; no default)."""
    nets = []
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


def first_free_subnet(taken: list[ipaddress.IPv4Network],
                      pools: list[tuple[str, int]] | None = None) -> ipaddress.IPv4Network:
    """The first subnet of the pools that overlaps no host route and no network
    already taken (dockerd's rule for the default bridge and new networks)."""
    busy = list(taken) + host_routes()
    for base, size in pools or DEFAULT_POOLS:
        for candidate in ipaddress.IPv4Network(base).subnets(new_prefix=size):
            if not any(candidate.overlaps(b) for b in busy):
                return candidate
    raise InvalidParameter("could not find an available, non-overlapping IPv4 address pool "
                           "among the defaults to assign to the network")


def mac_for(ip: ipaddress.IPv4Address) -> str:
    """Docker derives a container's MAC from its IPv4 address: 02:42:<ip bytes>."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)


def pools_of(configured: list[dict]) -> list[tuple[str, int]]:
    """`default-address-pools` of daemon.json ([{"base": ..., "size": ...}])."""
    out = []
    for item in configured or []:
        try:
            base, size = str(item["base"]), int(item["size"])
            ipaddress.IPv4Network(base)
        except (KeyError, TypeError, ValueError):
            raise InvalidParameter(f"invalid default address pool: {item}") from None
        out.append((base, size))
    return out or DEFAULT_POOLS


def _network(text: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise InvalidParameter(f"invalid CIDR address: {text}") from None


def parse_address(text: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidParameter(f"invalid {what} address: {text}") from None


def check_config(config: dict, taken: list[ipaddress.IPv4Network]) -> dict:
    """One IPAM.Config entry as dockerd checks it; the normalised entry."""
    if not isinstance(config, dict):
        raise InvalidParameter("invalid IPAM config")
    subnet_text = config.get("Subnet") or ""
    subnet = _network(subnet_text)
    if subnet.version != 4:
        raise InvalidParameter("IPv6 subnets are not supported by dockerd-py yet")
    if any(subnet.overlaps(t) for t in taken):
        raise Forbidden("Pool overlaps with other one on this address space")
    out: dict = {"Subnet": str(subnet)}
    if config.get("IPRange"):
        ip_range = _network(config["IPRange"])
        if not ip_range.subnet_of(subnet):
            raise InvalidParameter(f"no matching subnet for range {config['IPRange']}")
        out["IPRange"] = str(ip_range)
    if config.get("Gateway"):
        gateway = parse_address(config["Gateway"], "gateway")
        if gateway not in subnet:
            raise InvalidParameter(f"no matching subnet for gateway {config['Gateway']}")
        out["Gateway"] = str(gateway)
    else:
        out["Gateway"] = str(subnet.network_address + 1)
    aux = config.get("AuxiliaryAddresses") or config.get("AuxAddress") or {}
    if aux:
        for name, addr in aux.items():
            if parse_address(addr, "auxiliary") not in subnet:
                raise InvalidParameter(f"no matching subnet for aux-address {addr}")
        out["AuxiliaryAddresses"] = dict(aux)
    return out


class Pool:
    """Addresses of one subnet (optionally limited to an ip-range) for endpoints."""

    def __init__(self, subnet: str, gateway: str | None = None,
                 ip_range: str | None = None, aux: dict[str, str] | None = None) -> None:
        try:
            self.subnet = ipaddress.IPv4Network(subnet, strict=False)
        except ValueError as exc:
            raise InvalidParameter(f"invalid subnet {subnet}: {exc}") from None
        self.gateway = ipaddress.IPv4Address(gateway) if gateway else self.subnet.network_address + 1
        if self.gateway not in self.subnet:
            raise InvalidParameter(f"gateway {self.gateway} is not in subnet {self.subnet}")
        self.range = ipaddress.IPv4Network(ip_range, strict=False) if ip_range else self.subnet
        if not self.range.subnet_of(self.subnet):
            raise InvalidParameter(f"ip-range {ip_range} is not in subnet {self.subnet}")
        self.allocated: set[ipaddress.IPv4Address] = {self.gateway}
        self.allocated.update(ipaddress.IPv4Address(a) for a in (aux or {}).values())
        self._next = int(self.range.network_address) + 1

    def reserve(self, address: str) -> ipaddress.IPv4Address:
        ip = parse_address(address, "IPv4")
        if ip not in self.subnet:
            raise InvalidParameter(f"no configured subnet or ip-range contain the IP address "
                                   f"{address}")
        if ip in self.allocated:
            raise Conflict("Address already in use")
        self.allocated.add(ip)
        return ip

    def allocate(self) -> ipaddress.IPv4Address:
        """The next free address after the last one given (as dockerd's bitmap does)."""
        first = int(self.range.network_address) + 1
        last = int(self.range.broadcast_address) - 1
        if self.range.prefixlen >= 31:
            first, last = int(self.range.network_address), int(self.range.broadcast_address)
        span = last - first + 1
        start = self._next if first <= self._next <= last else first
        for offset in range(span):
            candidate = ipaddress.IPv4Address(first + (start - first + offset) % span)
            if candidate not in self.allocated and candidate != self.subnet.broadcast_address:
                self.allocated.add(candidate)
                self._next = int(candidate) + 1
                return candidate
        raise Conflict(f"no available IPv4 addresses on this network's address pools: "
                       f"{self.subnet}")

    def release(self, address: str | None) -> None:
        if not address:
            return
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            return
        if ip != self.gateway:
            self.allocated.discard(ip)


def random_suffix(n: int = 6) -> str:
    return "".join(random.choice("0123456789abcdef") for _ in range(n))
