"""Field types of request bodies, for dockerd's `invalid JSON: json: cannot
unmarshal ...` answers. Unknown fields are not listed and pass (Go ignores them).
The container and endpoint types come from their declarations (apitypes)."""
from __future__ import annotations

from ..apitypes import container, network, volume
from .http import STR

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

NETWORK_CREATE = network.NETWORK_CREATE.schema()
NETWORK_CONNECT = network.NETWORK_CONNECT.schema()
NETWORK_DISCONNECT = network.NETWORK_DISCONNECT.schema()
VOLUME_CREATE = volume.VOLUME_CREATE.schema()
AUTH_CONFIG = {"username": STR, "password": STR, "auth": STR, "email": STR,
               "serveraddress": STR, "identitytoken": STR, "registrytoken": STR}
