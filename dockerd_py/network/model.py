"""A network as the daemon keeps it: Docker's document (what inspect returns)
and, for drivers that give addresses, its IPAM pool."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from shared.timeutil import now_rfc3339, parse_rfc3339

from .ipam import Pool, version_of


@dataclass
class Network:
    doc: dict[str, Any]
    pool: Pool | None = None
    pool6: Pool | None = None   # only on networks with EnableIPv6
    up: bool = False    # its driver made it real on the host (bridges: at first use)

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
    def options(self) -> dict[str, str]:
        return self.doc.get("Options") or {}

    @property
    def bridge_name(self) -> str:
        return self.options.get("com.docker.network.bridge.name", "")

    @property
    def ipam_config(self) -> list[dict[str, Any]]:
        return self.doc["IPAM"].get("Config") or []

    def config_of(self, version: int) -> dict[str, Any] | None:
        """The IPAM.Config entry of one IP version."""
        return next((c for c in self.ipam_config
                     if version_of(c.get("Subnet", "")) == version), None)

    @property
    def ipv6(self) -> bool:
        return bool(self.doc.get("EnableIPv6"))

    @property
    def internal(self) -> bool:
        return bool(self.doc.get("Internal"))

    @property
    def created_ns(self) -> int:
        return parse_rfc3339(self.doc["Created"])


@dataclass
class Endpoint:
    """One container's interface on one network, as its driver plugs it."""
    endpoint_id: str
    ifname: str           # inside the container: eth0, eth1, ...
    address: str
    prefixlen: int
    mac: str
    gateway: str | None   # None: no default route through this interface
    address6: str = ""    # on networks with IPv6
    prefixlen6: int = 0
    gateway6: str | None = None


def network_doc(name: str, driver: str, subnet: str | None = None, gateway: str | None = None,
                options: dict[str, str] | None = None) -> dict[str, Any]:
    config = [{"Subnet": subnet, "Gateway": gateway}] if subnet else []
    return {"Name": name, "Id": secrets.token_hex(32), "Created": now_rfc3339(),
            "Scope": "local", "Driver": driver, "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": config},
            "Internal": False, "Attachable": False, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": {},
            "Options": options or {}, "Labels": {}}
