"""Volume drivers by name: a new driver is a module plus one line here."""
from __future__ import annotations

from .base import VolumeDriver, VolumeDriverError
from .local import LocalDriver

VOLUME_DRIVERS: dict[str, type[VolumeDriver]] = {
    "local": LocalDriver,
}

__all__ = ["VOLUME_DRIVERS", "VolumeDriver", "VolumeDriverError"]
