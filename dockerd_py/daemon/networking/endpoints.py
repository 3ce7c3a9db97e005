"""Containers on networks: their endpoints (addresses, interfaces, aliases),
connect and disconnect, published ports and names, as the container services
and the network routes ask. The networks themselves are networks.py's."""
from __future__ import annotations

import asyncio
import logging
import re
import secrets
from typing import Any

from ...apitypes.network import NETWORK_RESOURCE
from ...config import DaemonConfig
from ...errors import Conflict, Forbidden, InvalidParameter, NotFound
from ...network import ipam
from ...network.files import NameSettings, SandboxFiles
from ...network.model import Endpoint, Network
from ..containers.record import Container, endpoint_shape
from ..events import Events
from .names import EMBEDDED_DNS, EmbeddedDns, dns_names
from .networks import PREDEFINED, NetworkService
from .ports import Ports, Target
from .sandbox import SandboxPlan

log = logging.getLogger(__name__)
Addresses = tuple[str | None, str | None]   # an endpoint's (IPv4, IPv6)


def mode_network(mode: str) -> str:
    """The network a NetworkMode puts a container on."""
    return "bridge" if mode in ("default", "") else mode


def user_defined(mode: str) -> bool:
    """dockerd's NetworkMode.IsUserDefined: not the default bridge, host, none, or
    another container's network."""
    return mode_network(mode) not in PREDEFINED and not mode.startswith("container:")


