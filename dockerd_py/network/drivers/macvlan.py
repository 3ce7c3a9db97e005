"""macvlan: each container gets a MAC of its own on a parent link of the host
(`-o parent=eth0`, `-o macvlan_mode=bridge|private|vepa|passthru`), on the
parent's LAN; the host itself cannot reach it through the parent."""
from __future__ import annotations

from ...errors import InvalidParameter
from ..model import Endpoint, Network
from .base import NetworkDriver

MODES = ("bridge", "private", "vepa", "passthru")


class MacvlanDriver(NetworkDriver):
    name = "macvlan"
    uses_ipam = True

    def check_options(self, net: Network) -> None:
        parent = net.options.get("parent", "")
        if not parent:
            # dockerd makes a dummy link to stand in for a parent; this daemon needs a
            # real one (some kernels, this one among them, have no dummy links)
            raise InvalidParameter("macvlan networks need a parent link: -o parent=<link>")
        if "." in parent:
            raise InvalidParameter(f"VLAN subinterfaces are not supported: {parent}")
        mode = net.options.get("macvlan_mode", "bridge")
        if mode not in MODES:
            raise InvalidParameter(f"requested macvlan mode '{mode}' is not valid, "
                                   "'bridge' mode is the macvlan driver default")

    async def check_host(self, net: Network) -> None:
        if await self.ctx.links.index(net.options["parent"]) is None:
            raise InvalidParameter("-o parent interface was not found on the host: "
                                   f"{net.options['parent']}")

    async def join(self, net: Network, ep: Endpoint, pid: int) -> None:
        att = self.attachment(ep, int(net.options.get("mtu", self.ctx.mtu)))
        await self.ctx.links.attach_macvlan(net.options["parent"],
                                            net.options.get("macvlan_mode", "bridge"), pid, att)
