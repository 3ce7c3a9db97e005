"""Networks: the predefined `bridge`, `host` and `none`, their addresses, and the
endpoints of containers on them."""
from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from shared.filters import Filters
from shared.timeutil import now_rfc3339

from ..config import DaemonConfig
from ..errors import InvalidParameter, NotFound
from ..network import ipam
from ..network.bridge import Attachment, Links, enable_ip_forward
from ..network.firewall import BridgeRules, Firewall
from .container import Container, endpoint_shape
from .store import Store, dumps, loads

log = logging.getLogger(__name__)

PREDEFINED = ("bridge", "host", "none")
NETWORK_FILTERS = {"driver", "id", "label", "name", "scope", "type", "dangling"}


@dataclass
class Network:
    doc: dict[str, Any]
    pool: ipam.Pool | None = None

    @property
    def id(self) -> str:
        return self.doc["Id"]

    @property
    def name(self) -> str:
        return self.doc["Name"]

    @property
    def driver(self) -> str:
        return self.doc["Driver"]

    @property
    def bridge_name(self) -> str:
        return self.doc.get("Options", {}).get("com.docker.network.bridge.name", "")


def network_doc(name: str, driver: str, subnet: str | None = None, gateway: str | None = None,
                options: dict[str, str] | None = None) -> dict[str, Any]:
    config = [{"Subnet": subnet, "Gateway": gateway}] if subnet else []
    return {"Name": name, "Id": secrets.token_hex(32), "Created": now_rfc3339(),
            "Scope": "local", "Driver": driver, "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": config},
            "Internal": False, "Attachable": False, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": {},
            "Options": options or {}, "Labels": {}}


class NetworkService:
    def __init__(self, cfg: DaemonConfig, db: Store, firewall: Firewall) -> None:
        self.cfg = cfg
        self.db = db
        self.firewall = firewall
        self.links = Links()
        self.networks: dict[str, Network] = {}

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
            if net.driver == "bridge":
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
        conf = net.doc["IPAM"]["Config"][0]
        net.pool = ipam.Pool(conf["Subnet"], conf.get("Gateway"), conf.get("IPRange"))
        prefix = ipaddress.IPv4Network(conf["Subnet"]).prefixlen
        await self.links.ensure_bridge(net.bridge_name, str(net.pool.gateway), prefix,
                                       int(net.doc["Options"].get("com.docker.network.driver.mtu",
                                                                  self.cfg.mtu)))
        if self.cfg.iptables:
            opts = net.doc["Options"]
            await self.firewall.add_bridge(BridgeRules(
                net.bridge_name, conf["Subnet"],
                masquerade=opts.get("com.docker.network.bridge.enable_ip_masquerade") != "false",
                icc=opts.get("com.docker.network.bridge.enable_icc") != "false"))

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
        settings["SandboxID"] = ctr.internal.setdefault("sandbox_id", secrets.token_hex(32))
        settings["SandboxKey"] = f"/proc/{pid}/ns/net"
        for index, (name, ep) in enumerate(settings["Networks"].items()):
            net = self.find(name)
            assert net is not None
            if net.pool is None:
                continue
            att = Attachment(host_ifname=self.veth_name(ep["EndpointID"]),
                             ifname=f"eth{index}", address=ep["IPAddress"],
                             prefixlen=ep["IPPrefixLen"], mac=ep["MacAddress"],
                             gateway=ep["Gateway"] if index == 0 else None, mtu=self.cfg.mtu)
            await self.links.attach(net.bridge_name, pid, att)

    async def detach(self, ctr: Container) -> None:
        """Remove host ends of veths that outlived the namespace (normally the
        kernel removes them with it)."""
        for ep in (ctr.doc["NetworkSettings"].get("Networks") or {}).values():
            if ep.get("EndpointID"):
                await self.links.delete_link(self.veth_name(ep["EndpointID"]))

    def veth_name(self, endpoint_id: str) -> str:
        return f"{self.cfg.instance_prefix}v{endpoint_id[:14 - len(self.cfg.instance_prefix)]}"

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
