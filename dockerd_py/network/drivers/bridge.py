"""bridge: a Linux bridge per network, a veth pair per endpoint, NAT and
forwarding rules through the firewall seam."""
from __future__ import annotations

import logging

from ...errors import InvalidParameter
from ..firewall import BridgeRules
from ..links import enable_ipv6_forward
from ..model import Endpoint, Network
from .base import NetworkDriver

log = logging.getLogger(__name__)


class BridgeDriver(NetworkDriver):
    name = "bridge"
    uses_ipam = True

    def bridge_of(self, net: Network) -> str:
        """The Linux bridge: the name asked for, else one with this instance's
        prefix and the network's ID (at most 15 characters)."""
        prefix = self.ctx.instance_prefix
        return net.bridge_name or f"{prefix}br-{net.id[:12 - len(prefix)]}"

    def host_interface(self, net: Network) -> str | None:
        return self.bridge_of(net)

    def check_options(self, net: Network) -> None:
        name = net.bridge_name
        if name and (len(name) > 15 or "/" in name or " " in name):
            raise InvalidParameter(f"invalid bridge name {name!r}")

    def _rules(self, net: Network) -> BridgeRules:
        opts = net.options
        return BridgeRules(
            self.bridge_of(net), str(net.pool.subnet) if net.pool else "",
            subnet6=str(net.pool6.subnet) if net.pool6 else "",
            masquerade=opts.get("com.docker.network.bridge.enable_ip_masquerade") != "false",
            icc=opts.get("com.docker.network.bridge.enable_icc") != "false",
            internal=net.internal)

    def _mtu(self, net: Network) -> int:
        return int(net.options.get("com.docker.network.driver.mtu", self.ctx.mtu))

    async def create_network(self, net: Network) -> None:
        gateways = [(str(p.gateway), p.subnet.prefixlen) for p in (net.pool, net.pool6) if p]
        await self.ctx.links.ensure_bridge(self.bridge_of(net), gateways, self._mtu(net),
                                           self.ctx.route_localnet)
        if net.pool6 is not None and enable_ipv6_forward():
            log.info("net.ipv6.conf.all.forwarding set to 1 (network %s has IPv6)", net.name)
        if self.ctx.iptables:
            await self.ctx.firewall.add_bridge(self._rules(net))

    async def delete_network(self, net: Network) -> None:
        bridge = self.bridge_of(net)
        if self.ctx.iptables and bridge in self.ctx.firewall.bridges:
            await self.ctx.firewall.remove_bridge(self._rules(net))
        await self.ctx.links.delete_link(bridge)

    async def join(self, net: Network, ep: Endpoint, pid: int) -> None:
        await self.ctx.links.attach(self.bridge_of(net), pid, self.attachment(ep, self._mtu(net)))

    async def leave(self, net: Network, ep: Endpoint) -> None:
        await self.ctx.links.delete_link(self.host_ifname(ep))
