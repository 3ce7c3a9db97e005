"""Networks: the predefined `bridge`, `host` and `none`, user-defined ones, and
their documents as Docker shows them. What a network does to the host is its
driver's (network/drivers/); what containers do on networks is endpoints.py's."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from shared.filters import Filters
from shared.timeutil import now_rfc3339

from ...config import DaemonConfig
from ...errors import Conflict, Forbidden, InvalidParameter, NotFound
from ...network import ipam
from ...network.drivers import DriverContext, NetworkDriver, driver_not_found, new_drivers
from ...network.firewall import Firewall
from ...network.links import Links, enable_bridge_netfilter, enable_ip_forward
from ...network.model import Network, network_doc
from ..containers.record import Container
from ..events import Events
from ..store import Store, dumps, loads

log = logging.getLogger(__name__)

PREDEFINED = ("bridge", "host", "none")
NETWORK_FILTERS = {"driver", "id", "label", "name", "scope", "type", "dangling"}
NOT_IN_SWARM = ("This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm "
                "join\" to connect this node to swarm and try again.")



class NetworkService:
    def __init__(self, cfg: DaemonConfig, db: Store, firewall: Firewall, events: Events,
                 containers: Callable[[], list[Container]]) -> None:
        self.cfg = cfg
        self.containers = containers  # every container, to know who uses a network
        self.db = db
        self.firewall = firewall
        self.events = events
        self.links = Links()
        self.drivers = new_drivers(DriverContext(self.links, firewall, cfg.iptables, cfg.mtu,
                                                 cfg.instance_prefix,
                                                 route_localnet=not cfg.userland_proxy))
        self.networks: dict[str, Network] = {}
        self.leaving: set[asyncio.Future] = set()  # links of exited containers, going

    def driver_of(self, net: Network) -> NetworkDriver:
        driver = self.drivers.get(net.driver)
        if driver is None:
            raise driver_not_found(net.driver)
        return driver

    # -- start-up -------------------------------------------------------------
    async def load(self) -> None:
        rows = await self.db.run(lambda c: c.execute("SELECT doc FROM networks").fetchall())
        for (doc,) in rows:
            net = Network(loads(doc))
            self.networks[net.id] = net
        await self._ensure_predefined()
        if self.cfg.iptables:
            await self.firewall.setup()
            log.info("%s", enable_bridge_netfilter())
        if self.cfg.ip_forward:
            enable_ip_forward()
            log.info("net.ipv4.ip_forward set to 1 (containers reach other networks)")
        for net in self.networks.values():
            self._make_pool(net)
        bridge = self.get("bridge")
        self._check_default_gateway(bridge.ipam_config[0]["Subnet"])
        await self.bring_up(bridge)

    def _make_pool(self, net: Network) -> None:
        if not self.driver_of(net).uses_ipam:
            return
        for version in (4, 6):
            conf = net.config_of(version)
            if conf is None or (version == 6 and not net.ipv6):
                continue
            pool = ipam.Pool(conf["Subnet"], conf.get("Gateway"), conf.get("IPRange"),
                             conf.get("AuxiliaryAddresses"))
            if version == 4:
                net.pool = pool
            else:
                net.pool6 = pool

    async def bring_up(self, net: Network | None) -> None:
        """Make the network real on the host (bridges are made lazily, at their first
        container); idempotent."""
        if net is not None and not net.up:
            await self.driver_of(net).create_network(net)
            net.up = True

    async def _ensure_predefined(self) -> None:
        by_name = {n.name: n for n in self.networks.values()}
        bridge = by_name.get("bridge")
        wanted_subnet = self._default_subnet(bridge)
        wanted_v6 = self._default_subnet_v6()
        if bridge is not None and (bridge.bridge_name != self.cfg.bridge
                                   or bridge.ipam_config[0]["Subnet"] != wanted_subnet
                                   or bridge.ipv6 != bool(wanted_v6)
                                   or (bridge.config_of(6) or {}).get("Subnet") != wanted_v6):
            await self._delete_doc(bridge)
            bridge = None
        if bridge is None:
            options = {"com.docker.network.bridge.default_bridge": "true",
                       "com.docker.network.bridge.enable_icc": str(self.cfg.icc).lower(),
                       "com.docker.network.bridge.enable_ip_masquerade":
                           str(self.cfg.ip_masq).lower(),
                       "com.docker.network.bridge.host_binding_ipv4": self.cfg.ip or "0.0.0.0",
                       "com.docker.network.bridge.name": self.cfg.bridge,
                       "com.docker.network.driver.mtu": str(self.cfg.mtu)}
            doc = network_doc("bridge", "bridge", wanted_subnet, self._gateway(wanted_subnet),
                              options)
            if self.cfg.fixed_cidr:
                doc["IPAM"]["Config"][0]["IPRange"] = str(ipaddress.IPv4Network(
                    self.cfg.fixed_cidr, strict=False))
            if wanted_v6:
                doc["EnableIPv6"] = True
                doc["IPAM"]["Config"].append({"Subnet": wanted_v6})
            await self._save(Network(doc))
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
            return existing.ipam_config[0]["Subnet"]
        return str(ipam.first_free_subnet(self._taken(), ipam.pools_of(
            self.cfg.default_address_pools)))

    def _default_subnet_v6(self) -> str | None:
        """--ipv6 on the default bridge: its --fixed-cidr-v6 (dockerd wants one)."""
        if not self.cfg.ipv6:
            return None
        if not self.cfg.fixed_cidr_v6:
            raise InvalidParameter("--ipv6 needs --fixed-cidr-v6: the default bridge has no "
                                   "IPv6 subnet")
        try:
            subnet = ipaddress.IPv6Network(self.cfg.fixed_cidr_v6, strict=False)
        except ValueError:
            raise InvalidParameter(f"invalid --fixed-cidr-v6 {self.cfg.fixed_cidr_v6}") from None
        return str(subnet)

    def _check_default_gateway(self, subnet: str) -> None:
        gateway = self.cfg.default_gateway
        if gateway and ipaddress.IPv4Address(gateway) not in ipaddress.IPv4Network(subnet):
            raise InvalidParameter(f"--default-gateway {gateway} is not in the default "
                                   f"bridge's subnet {subnet}")

    def _gateway(self, subnet: str) -> str:
        if self.cfg.bip:
            return str(ipaddress.IPv4Interface(self.cfg.bip).ip)
        return str(ipaddress.IPv4Network(subnet).network_address + 1)

    def _taken(self) -> list[ipam.IPNetwork]:
        return [ipaddress.ip_network(c["Subnet"]) for n in self.networks.values()
                for c in n.ipam_config if c.get("Subnet")]

    async def _save(self, net: Network) -> None:
        await self.db.run(lambda c: c.execute(
            "INSERT OR REPLACE INTO networks(id, name, doc) VALUES (?,?,?)",
            (net.id, net.name, dumps(net.doc))))
        self.networks[net.id] = net

    async def _delete_doc(self, net: Network) -> None:
        await self.db.run(lambda c: c.execute("DELETE FROM networks WHERE id=?", (net.id,)))
        self.networks.pop(net.id, None)

    def leave_later(self, leaving: Awaitable[None]) -> None:
        """Remove an exited container's link in the background (see settle)."""
        task = asyncio.ensure_future(leaving)
        self.leaving.add(task)
        task.add_done_callback(self.leaving.discard)

    async def settle(self) -> None:
        """Wait until the links of exited containers are gone (before a network
        goes, and at shutdown)."""
        if self.leaving:
            await asyncio.gather(*list(self.leaving), return_exceptions=True)

    async def close(self) -> None:
        await self.settle()
        await self.links.close()

    # -- lookup ------------------------------------------------------------------
    def find(self, name_or_id: str, missing_ok: bool = False) -> Network | None:
        for net in self.networks.values():
            if net.id == name_or_id:
                return net
        for net in self.networks.values():
            if net.name == name_or_id:
                return net
        matches = [n for n in self.networks.values() if n.id.startswith(name_or_id)]
        if len(matches) == 1 and name_or_id:
            return matches[0]
        if missing_ok:
            return None
        if len(matches) > 1:
            raise NotFound(f"network {name_or_id} is ambiguous ({len(matches)} matches found "
                           "based on ID prefix)")
        raise NotFound(f"network {name_or_id} not found")

    def members(self, net: Network) -> list[Container]:
        """The containers configured on the network (running or not)."""
        return [c for c in self.containers()
                if net.name in (c.doc["NetworkSettings"].get("Networks") or {})]

    def get(self, name_or_id: str) -> Network:
        net = self.find(name_or_id)
        assert net is not None
        return net

    # -- create, remove, prune -----------------------------------------------------------
    async def create(self, body: dict[str, Any]) -> tuple[str, str]:
        """POST /networks/create: (ID, warning)."""
        name = body.get("Name")
        if not isinstance(name, str) or not name:
            raise InvalidParameter("network name must be specified")
        if not name.strip():  # any other name, as libnetwork takes it
            raise InvalidParameter(f"invalid name: {name}")
        driver_name = body.get("Driver") or "bridge"
        if name in PREDEFINED:
            raise Forbidden(f"operation is not permitted on predefined {name} network ")
        if driver_name == "overlay" or body.get("Ingress") or body.get("Scope") == "swarm":
            raise Forbidden(NOT_IN_SWARM)
        if driver_name not in self.drivers:
            raise driver_not_found(driver_name)
        if driver_name in ("host", "null"):
            raise Forbidden(f"only one instance of \"{driver_name}\" network is allowed")
        if any(n.name == name for n in self.networks.values()):
            raise Conflict(f"network with name {name} already exists")
        doc = self._document(name, driver_name, body)
        net = Network(doc)
        driver = self.driver_of(net)
        driver.check_options(net)
        await driver.check_host(net)
        self._make_pool(net)
        if driver.uses_ipam and net.pool is None:
            raise InvalidParameter(f"the {driver_name} driver needs an IPv4 subnet")
        await self._save(net)
        self.events.publish("network", "create", net.id, {"name": name, "type": driver_name})
        return net.id, ""

    def _document(self, name: str, driver_name: str, body: dict[str, Any]) -> dict[str, Any]:
        ipam_body = body.get("IPAM") or {}
        if not isinstance(ipam_body, dict):
            raise InvalidParameter("invalid IPAM")
        if (ipam_body.get("Driver") or "default") != "default":
            raise driver_not_found(ipam_body["Driver"])
        configs = [ipam.check_config(c, self._taken()) for c in ipam_body.get("Config") or []]
        by_version = {v: [c for c in configs if ipam.version_of(c["Subnet"]) == v] for v in (4, 6)}
        if any(len(c) > 1 for c in by_version.values()):
            raise InvalidParameter("dockerd-py supports one subnet of each IP version per network")
        if self.drivers[driver_name].uses_ipam:
            wanted = (4, 6) if body.get("EnableIPv6") else (4,)
            for version in (v for v in wanted if not by_version[v]):
                subnet = ipam.first_free_subnet(self._taken(), ipam.pools_of(
                    self.cfg.default_address_pools), version)
                auto = {"Subnet": str(subnet), "Gateway": str(subnet.network_address + 1)}
                configs.insert(0 if version == 4 else len(configs), auto)
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
        net_id = secrets.token_hex(32)
        return {"Name": name, "Id": net_id, "Created": now_rfc3339(), "Scope": "local",
                "Driver": driver_name, "EnableIPv6": bool(body.get("EnableIPv6")),
                "IPAM": {"Driver": "default", "Options": ipam_body.get("Options"),
                         "Config": configs},
                "Internal": bool(body.get("Internal")), "Attachable": bool(body.get("Attachable")),
                "Ingress": False, "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
                "Containers": {}, "Options": options, "Labels": labels}

    async def remove(self, name_or_id: str) -> None:
        net = self.get(name_or_id)
        if net.name in PREDEFINED:
            raise Forbidden(f"{net.name} is a pre-defined network and cannot be removed")
        if any(c.running for c in self.members(net)):
            raise Forbidden(f"error while removing network: network {net.name} id {net.id} has "
                            "active endpoints")
        # (also when not up in this run: a bridge made before a restart stays otherwise)
        await self.settle()
        await self.driver_of(net).delete_network(net)
        await self._delete_doc(net)
        self.events.publish("network", "destroy", net.id, {"name": net.name,
                                                           "type": net.driver})

    async def prune(self, filters: Filters) -> dict[str, Any]:
        filters.validate({"until", "label", "label!"})
        until = filters.until_ns()
        deleted = []
        for net in list(self.networks.values()):
            if net.name in PREDEFINED or self.members(net):
                continue
            if not filters.match_all_labels(net.doc.get("Labels") or {}):
                continue
            if until is not None and net.created_ns >= until:
                continue
            await self.remove(net.id)
            deleted.append(net.name)
        return {"NetworksDeleted": deleted or None}

    # -- API views ---------------------------------------------------------------------
    def list(self, filters: Filters) -> list[Network]:
        filters.validate(NETWORK_FILTERS)
        out = []
        for net in sorted(self.networks.values(), key=lambda n: n.name):
            if "name" in filters and not any(v in net.name for v in filters.get("name")):
                continue
            if "id" in filters and not any(net.id.startswith(v) for v in filters.get("id")):
                continue
            if not filters.match_exact("driver", net.driver):
                continue
            if "scope" in filters and "local" not in filters.get("scope"):
                continue
            if "type" in filters:
                kind = "builtin" if net.name in PREDEFINED else "custom"
                if kind not in filters.get("type"):
                    continue
            if "dangling" in filters:
                dangling = net.name not in PREDEFINED and not self.members(net)
                if not filters.match_bool("dangling", dangling):
                    continue
            if not filters.match_labels(net.doc.get("Labels")):
                continue
            out.append(net)
        return out
