"""Field types of request bodies, for dockerd's `invalid JSON: json: cannot
unmarshal ...` answers. Unknown fields are not listed and pass (Go ignores them).
The container and endpoint types come from their declarations (apitypes)."""
from __future__ import annotations

from ..apitypes import container, network
from .http import BOOL, STR

STR_MAP = ("map", STR)

# The container types are declared once, in apitypes; their tables come from there.
CONTAINER_CONFIG = container.CONFIG.schema()
HOST_CONFIG = container.HOST_CONFIG.schema()
ENDPOINT = network.ENDPOINT_SETTINGS.schema()
CREATE_REQUEST = dict(CONTAINER_CONFIG, HostConfig=HOST_CONFIG,
                      NetworkingConfig=network.NETWORKING_CONFIG.schema())
EXEC_CREATE = container.EXEC_CONFIG.schema()
EXEC_START = container.EXEC_START.schema()
UPDATE_REQUEST = container.UPDATE_CONFIG.schema()

NETWORK_CREATE = {"Name": STR, "CheckDuplicate": BOOL, "Driver": STR, "Scope": STR,
                  "Internal": BOOL, "Attachable": BOOL, "Ingress": BOOL, "ConfigOnly": BOOL,
                  "EnableIPv6": BOOL, "Options": STR_MAP, "Labels": STR_MAP,
                  "IPAM": {"Driver": STR, "Options": STR_MAP,
                           "Config": [{"Subnet": STR, "IPRange": STR, "Gateway": STR,
                                       "AuxiliaryAddresses": STR_MAP}]}}
NETWORK_CONNECT = {"Container": STR, "EndpointConfig": ENDPOINT}
NETWORK_DISCONNECT = {"Container": STR, "Force": BOOL}
VOLUME_CREATE = {"Name": STR, "Driver": STR, "DriverOpts": STR_MAP, "Labels": STR_MAP}
AUTH_CONFIG = {"username": STR, "password": STR, "auth": STR, "email": STR,
               "serveraddress": STR, "identitytoken": STR, "registrytoken": STR}
