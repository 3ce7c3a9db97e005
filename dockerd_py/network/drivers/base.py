"""The network driver interface: what a driver does to the host when a network
comes up or goes, and when a container joins or leaves it."""
from __future__ import annotations

from dataclasses import dataclass

from ..firewall import Firewall
from ..links import Attachment, Links
from ..model import Endpoint, Network


@dataclass(frozen=True)
class DriverContext:
    """The host-facing parts every driver may use."""
    links: Links
    firewall: Firewall
    iptables: bool        # --iptables: may the driver add rules
    mtu: int
    instance_prefix: str  # every host-wide name carries it
    route_localnet: bool = False  # bridges route 127.0.0.0/8 (--userland-proxy=false)


class NetworkDriver:
    name: str = ""
    # "private": the container gets a network namespace of its own; "host": it
    # shares the host's (no namespace, the host's /etc/hosts).
    namespace: str = "private"
    # Whether the network has subnets and gives its endpoints addresses.
    uses_ipam: bool = False

    def __init__(self, ctx: DriverContext) -> None:
        self.ctx = ctx

    def check_options(self, net: Network) -> None:
        """Refuse, with Docker's text, options this driver cannot honour (at create)."""

    async def check_host(self, net: Network) -> None:
        """Refuse, at create, a network the host cannot give (a missing parent link)."""

    async def create_network(self, net: Network) -> None:
        """Bring the network up on the host (at creation, and at daemon start)."""

    async def delete_network(self, net: Network) -> None:
        """Remove what create_network made."""

    async def join(self, net: Network, ep: Endpoint, pid: int) -> None:
        """Plug an endpoint into the namespace of the container's process pid."""

    async def leave(self, net: Network, ep: Endpoint) -> None:
        """Remove what join left on the host (normally gone with the namespace)."""

    def host_interface(self, net: Network) -> str | None:
        """The network's interface on the host that published ports lead through
        (a bridge); None where the driver has none."""
        return None

    def host_ifname(self, ep: Endpoint) -> str:
        """The host-side name of an endpoint's link, with this instance's prefix."""
        prefix = self.ctx.instance_prefix
        return f"{prefix}v{ep.endpoint_id[:14 - len(prefix)]}"

    def attachment(self, ep: Endpoint, mtu: int) -> Attachment:
        """What the host-side code needs to plug the endpoint in."""
        return Attachment(host_ifname=self.host_ifname(ep), ifname=ep.ifname,
                          address=ep.address, prefixlen=ep.prefixlen, mac=ep.mac,
                          gateway=ep.gateway, mtu=mtu, address6=ep.address6,
                          prefixlen6=ep.prefixlen6, gateway6=ep.gateway6)
