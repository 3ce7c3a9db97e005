"""bridge: a Linux bridge per network, a veth pair per endpoint, NAT and
forwarding rules through the firewall seam."""
from __future__ import annotations

from ..bridge import Attachment
from ..firewall import BridgeRules
from ..model import Endpoint, Network
from .base import NetworkDriver


class BridgeDriver(NetworkDriver):
    name = "bridge"
    uses_ipam = True

    def _rules(self, net: Network) -> BridgeRules:
        opts = net.options
        return BridgeRules(
            net.bridge_name, net.ipam_config[0]["Subnet"],
            masquerade=opts.get("com.docker.network.bridge.enable_ip_masquerade") != "false",
            icc=opts.get("com.docker.network.bridge.enable_icc") != "false")

    def _mtu(self, net: Network) -> int:
        return int(net.options.get("com.docker.network.driver.mtu", self.ctx.mtu))

    async def create_network(self, net: Network) -> None:
        assert net.pool is not None
        await self.ctx.links.ensure_bridge(net.bridge_name, str(net.pool.gateway),
                                           net.pool.subnet.prefixlen, self._mtu(net))
        if self.ctx.iptables:
            await self.ctx.firewall.add_bridge(self._rules(net))

    async def delete_network(self, net: Network) -> None:
        if self.ctx.iptables:
            await self.ctx.firewall.remove_bridge(self._rules(net))
        await self.ctx.links.delete_link(net.bridge_name)

    async def join(self, net: Network, ep: Endpoint, pid: int) -> None:
        att = Attachment(host_ifname=self.host_ifname(ep), ifname=ep.ifname,
                         address=ep.address, prefixlen=ep.prefixlen, mac=ep.mac,
                         gateway=ep.gateway, mtu=self._mtu(net))
        await self.ctx.links.attach(net.bridge_name, pid, att)

    async def leave(self, net: Network, ep: Endpoint) -> None:
        await self.ctx.links.delete_link(self.host_ifname(ep))
