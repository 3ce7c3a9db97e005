"""Networks: the predefined `bridge`, `host` and `none`, their addresses, and the
endpoints of containers on them. What a network does to the host is its
driver's (network/drivers/); this service keeps the documents and the rules."""
from __future__ import annotations

import ipaddress
import logging
import secrets
from typing import Any

from shared.filters import Filters

from ..config import DaemonConfig
from ..errors import InvalidParameter, NotFound
from ..network import ipam
from ..network.bridge import Links, enable_ip_forward
from ..network.drivers import DriverContext, NetworkDriver, driver_not_found, new_drivers
from ..network.files import NameSettings, write_files
from ..network.firewall import Firewall
from ..network.model import Endpoint, Network, network_doc
from .containers.record import Container, endpoint_shape
from .store import Store, dumps, loads

log = logging.getLogger(__name__)

PREDEFINED = ("bridge", "host", "none")
NETWORK_FILTERS = {"driver", "id", "label", "name", "scope", "type", "dangling"}


class NetworkService:
    def __init__(self, cfg: DaemonConfig, db: Store, firewall: Firewall) -> None:
        self.cfg = cfg
        self.db = db
        self.firewall = firewall
        self.links = Links()
        self.drivers = new_drivers(DriverContext(self.links, firewall, cfg.iptables, cfg.mtu,
                                                 cfg.instance_prefix))
        self.networks: dict[str, Network] = {}

    def driver_of(self, net: Network) -> NetworkDriver:
        driver = self.drivers.get(net.driver)
        if driver is None:
            raise driver_not_found(net.driver)
        return driver

    # -- start-up -------------------------------------------------------------
    async def load(self, containers: list[Container]) -> None:
        rows = await self.db.run(lambda c: c.execute("SELECT doc FROM networks").fetchall())
        for (doc,) in rows:
            net = Network(loads(doc))
            self.networks[net.id] = net
        await self._ensure_predefined()
        if self.cfg.iptables:
            await self.firewall.setup()
        if self.cfg.ip_forward:
            enable_ip_forward()
        for net in self.networks.values():
            await self._bring_up(net)
        for ctr in containers:  # addresses held by containers that kept running
            if ctr.running:
                for name, ep in (ctr.doc["NetworkSettings"].get("Networks") or {}).items():
                    net = self.find(name, missing_ok=True)
                    if net is not None and net.pool is not None and ep.get("IPAddress"):
                        try:
                            net.pool.reserve(ep["IPAddress"])
                        except Exception:  # noqa: BLE001 - a clash is logged, not fatal
                            log.warning("address %s of %s is taken twice", ep["IPAddress"], ctr.id)

    async def _ensure_predefined(self) -> None:
        by_name = {n.name: n for n in self.networks.values()}
        bridge = by_name.get("bridge")
        wanted_subnet = self._default_subnet(bridge)
        if bridge is not None and bridge.bridge_name != self.cfg.bridge or (
                bridge is not None and bridge.doc["IPAM"]["Config"][0]["Subnet"] != wanted_subnet):
            await self._delete_doc(bridge)
            bridge = None
        if bridge is None:
            gateway = self._gateway(wanted_subnet)
            options = {"com.docker.network.bridge.default_bridge": "true",
                       "com.docker.network.bridge.enable_icc": str(self.cfg.icc).lower(),
                       "com.docker.network.bridge.enable_ip_masquerade":
                           str(self.cfg.ip_masq).lower(),
                       "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                       "com.docker.network.bridge.name": self.cfg.bridge,
                       "com.docker.network.driver.mtu": str(self.cfg.mtu)}
            await self._save(Network(network_doc("bridge", "bridge", wanted_subnet, gateway,
                                                 options)))
        if "host" not in by_name:
            await self._save(Network(network_doc("host", "host")))
        if "none" not in by_name:
            await self._save(Network(network_doc("none", "null")))

    def _default_subnet(self, existing: Network | None) -> str:
        if self.cfg.bip:
            try:
                iface = ipaddress.IPv4Interface(self.cfg.bip)
            except ValueError:
                raise InvalidParameter(f"invalid --bip {self.cfg.bip}") from None
            return str(iface.network)
        if existing is not None and existing.bridge_name == self.cfg.bridge:
            return existing.doc["IPAM"]["Config"][0]["Subnet"]
        taken = [ipaddress.IPv4Network(c["Subnet"]) for n in self.networks.values()
                 for c in n.doc["IPAM"]["Config"] if c.get("Subnet")]
        return str(ipam.first_free_subnet(taken))

    def _gateway(self, subnet: str) -> str:
        if self.cfg.bip:
            return str(ipaddress.IPv4Interface(self.cfg.bip).ip)
        return str(ipaddress.IPv4Network(subnet).network_address + 1)

    async def _bring_up(self, net: Network) -> None:
        driver = self.driver_of(net)
        if driver.uses_ipam:
            conf = net.ipam_config[0]
            net.pool = ipam.Pool(conf["Subnet"], conf.get("Gateway"), conf.get("IPRange"))
        await driver.create_network(net)

    async def _save(self, net: Network) -> None:
        await self.db.run(lambda c: c.execute(
            "INSERT OR REPLACE INTO networks(id, name, doc) VALUES (?,?,?)",
            (net.id, net.name, dumps(net.doc))))
        self.networks[net.id] = net

    async def _delete_doc(self, net: Network) -> None:
        await self.db.run(lambda c: c.execute("DELETE FROM networks WHERE id=?", (net.id,)))
        self.networks.pop(net.id, None)

    async def close(self) -> None:
        await self.links.close()

    # -- lookup ------------------------------------------------------------------
    def find(self, name_or_id: str, missing_ok: bool = False) -> Network | None:
        for net in self.networks.values():
            if net.name == name_or_id or net.id == name_or_id:
                return net
        matches = [n for n in self.networks.values() if n.id.startswith(name_or_id)]
        if len(matches) == 1:
            return matches[0]
        if missing_ok:
            return None
        raise NotFound(f"network {name_or_id} not found")

    def mode_network(self, mode: str) -> str:
        """The network a NetworkMode puts a container on."""
        return "bridge" if mode in ("default", "") else mode

    def validate_mode(self, mode: str) -> None:
        if mode.startswith("container:"):
            if len(mode) == len("container:"):
                raise InvalidParameter("Invalid network mode: invalid container format "
                                       "container:<name|id>")
            return
        self.find(self.mode_network(mode))

    def uses_host_namespace(self, mode: str) -> bool:
        """Whether a container of this NetworkMode shares the host's namespace."""
        if mode.startswith("container:"):
            return False
        net = self.find(self.mode_network(mode), missing_ok=True)
        return net is not None and self.driver_of(net).namespace == "host"

    # -- endpoints -------------------------------------------------------------------
    def initial_settings(self, mode: str) -> dict[str, dict[str, Any]]:
        """NetworkSettings.Networks of a created container."""
        if mode.startswith("container:"):
            return {}
        net = self.find(self.mode_network(mode))
        assert net is not None
        return {net.name: endpoint_shape(net.id)}

    def allocate(self, ctr: Container) -> None:
        """Give each bridge endpoint an address, before the container starts."""
        settings = ctr.doc["NetworkSettings"]
        for name, ep in settings["Networks"].items():
            net = self.find(name)
            assert net is not None
            if net.pool is None:
                continue
            ip = net.pool.allocate()
            ep.update(EndpointID=secrets.token_hex(32), Gateway=str(net.pool.gateway),
                      IPAddress=str(ip), IPPrefixLen=net.pool.subnet.prefixlen,
                      MacAddress=ipam.mac_for(ip), NetworkID=net.id)
        self._mirror_default(settings)

    def release(self, ctr: Container) -> None:
        settings = ctr.doc["NetworkSettings"]
        for name, ep in settings["Networks"].items():
            net = self.find(name, missing_ok=True)
            if net is not None and net.pool is not None:
                net.pool.release(ep.get("IPAddress"))
            ep.update(EndpointID="", Gateway="", IPAddress="", IPPrefixLen=0, MacAddress="")
        settings.update(SandboxID="", SandboxKey="", Ports={})
        self._mirror_default(settings)

    @staticmethod
    def _mirror_default(settings: dict[str, Any]) -> None:
        """The top-level fields repeat the default bridge endpoint (deprecated, still read)."""
        ep = settings["Networks"].get("bridge") or {}
        for key in ("EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress"):
            settings[key] = ep.get(key, 0 if key == "IPPrefixLen" else "")

    async def attach(self, ctr: Container, pid: int) -> None:
        """Plug the container's endpoints into their networks (it has a pid now)."""
        settings = ctr.doc["NetworkSettings"]
        if not ctr.internal.sandbox_id:
            ctr.internal.sandbox_id = secrets.token_hex(32)
        settings["SandboxID"] = ctr.internal.sandbox_id
        settings["SandboxKey"] = f"/proc/{pid}/ns/net"
        for index, (net, ep) in enumerate(self._endpoints(ctr)):
            ep.ifname = f"eth{index}"
            ep.gateway = ep.gateway if index == 0 else None
            await self.driver_of(net).join(net, ep, pid)

    async def detach(self, ctr: Container) -> None:
        """Remove what the drivers left on the host for the container's endpoints."""
        for net, ep in self._endpoints(ctr):
            await self.driver_of(net).leave(net, ep)

    def _endpoints(self, ctr: Container) -> list[tuple[Network, Endpoint]]:
        out = []
        for name, doc in (ctr.doc["NetworkSettings"].get("Networks") or {}).items():
            net = self.find(name, missing_ok=True)
            if net is None or not doc.get("EndpointID"):
                continue
            out.append((net, Endpoint(doc["EndpointID"], "", doc.get("IPAddress", ""),
                                      doc.get("IPPrefixLen", 0), doc.get("MacAddress", ""),
                                      doc.get("Gateway") or None)))
        return out

    # -- names ------------------------------------------------------------------------
    def name_settings(self, ctr: Container) -> NameSettings:
        config, hc = ctr.config, ctr.host_config
        endpoints = list((ctr.doc["NetworkSettings"].get("Networks") or {}).values())
        address = next((ep["IPAddress"] for ep in endpoints if ep.get("IPAddress")), "")
        gateway = next((ep["Gateway"] for ep in endpoints if ep.get("Gateway")), "")
        return NameSettings(
            hostname=config.get("Hostname", ""), domainname=config.get("Domainname", ""),
            host_network=self.uses_host_namespace(hc.get("NetworkMode", "bridge")),
            address=address, gateway=gateway, extra_hosts=list(hc.get("ExtraHosts") or []),
            dns=list(hc.get("Dns") or self.cfg.dns or []),
            dns_search=list(hc.get("DnsSearch") or self.cfg.dns_search or []),
            dns_options=list(hc.get("DnsOptions") or self.cfg.dns_opts or []))

    def write_name_files(self, ctr: Container) -> None:
        """/etc/hostname, /etc/hosts, /etc/resolv.conf of the container (blocking)."""
        write_files(self.name_settings(ctr), ctr.doc["HostnamePath"], ctr.doc["HostsPath"],
                    ctr.doc["ResolvConfPath"])

    # -- API views --------------------------------------------------------------------
    def inspect_doc(self, net: Network, containers: list[Container]) -> dict[str, Any]:
        doc = dict(net.doc)
        members = {}
        for ctr in containers:
            ep = (ctr.doc["NetworkSettings"].get("Networks") or {}).get(net.name)
            if ep is None or not ctr.running:
                continue
            members[ctr.id] = {"Name": ctr.name, "EndpointID": ep.get("EndpointID", ""),
                               "MacAddress": ep.get("MacAddress", ""),
                               "IPv4Address": f"{ep['IPAddress']}/{ep['IPPrefixLen']}"
                               if ep.get("IPAddress") else "", "IPv6Address": ""}
        doc["Containers"] = members
        return doc

    def list(self, filters: Filters) -> list[Network]:
        filters.validate(NETWORK_FILTERS)
        out = []
        for net in self.networks.values():
            if "name" in filters and not any(v in net.name for v in filters.get("name")):
                continue
            if "id" in filters and not any(net.id.startswith(v) for v in filters.get("id")):
                continue
            if not filters.match_exact("driver", net.driver):
                continue
            if "type" in filters:
                kind = "builtin" if net.name in PREDEFINED else "custom"
                if kind not in filters.get("type"):
                    continue
            if not filters.match_labels(net.doc.get("Labels")):
                continue
            out.append(net)
        return out
