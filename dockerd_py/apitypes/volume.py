"""The volume types (moby v25.0, api/types/volume), in Go's field order."""
from __future__ import annotations

from .model import ANY, INT, STRING, Field, Map, Struct

USAGE_DATA = Struct("UsageData", [Field("RefCount", INT), Field("Size", INT)])

# `volume inspect`, `volume ls` and system df (volume.Volume).
VOLUME = Struct("Volume", [
    Field("CreatedAt", STRING, omitempty=True),
    Field("Driver", STRING),
    Field("Labels", Map(STRING)),
    Field("Mountpoint", STRING),
    Field("Name", STRING),
    Field("Options", Map(STRING)),
    Field("Scope", STRING),
    Field("Status", Map(ANY), omitempty=True),
    Field("UsageData", USAGE_DATA, omitempty=True, pointer=True),
])

# POST /volumes/create (volume.CreateOptions).
VOLUME_CREATE = Struct("CreateOptions", [
    Field("Driver", STRING, omitempty=True),
    Field("DriverOpts", Map(STRING), omitempty=True),
    Field("Labels", Map(STRING), omitempty=True),
    Field("Name", STRING, omitempty=True),
])
