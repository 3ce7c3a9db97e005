"""Graph drivers by name: a new driver is a module plus one line here."""
from __future__ import annotations

from ...userns import IDENTITY, IdMap
from .base import DriverError, GraphDriver
from .overlay2 import Overlay2Driver
from .vfs import VfsDriver

DRIVERS: dict[str, type[GraphDriver]] = {
    "overlay2": Overlay2Driver,
    "vfs": VfsDriver,
}


def new_driver(name: str, data_root: str, idmap: IdMap = IDENTITY) -> GraphDriver:
    try:
        cls = DRIVERS[name]
    except KeyError:
        raise DriverError(f"unknown storage driver {name!r}; known: "
                          + ", ".join(sorted(DRIVERS))) from None
    return cls(f"{data_root}/{name}", idmap)