class Endpoints:
    def __init__(self, cfg: DaemonConfig, networks: NetworkService, events: Events,
                 ports: Ports, dns: EmbeddedDns) -> None:
        self.cfg = cfg
        self.networks = networks
        self.events = events
        self.ports = ports
        self.dns = dns

    # -- at create ----------------------------------------------------------------
    def validate_mode(self, mode: str) -> None:
        if mode.startswith("container:"):
            if len(mode) == len("container:"):
                raise InvalidParameter("Invalid network mode: invalid container format "
                                       "container:<name|id>")
        # a network that does not exist (yet) is the start's error, as in dockerd: a 404
        # at create would make the docker CLI go and pull the image

    def uses_host_namespace(self, mode: str) -> bool:
        """Whether a container of this NetworkMode shares the host's namespace."""
        if mode.startswith("container:"):
            return False
        net = self.networks.find(mode_network(mode), missing_ok=True)
        return net is not None and self.networks.driver_of(net).namespace == "host"

    def initial_settings(self, mode: str,
                         endpoints_config: dict[str, Any] | None = None) -> dict[str, Any]:
        """NetworkSettings.Networks of a created container: its NetworkMode's
        network first, then any others of NetworkingConfig (API >= 1.44)."""
        if mode.startswith("container:"):
            return {}
        configs = {mode_network(k): v for k, v in (endpoints_config or {}).items()}
        main = mode_network(mode)
        first = self.networks.find(main, missing_ok=True)
        if first is None:  # kept by its name, for the start to find (or not)
            return {main: self._endpoint_doc(None, configs.pop(main, None) or {})} | {
                name: self._endpoint_doc(None, config or {}) for name, config in configs.items()}
        own = [configs.pop(key, None) for key in (main, first.name, first.id)]
        out = {first.name: self._endpoint_doc(first, next((c for c in own if c), {}))}
        if len(configs) and self.networks.driver_of(first).namespace == "host":
            raise InvalidParameter("container sharing network namespace with host cannot be "
                                   "connected to more networks")
        for name, config in configs.items():
            net = self.networks.find(name, missing_ok=True)
            if net is None:
                out[name] = self._endpoint_doc(None, config or {})
                continue
            if net.name in out:
                continue
            if net.name in PREDEFINED:
                raise InvalidParameter(f"Container cannot be connected to network endpoints: "
                                       f"{first.name}, {net.name}")
            out[net.name] = self._endpoint_doc(net, config or {})
        return out

    def _endpoint_doc(self, net: Network | None, config: dict[str, Any]) -> dict[str, Any]:
        """An endpoint's settings as created: checked against its network, or kept
        as asked when the network does not exist yet (net None: the start finds it)."""
        if not isinstance(config, dict):
            raise InvalidParameter("invalid EndpointSettings")
        ipam_config = config.get("IPAMConfig") or None
        aliases = config.get("Aliases") or None
        if net is not None:
            self._check_endpoint(net, ipam_config, aliases)
        return endpoint_shape(net.id if net is not None else "", IPAMConfig=ipam_config,
                              Aliases=aliases, Links=config.get("Links") or None,
                              MacAddress=config.get("MacAddress") or "")

    def _check_endpoint(self, net: Network, ipam_config: dict[str, Any] | None,
                        aliases: list[str] | None) -> None:
        for key, version in (("IPv4Address", 4), ("IPv6Address", 6)):
            static = (ipam_config or {}).get(key)
            if not static:
                continue
            if net.name in PREDEFINED:
                raise InvalidParameter("user specified IP address is supported on user defined "
                                       "networks only")
            address = ipam.parse_address(static, f"IPv{version}", version)
            pool = net.pool if version == 4 else net.pool6
            if pool is None and self.networks.driver_of(net).uses_ipam:
                raise InvalidParameter("user specified IP address is supported only when "
                                       "connecting to networks with user configured subnets")
            if pool is not None and address not in pool.subnet:
                raise InvalidParameter(f"no configured subnet or ip-range contain the IP "
                                       f"address {static}")
        if aliases and net.name in PREDEFINED:
            raise InvalidParameter("network-scoped alias is supported only for containers in "
                                   "user defined networks")

    # -- at start and stop (the Sandbox drives these) ------------------------------------
    def sandbox(self, ctr: Container) -> Sandbox:
        return Sandbox(self, ctr)

    def allocate(self, ctr: Container) -> None:
        """Give each endpoint its addresses (static ones if asked), before the
        start; all or nothing."""
        done: list[tuple[Network, Addresses]] = []
        try:
            for name, ep in ctr.doc["NetworkSettings"]["Networks"].items():
                net = self.networks.get(name)
                addresses = self._take_addresses(net, ep)
                done.append((net, addresses))
                self._fill(ep, net, addresses)
                if net.name not in PREDEFINED:
                    ep["DNSNames"] = dns_names(ctr, ep)
        except BaseException:
            for net, addresses in done:
                _give_back(net, addresses)
            raise
        self.mirror_default(ctr.doc["NetworkSettings"])

    @staticmethod
    def _take_addresses(net: Network, ep: dict[str, Any]) -> Addresses:
        """(IPv4, IPv6) from the network's pools: the static ones of IPAMConfig, or
        the next free; None for a family the network does not have."""
        static = ep.get("IPAMConfig") or {}
        ip4 = ip6 = None
        if net.pool is not None:
            v4 = static.get("IPv4Address")
            ip4 = str(net.pool.reserve(v4) if v4 else net.pool.allocate())
        if net.pool6 is not None:
            v6 = static.get("IPv6Address")
            try:
                ip6 = str(net.pool6.reserve(v6) if v6 else net.pool6.allocate())
            except BaseException:
                _give_back(net, (ip4, None))
                raise
        return ip4, ip6

    def _fill(self, ep: dict[str, Any], net: Network, addresses: Addresses) -> None:
        ep.update(EndpointID=secrets.token_hex(32), NetworkID=net.id)
        if net.name not in PREDEFINED:
            ep["DNSNames"] = None  # filled by allocate, which knows the container
        ip, ip6 = addresses
        if ip is not None and net.pool is not None:
            mac = ep.get("MacAddress") or ipam.mac_for(ip)
            gateway = str(net.pool.gateway)
            if net.name == "bridge" and self.cfg.default_gateway:  # --default-gateway
                gateway = self.cfg.default_gateway
            ep.update(Gateway=gateway, IPAddress=ip,
                      IPPrefixLen=net.pool.subnet.prefixlen, MacAddress=mac)
        if ip6 is not None and net.pool6 is not None:
            ep.update(GlobalIPv6Address=ip6, GlobalIPv6PrefixLen=net.pool6.subnet.prefixlen,
                      IPv6Gateway=str(net.pool6.gateway))

    def release_endpoint(self, name: str, ep: dict[str, Any]) -> None:
        net = self.networks.find(name, missing_ok=True)
        if net is not None:
            _give_back(net, (ep.get("IPAddress"), ep.get("GlobalIPv6Address")))
        mac = ep.get("MacAddress") or ""
        if ep.get("IPAddress") and mac == ipam.mac_for(ep["IPAddress"]):
            mac = ""  # derived from the address; one the user asked for stays
        ep.update(EndpointID="", Gateway="", IPAddress="", IPPrefixLen=0, MacAddress=mac,
                  GlobalIPv6Address="", GlobalIPv6PrefixLen=0, IPv6Gateway="")

    @staticmethod
    def mirror_default(settings: dict[str, Any]) -> None:
        """The top-level fields repeat the default bridge endpoint (deprecated, still read)."""
        ep = settings["Networks"].get("bridge") or {}
        for key in ("EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress",
                    "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPv6Gateway"):
            settings[key] = ep.get(key, 0 if key.endswith("PrefixLen") else "")

    async def join(self, ctr: Container, net: Network, ep: dict[str, Any], pid: int,
                    ifname: str, default_route: bool) -> None:
        if not ep.get("EndpointID"):
            return
        await self.networks.bring_up(net)
        routed = default_route and not net.internal
        endpoint = Endpoint(ep["EndpointID"], ifname, ep.get("IPAddress", ""),
                            ep.get("IPPrefixLen", 0), ep.get("MacAddress", ""),
                            (ep.get("Gateway") if routed else None) or None,
                            ep.get("GlobalIPv6Address", ""), ep.get("GlobalIPv6PrefixLen", 0),
                            (ep.get("IPv6Gateway") if routed else None) or None)
        await self.networks.driver_of(net).join(net, endpoint, pid)
        ctr.internal.interfaces[net.id] = ifname

    def bridge_endpoint(self, ctr: Container) -> Target | None:
        """Where published ports lead: the first endpoint with an address behind a
        host interface (a bridge)."""
        for name, ep in ctr.doc["NetworkSettings"]["Networks"].items():
            net = self.networks.find(name, missing_ok=True)
            if net is None or not ep.get("IPAddress"):
                continue
            bridge = self.networks.driver_of(net).host_interface(net)
            if bridge is not None:
                default_ip = (net.options.get("com.docker.network.bridge.host_binding_ipv4")
                              or self.cfg.ip or "0.0.0.0")
                return Target(bridge, ep["IPAddress"], ep["EndpointID"], default_ip,
                              ep.get("GlobalIPv6Address") or "")
        return None

    async def leave(self, net: Network | None, ep: dict[str, Any]) -> None:
        if net is None or not ep.get("EndpointID"):
            return
        endpoint = Endpoint(ep["EndpointID"], "", ep.get("IPAddress", ""), 0, "", None)
        try:
            await self.networks.driver_of(net).leave(net, endpoint)
        except Exception as exc:  # noqa: BLE001 - logged; the container goes on
            log.warning("leaving %s: %s", net.name, getattr(exc, "message", exc))

    # -- connect and disconnect -----------------------------------------------------------
    async def connect(self, ctr: Container, net: Network, config: dict[str, Any]) -> None:
        networks = ctr.doc["NetworkSettings"]["Networks"]
        mode = ctr.host_config.get("NetworkMode", "bridge")
        if mode.startswith("container:") or self.uses_host_namespace(mode):
            raise Forbidden("container sharing network namespace with another container or "
                            "host cannot be connected to any other network")
        if net.name in networks:
            raise Forbidden(f"endpoint with name {ctr.name} already exists in network "
                            f"{net.name}")
        if self.networks.driver_of(net).namespace == "host" or net.name == "none":
            raise Forbidden("container cannot be disconnected from host network or connected "
                            "to host network")
        ep = self._endpoint_doc(net, config)
        if ctr.running:
            addresses = self._take_addresses(net, ep)
            try:
                self._fill(ep, net, addresses)
                if net.name not in PREDEFINED:
                    ep["DNSNames"] = dns_names(ctr, ep)
                used = set(ctr.internal.interfaces.values())
                ifname = next(f"eth{i}" for i in range(64) if f"eth{i}" not in used)
                await self.join(ctr, net, ep, ctr.state["Pid"], ifname, default_route=False)
            except BaseException:
                _give_back(net, addresses)
                raise
        networks[net.name] = ep
        if ctr.running:
            had_dns = ctr.id in self.dns.servers
            await self.dns.start(ctr, ctr.state["Pid"])
            if not had_dns and self.dns.wanted(ctr):  # its first user network: names now
                await asyncio.to_thread(self.files(ctr).write, True)
        self.mirror_default(ctr.doc["NetworkSettings"])
        self.events.publish("network", "connect", net.id, {"container": ctr.id,
                                                           "name": net.name,
                                                           "type": net.driver})

    async def disconnect(self, ctr: Container, net: Network, force: bool) -> None:
        networks = ctr.doc["NetworkSettings"]["Networks"]
        if net.name not in networks:
            if force:
                return
            raise Forbidden(f"container {ctr.id} is not connected to network {net.name}")
        if self.networks.driver_of(net).namespace == "host":
            raise Forbidden("container cannot be disconnected from host network or connected "
                            "to host network")
        ep = networks[net.name]
        if ctr.running:
            target = self.bridge_endpoint(ctr)
            if target is not None and target.endpoint_id == ep.get("EndpointID"):
                await self.ports.unpublish(ctr)
            await self.leave(net, ep)
            ctr.internal.interfaces.pop(net.id, None)
        self.release_endpoint(net.name, ep)
        del networks[net.name]
        if not self.dns.wanted(ctr):
            self.dns.stop(ctr)
        self.mirror_default(ctr.doc["NetworkSettings"])
        self.events.publish("network", "disconnect", net.id, {"container": ctr.id,
                                                              "name": net.name,
                                                              "type": net.driver})

    # -- names ------------------------------------------------------------------------
    def name_settings(self, ctr: Container) -> NameSettings:
        config, hc = ctr.config, ctr.host_config
        endpoints = list((ctr.doc["NetworkSettings"].get("Networks") or {}).values())
        address = next((ep["IPAddress"] for ep in endpoints if ep.get("IPAddress")), "")
        address6 = next((ep["GlobalIPv6Address"] for ep in endpoints
                         if ep.get("GlobalIPv6Address")), "")
        gateway = next((ep["Gateway"] for ep in endpoints if ep.get("Gateway")), "")
        return NameSettings(
            hostname=config.get("Hostname", ""), domainname=config.get("Domainname", ""),
            host_network=self.uses_host_namespace(hc.get("NetworkMode", "bridge")),
            address=address, address6=address6, gateway=gateway,
            extra_hosts=list(hc.get("ExtraHosts") or []),
            dns=list(hc.get("Dns") or self.cfg.dns or []),
            dns_search=list(hc.get("DnsSearch") or self.cfg.dns_search or []),
            dns_options=list(hc.get("DnsOptions") or self.cfg.dns_opts or []),
            embedded_dns=EMBEDDED_DNS if self.dns.wanted(ctr) else "",
            links=[(_address_on_bridge(target), f"{alias} {target.id[:12]} {target.name}")
                   for alias, target in self.links(ctr)])

    def links(self, ctr: Container) -> list[tuple[str, Container]]:
        """Legacy `--link name:alias` (the default bridge): (alias, running container),
        from the link index made at create (by the child's ID, whatever its name now)."""
        if ctr.internal.links:
            return [(full.rsplit("/", 1)[-1], self._linked(ctr, full, cid))
                    for full, cid in sorted(ctr.internal.links.items())]
        if (ctr.host_config.get("NetworkMode") or "default") not in ("default", "bridge"):
            return []  # on a user-defined network, links are names of the embedded DNS
        out = []  # a container from before the link index: by the names it gave
        for spec in ctr.host_config.get("Links") or []:
            name, _, alias = str(spec).partition(":")
            name = name.lstrip("/")
            alias = alias.rsplit("/", 1)[-1] if alias else name
            target = next((c for c in self.networks.containers()
                           if c.name == name or c.id.startswith(name)), None)
            if target is None:
                raise NotFound(f"could not get container for {name}")
            if not target.running:
                raise InvalidParameter(f"Cannot link to a non running container: /{target.name} "
                                       f"AS /{ctr.name}/{alias}")
            out.append((alias, target))
        return out

    def _linked(self, ctr: Container, full: str, cid: str) -> Container:
        target = next((c for c in self.networks.containers() if c.id == cid), None)
        if target is None:
            raise NotFound(f"could not get container for {full.rsplit('/', 1)[-1]}")
        if not target.running:
            raise InvalidParameter(f"Cannot link to a non running container: /{target.name} "
                                   f"AS {full}")
        return target

    def link_env(self, ctr: Container) -> list[str]:
        """The variables Docker sets for each link (ALIAS_PORT_80_TCP_ADDR...)."""
        env = []
        for alias, target in self.links(ctr):
            prefix = re.sub(r"[^A-Z0-9_]", "_", alias.upper())
            ip = _address_on_bridge(target)
            env.append(f"{prefix}_NAME=/{ctr.name}/{alias}")
            ports = sorted(target.config.get("ExposedPorts") or {},
                           key=lambda k: int(k.split("/")[0]))
            for i, key in enumerate(ports):
                port, _, proto = key.partition("/")
                proto = proto or "tcp"
                base = f"{prefix}_PORT_{port}_{proto.upper()}"
                if i == 0:
                    env.append(f"{prefix}_PORT={proto}://{ip}:{port}")
                env += [f"{base}={proto}://{ip}:{port}", f"{base}_ADDR={ip}",
                        f"{base}_PORT={port}", f"{base}_PROTO={proto}"]
            for item in target.config.get("Env") or []:
                key, _, value = item.partition("=")
                if key not in ("HOME", "PATH", "HOSTNAME"):
                    env.append(f"{prefix}_ENV_{key}={value}")
        return env

    def files(self, ctr: Container) -> SandboxFiles:
        """The container's /etc/hostname, /etc/hosts and /etc/resolv.conf, to write."""
        return SandboxFiles(self.name_settings(ctr), ctr.doc["HostnamePath"],
                            ctr.doc["HostsPath"], ctr.doc["ResolvConfPath"])

    # -- views and start-up -----------------------------------------------------------------
    def inspect_doc(self, net: Network, verbose: bool = False) -> dict[str, Any]:
        doc = dict(net.doc)
        members = {}
        for ctr in self.networks.members(net):
            ep = ctr.doc["NetworkSettings"]["Networks"].get(net.name) or {}
            if not ctr.running or not ep.get("EndpointID"):
                continue
            members[ctr.id] = {"Name": ctr.name, "EndpointID": ep.get("EndpointID", ""),
                               "MacAddress": ep.get("MacAddress", ""),
                               "IPv4Address": f"{ep['IPAddress']}/{ep['IPPrefixLen']}"
                               if ep.get("IPAddress") else "",
                               "IPv6Address": f"{ep['GlobalIPv6Address']}/"
                                              f"{ep['GlobalIPv6PrefixLen']}"
                               if ep.get("GlobalIPv6Address") else ""}
        doc["Containers"] = members
        return NETWORK_RESOURCE.marshal(doc)

    async def restore(self, containers: list[Container]) -> None:
        """At daemon start: the addresses, networks and ports of containers that
        kept running."""
        for ctr in containers:
            if not ctr.running:
                continue
            for name, ep in (ctr.doc["NetworkSettings"].get("Networks") or {}).items():
                net = self.networks.find(name, missing_ok=True)
                if net is None:
                    continue
                await self.networks.bring_up(net)
                for pool, key in ((net.pool, "IPAddress"), (net.pool6, "GlobalIPv6Address")):
                    if pool is None or not ep.get(key):
                        continue
                    try:
                        pool.reserve(ep[key])
                    except (Conflict, InvalidParameter):
                        log.warning("address %s of %s is taken twice", ep[key], ctr.id)
            await self.ports.publish(ctr, self.bridge_endpoint(ctr), restoring=True)
            if ctr.state.get("Pid"):
                try:
                    await self.dns.start(ctr, ctr.state["Pid"])
                except OSError as exc:
                    log.warning("no embedded DNS for %s: %s", ctr.id, exc)


