"""The volume driver interface: where a volume's data lives, and mounting it for
the containers that use it (counted: mounted at the first, unmounted at the last).
All methods block; callers run them off the event loop."""
from __future__ import annotations

from abc import ABC, abstractmethod


class VolumeDriverError(Exception):
    """A driver refused or failed; the message is shown to the user."""


class VolumeDriver(ABC):
    name: str = ""

    def __init__(self, root: str, owner: tuple[int, int] | None = None) -> None:
        self.root = root  # <data-root>/volumes
        self.owner = owner  # who owns new data: a remapped container root (host IDs)

    @abstractmethod
    def create(self, name: str, options: dict[str, str]) -> None:
        """Make the volume's storage; refuse options the driver does not know."""

    @abstractmethod
    def remove(self, name: str) -> None: ...

    @abstractmethod
    def path(self, name: str) -> str:
        """The Mountpoint of inspect: what containers get bound."""

    @abstractmethod
    def mount(self, name: str, options: dict[str, str], user: str) -> str:
        """Make the volume ready for user (a container ID); returns its path."""

    @abstractmethod
    def unmount(self, name: str, options: dict[str, str], user: str) -> None: ...

    def adopt(self, name: str, user: str) -> None:
        """Count a user whose mount survived a daemon restart."""

    def size(self, name: str) -> int:
        return -1

    def exists(self, name: str) -> bool:
        return True
