"""The network types a container carries (moby v25.0, api/types/network), in Go's
field order."""
from __future__ import annotations

from .model import ANY, BOOL, INT, STRING, Field, Map, Slice, Struct

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

IPAM_CONFIG = Struct("IPAMConfig", [
    Field("Subnet", STRING, omitempty=True),
    Field("IPRange", STRING, omitempty=True),
    Field("Gateway", STRING, omitempty=True),
    Field("AuxiliaryAddresses", Map(STRING), omitempty=True),
])
IPAM = Struct("IPAM", [
    Field("Driver", STRING),
    Field("Options", Map(STRING)),
    Field("Config", Slice(IPAM_CONFIG)),
])
CONFIG_REFERENCE = Struct("ConfigReference", [Field("Network", STRING)])

# `network inspect` and `network ls` (types.NetworkResource); Containers is filled
# in per request (endpoints.inspect_doc).
NETWORK_RESOURCE = Struct("NetworkResource", [
    Field("Name", STRING),
    Field("Id", STRING),
    Field("Created", STRING),
    Field("Scope", STRING),
    Field("Driver", STRING),
    Field("EnableIPv6", BOOL),
    Field("IPAM", IPAM),
    Field("Internal", BOOL),
    Field("Attachable", BOOL),
    Field("Ingress", BOOL),
    Field("ConfigFrom", CONFIG_REFERENCE),
    Field("ConfigOnly", BOOL),
    Field("Containers", Map(ANY)),
    Field("Options", Map(STRING)),
    Field("Labels", Map(STRING)),
    Field("Peers", Slice(ANY), omitempty=True),
    Field("Services", Map(ANY), omitempty=True),
])

# POST /networks/create (types.NetworkCreateRequest: NetworkCreate embedded, then Name).
NETWORK_CREATE = Struct("NetworkCreateRequest", [
    Field("CheckDuplicate", BOOL, omitempty=True),
    Field("Driver", STRING),
    Field("Scope", STRING),
    Field("EnableIPv6", BOOL),
    Field("IPAM", IPAM, pointer=True),
    Field("Internal", BOOL),
    Field("Attachable", BOOL),
    Field("Ingress", BOOL),
    Field("ConfigOnly", BOOL),
    Field("ConfigFrom", CONFIG_REFERENCE, pointer=True),
    Field("Options", Map(STRING)),
    Field("Labels", Map(STRING)),
    Field("Name", STRING),
])
NETWORK_CONNECT = Struct("NetworkConnect", [
    Field("Container", STRING), Field("EndpointConfig", ENDPOINT_SETTINGS, pointer=True)])
NETWORK_DISCONNECT = Struct("NetworkDisconnect", [
    Field("Container", STRING), Field("Force", BOOL)])
