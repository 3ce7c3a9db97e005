"""The log driver interface: what conmon is told to write, the options a
driver takes, and how `docker logs` reads it back."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterator
import threading

from ...errors import InvalidParameter
from ..k8sfile import Message
from ..rotation import Policy


class LogDriver(ABC):
    name: str = ""
    options: frozenset[str] = frozenset()
    readable: bool = True   # `docker logs` works with it

    def policy(self, opts: dict[str, str]) -> Policy:
        """Check the options as dockerd does; the daemon's rotation policy."""
        for key in opts:
            if key not in self.options:
                raise InvalidParameter(f"unknown log opt '{key}' for {self.name} log driver")
        return Policy(0, 1)

    @abstractmethod
    def conmon_target(self, log_path: str) -> str:
        """conmon's `--log-path` value (`k8s-file:PATH`, `journald:`, `none`)."""

    def read(self, log_path: str, since_ns: int, until_ns: int | None, tail: int | None,
             follow: threading.Event | None) -> Iterator[Message | None]:
        """The messages (a None: caught up, waiting), oldest first; blocking."""
        raise InvalidParameter("configured logging driver does not support reading")

    def remove(self, log_path: str) -> None:
        """Delete what the driver wrote for a removed container."""
