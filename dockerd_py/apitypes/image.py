"""The image types (moby v25.0: types.ImageInspect, image.Summary), in Go's field
order. Fields older or newer API versions drop are dropped by the views."""
from __future__ import annotations

from .container import CONFIG, GRAPH_DRIVER_DATA
from .model import INT, STRING, Field, Map, Slice, Struct

STRINGS = Slice(STRING)

ROOT_FS = Struct("RootFS", [
    Field("Type", STRING, omitempty=True), Field("Layers", STRINGS, omitempty=True)])
METADATA = Struct("Metadata", [Field("LastTagTime", STRING)])

IMAGE_INSPECT = Struct("ImageInspect", [
    Field("Id", STRING),
    Field("RepoTags", STRINGS),
    Field("RepoDigests", STRINGS),
    Field("Parent", STRING),
    Field("Comment", STRING),
    Field("Created", STRING),
    Field("Container", STRING),
    Field("ContainerConfig", CONFIG, pointer=True),
    Field("DockerVersion", STRING),
    Field("Author", STRING),
    Field("Config", CONFIG, pointer=True),
    Field("Architecture", STRING),
    Field("Variant", STRING, omitempty=True),
    Field("Os", STRING),
    Field("OsVersion", STRING, omitempty=True),
    Field("Size", INT),
    Field("VirtualSize", INT, omitempty=True),
    Field("GraphDriver", GRAPH_DRIVER_DATA),
    Field("RootFS", ROOT_FS),
    Field("Metadata", METADATA),
])

IMAGE_SUMMARY = Struct("Summary", [
    Field("Containers", INT),
    Field("Created", INT),
    Field("Id", STRING),
    Field("Labels", Map(STRING)),
    Field("ParentId", STRING),
    Field("RepoDigests", STRINGS),
    Field("RepoTags", STRINGS),
    Field("SharedSize", INT),
    Field("Size", INT),
    Field("VirtualSize", INT, omitempty=True),
])
