"""What the container services share: the daemon's configuration, stores and
driver registries, handed to each service at construction (no service reaches
into another's fields)."""
from __future__ import annotations

from dataclasses import dataclass

from ...config import DaemonConfig
from ...logdrivers.registry import LogDrivers
from ...runtime.registry import Runtimes
from ...storage.layers import LayerStore
from ...userns import IDENTITY, IdMap
from ..events import Events
from ..images.catalog import ImageCatalog
from ..networking.endpoints import Endpoints
from ..volumes import VolumeService
from .repository import ContainerPaths, ContainerRepository


@dataclass(frozen=True)
class ContainerDeps:
    cfg: DaemonConfig
    repo: ContainerRepository
    paths: ContainerPaths
    layers: LayerStore
    images: ImageCatalog
    networks: Endpoints   # containers on networks: endpoints, ports, names
    events: Events
    runtimes: Runtimes
    log_drivers: LogDrivers
    conmon: str   # the conmon binary
    volumes: VolumeService
    idmap: IdMap = IDENTITY   # --userns-remap: how container IDs are stored
