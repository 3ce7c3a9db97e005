"""Network drivers by name: a new driver is a module plus one line here."""
from __future__ import annotations

from ...errors import NotFound
from .base import DriverContext, NetworkDriver
from .bridge import BridgeDriver
from .host import HostDriver
from .macvlan import MacvlanDriver
from .null import NullDriver

NETWORK_DRIVERS: dict[str, type[NetworkDriver]] = {
    "bridge": BridgeDriver,
    "host": HostDriver,
    "macvlan": MacvlanDriver,
    "null": NullDriver,
}


def new_drivers(ctx: DriverContext) -> dict[str, NetworkDriver]:
    return {name: cls(ctx) for name, cls in NETWORK_DRIVERS.items()}


def driver_not_found(name: str) -> NotFound:
    """dockerd's text for a driver it has no plugin for."""
    return NotFound(f'plugin "{name}" not found')


__all__ = ["DriverContext", "NetworkDriver", "NETWORK_DRIVERS", "new_drivers",
           "driver_not_found"]
