"""Links: Linux bridges, veth pairs and macvlan ports (the bridge and macvlan
drivers use them), and the host's network sysctls.

Host-side links are made with pyroute2's asyncio netlink API. Addresses and
routes inside a container's namespace are set by `ip -batch`, started in that
namespace by netns.run_in (the one way the daemon works inside a namespace).
"""
from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
from dataclasses import dataclass

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from ..errors import DockerError
from .netns import ip_batch_in

log = logging.getLogger(__name__)
IFA_F_NODAD = 0x02


class NetworkError(DockerError):
    pass


@dataclass
class Attachment:
    """One container interface on a bridge."""
    host_ifname: str
    ifname: str           # inside the container: eth0, eth1, ...
    address: str          # 172.17.0.2
    prefixlen: int
    mac: str
    gateway: str | None   # None: no default route through this interface
    mtu: int = 1500
    address6: str = ""    # on networks with IPv6
    prefixlen6: int = 0
    gateway6: str | None = None


def read_sysctl(path: str) -> str | None:
    """A /proc/sys value, stripped; None where the kernel has no such knob."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _write_sysctl(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as exc:
        log.debug("cannot set %s: %s", path, exc)


class Links:
    """The netlink socket of the daemon (host namespace)."""

    def __init__(self) -> None:
        self._ipr: AsyncIPRoute | None = None
        self._lock = asyncio.Lock()

    async def _ip(self) -> AsyncIPRoute:
        if self._ipr is None:
            self._ipr = AsyncIPRoute()
            await self._ipr.setup_endpoint()
        return self._ipr

    async def close(self) -> None:
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    async def index(self, ifname: str) -> int | None:
        ipr = await self._ip()
        try:
            links = await _collect(await ipr.link("get", ifname=ifname))
        except NetlinkError as exc:
            if exc.code in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return links[0]["index"] if links else None

    async def ensure_bridge(self, name: str, gateways: list[tuple[str, int]], mtu: int,
                            route_localnet: bool = False) -> None:
        """Create the bridge if missing, give it its gateway addresses (one per IP
        version: (address, prefixlen)), bring it up."""
        ipr = await self._ip()
        async with self._lock:
            idx = await self.index(name)
            if idx is None:
                try:
                    await ipr.link("add", ifname=name, kind="bridge", mtu=mtu)
                except NetlinkError as exc:
                    if exc.code != errno.EEXIST:
                        raise NetworkError(f"failed to create bridge {name}: {exc}") from None
                idx = await self.index(name)
            assert idx is not None
            addrs = await _collect(await ipr.addr("dump", index=idx))
            have = {(ipaddress.ip_address(a.get_attr("IFA_ADDRESS")), a["prefixlen"])
                    for a in addrs}
            for gateway, prefixlen in gateways:
                if (ipaddress.ip_address(gateway), prefixlen) in have:
                    continue
                extra = {"flags": IFA_F_NODAD} if ":" in gateway else {}
                try:
                    await ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen,
                                   **extra)
                except NetlinkError as exc:
                    if exc.code != errno.EEXIST:
                        raise NetworkError(f"failed to set {gateway}/{prefixlen} on {name}: "
                                           f"{exc}") from None
            await ipr.link("set", index=idx, state="up")
        # A container with CAP_NET_RAW must not steer the host with router
        # advertisements (CVE-2020-13401).
        _write_sysctl(f"/proc/sys/net/ipv6/conf/{name}/accept_ra", "0")
        set_route_localnet(name, route_localnet)

    async def delete_link(self, ifname: str) -> None:
        ipr = await self._ip()
        try:
            await ipr.link("del", ifname=ifname)
        except NetlinkError as exc:
            if exc.code not in (errno.ENODEV, errno.ENOENT, errno.EINVAL):
                raise

    async def attach(self, bridge: str, pid: int, att: Attachment) -> None:
        """A veth pair: one end on the bridge, the other in the namespace of pid."""
        ipr = await self._ip()
        br = await self.index(bridge)
        if br is None:
            raise NetworkError(f"bridge {bridge} does not exist")
        nsfd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            await ipr.link("add", ifname=att.host_ifname, kind="veth", mtu=att.mtu, master=br,
                           peer={"ifname": att.ifname, "net_ns_fd": nsfd,
                                 "address": att.mac, "mtu": att.mtu})
        except NetlinkError as exc:
            raise NetworkError(f"failed to create veth {att.host_ifname}: {exc}") from None
        finally:
            os.close(nsfd)
        await ipr.link("set", ifname=att.host_ifname, state="up")
        await in_namespace(pid, _address_commands(att))


    async def attach_macvlan(self, parent: str, mode: str, pid: int, att: Attachment) -> None:
        """A macvlan link on parent, moved into the namespace of pid and set up
        there as att.ifname (a temporary name first: the host may have an eth0)."""
        ipr = await self._ip()
        index = await self.index(parent)
        if index is None:
            raise NetworkError(f"-o parent interface was not found on the host: {parent}")
        nsfd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            await ipr.link("add", ifname=att.host_ifname, kind="macvlan", link=index,
                           macvlan_mode=mode, address=att.mac, mtu=att.mtu, net_ns_fd=nsfd)
        except NetlinkError as exc:
            raise NetworkError(f"failed to create the macvlan port: {exc}") from None
        finally:
            os.close(nsfd)
        await in_namespace(pid, [f"link set {att.host_ifname} name {att.ifname}",
                                 *_address_commands(att)])


def _address_commands(att: Attachment) -> list[str]:
    """`ip` commands that give the interface in the namespace its addresses, and
    the default routes where it carries them. IPv6 addresses skip duplicate
    address detection: the daemon gave them out, and DAD would hold them back
    for a second or more."""
    commands = [f"addr add {att.address}/{att.prefixlen} dev {att.ifname}"]
    if att.address6:
        commands.append(f"addr add {att.address6}/{att.prefixlen6} dev {att.ifname} nodad")
    commands += [f"link set {att.ifname} up", "link set lo up"]
    if att.gateway:
        commands.append(f"route add default via {att.gateway} dev {att.ifname}")
    if att.gateway6:
        commands.append(f"route add default via {att.gateway6} dev {att.ifname}")
    return commands


async def in_namespace(pid: int, commands: list[str]) -> None:
    """Run `ip` commands in the network namespace of pid (netns.run_in)."""
    status, err = await asyncio.to_thread(ip_batch_in, pid, commands)
    if status != 0:
        raise NetworkError(f"configuring the container's network failed: {err.strip()}")


async def _collect(result: object) -> list:
    """pyroute2 answers with a list or an async iterator, depending on the call."""
    if hasattr(result, "__aiter__"):
        return [item async for item in result]
    return list(result)  # type: ignore[call-overload]


def prefix_of(subnet: str) -> int:
    return ipaddress.IPv4Network(subnet, strict=False).prefixlen


def enable_bridge_netfilter() -> str:
    """Bridged traffic through iptables (what --icc=false and isolation need); a
    line for the log."""
    path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
    value = read_sysctl(path)
    if value == "1":
        return "net.bridge.bridge-nf-call-iptables is 1"
    if value is None:
        return ("net.bridge.bridge-nf-call-iptables is missing (br_netfilter is not loaded): "
                "--icc=false cannot filter traffic inside a bridge")
    _write_sysctl(path, "1")
    return "net.bridge.bridge-nf-call-iptables set to 1 (iptables sees bridged traffic)"


def enable_ip_forward() -> None:
    _write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")


def set_route_localnet(bridge: str, on: bool) -> None:
    """Whether 127.0.0.1 may be DNATed to containers on the bridge (no userland
    proxy answers it); a start in proxy mode takes it back."""
    _write_sysctl(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet", "1" if on else "0")


def ipv6_on_host() -> bool:
    """Whether the host has IPv6 at all (a kernel without it, or disabled)."""
    return read_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6") == "0"


def enable_ipv6_forward() -> bool:
    """Forwarding for IPv6 networks (as dockerd sets it); True when it was changed."""
    path = "/proc/sys/net/ipv6/conf/all/forwarding"
    if read_sysctl(path) in (None, "1"):
        return False
    _write_sysctl("/proc/sys/net/ipv6/conf/default/forwarding", "1")
    _write_sysctl(path, "1")
    return True
