"""The network types a container carries (moby v25.0, api/types/network), in Go's
field order."""
from __future__ import annotations

from .model import INT, STRING, Field, Map, Slice, Struct

STRINGS = Slice(STRING)

ENDPOINT_IPAM_CONFIG = Struct("EndpointIPAMConfig", [
    Field("IPv4Address", STRING, omitempty=True),
    Field("IPv6Address", STRING, omitempty=True),
    Field("LinkLocalIPs", STRINGS, omitempty=True),
])

ENDPOINT_SETTINGS = Struct("EndpointSettings", [
    Field("IPAMConfig", ENDPOINT_IPAM_CONFIG, pointer=True),
    Field("Links", STRINGS),
    Field("Aliases", STRINGS),
    Field("MacAddress", STRING),
    Field("NetworkID", STRING),
    Field("EndpointID", STRING),
    Field("Gateway", STRING),
    Field("IPAddress", STRING),
    Field("IPPrefixLen", INT),
    Field("IPv6Gateway", STRING),
    Field("GlobalIPv6Address", STRING),
    Field("GlobalIPv6PrefixLen", INT),
    Field("DriverOpts", Map(STRING)),
    Field("DNSNames", STRINGS),
])

NETWORKING_CONFIG = Struct("NetworkingConfig", [
    Field("EndpointsConfig", Map(ENDPOINT_SETTINGS)),
])