class Sandbox:
    """One container's network sandbox, from a start to the stop after it: the
    addresses of its endpoints, their interfaces in its namespace, its published
    ports, its embedded DNS server, and its name files (as the plan the bundle
    writer reads). Connect and disconnect, while it runs, are Endpoints'."""

    def __init__(self, endpoints: Endpoints, ctr: Container) -> None:
        self.endpoints = endpoints
        self.ctr = ctr

    def prepare(self) -> SandboxPlan:
        """Before a start, on the loop: the endpoints' addresses (all or none), and
        the plan the bundle writer works from."""
        e, ctr = self.endpoints, self.ctr
        e.allocate(ctr)
        try:
            mode = ctr.host_config.get("NetworkMode", "")
            # --network container:X uses X's name files, as they are (the start
            # pointed its paths at them)
            files = None if mode.startswith("container:") else e.files(ctr)
            return SandboxPlan(files, e.link_env(ctr), e.uses_host_namespace(mode))
        except BaseException:
            self.release()
            raise

    async def plug(self, pid: int) -> None:
        """Plug the container's endpoints in (it has a pid now), publish its ports,
        start its DNS server."""
        e, ctr = self.endpoints, self.ctr
        settings = ctr.doc["NetworkSettings"]
        if not ctr.internal.sandbox_id:
            ctr.internal.sandbox_id = secrets.token_hex(32)
        settings["SandboxID"] = ctr.internal.sandbox_id
        settings["SandboxKey"] = f"/proc/{pid}/ns/net"
        ctr.internal.interfaces = {}
        for index, (name, ep) in enumerate(settings["Networks"].items()):
            net = e.networks.get(name)
            await e.join(ctr, net, ep, pid, f"eth{index}", default_route=index == 0)
        await e.ports.publish(ctr, e.bridge_endpoint(ctr))
        await e.dns.start(ctr, pid)

    async def unplug(self, exited: bool = False) -> None:
        """Remove what the drivers left on the host for the container's endpoints.
        After an exit the links go in the background: their namespace is being
        reclaimed by the kernel, which holds the netlink lock meanwhile, and
        waiting for it would add ~10 ms to every `run --rm`."""
        e, ctr = self.endpoints, self.ctr
        e.dns.stop(ctr)
        await e.ports.unpublish(ctr)
        for name, ep in (ctr.doc["NetworkSettings"].get("Networks") or {}).items():
            leaving = e.leave(e.networks.find(name, missing_ok=True), ep)
            if exited:
                e.networks.leave_later(leaving)
            else:
                await leaving

    def release(self) -> None:
        """The endpoints' addresses back to their pools (after a stop, or a start that
        failed)."""
        e, ctr = self.endpoints, self.ctr
        settings = ctr.doc["NetworkSettings"]
        for name, ep in settings["Networks"].items():
            e.release_endpoint(name, ep)
        settings.update(SandboxID="", SandboxKey="", Ports={})
        e.mirror_default(settings)


def _give_back(net: Network, addresses: Addresses) -> None:
    for pool, address in zip((net.pool, net.pool6), addresses, strict=True):
        if pool is not None:
            pool.release(address)


def _address_on_bridge(ctr: Container) -> str:
    ep = (ctr.doc["NetworkSettings"].get("Networks") or {}).get("bridge") or {}
    return ep.get("IPAddress") or next(
        (e.get("IPAddress") for e in (ctr.doc["NetworkSettings"].get("Networks") or {}).values()
         if e.get("IPAddress")), "")
