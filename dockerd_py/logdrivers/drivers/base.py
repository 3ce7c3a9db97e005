"""The log driver interface: what conmon is told to write, the options a
driver takes, the daemon's part while a container runs (a watch: rotation,
conversion), and how `docker logs` reads it back."""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Protocol

from ...errors import InvalidParameter
from ..format import Message
from ..rotation import Policy


class LogWatch(Protocol):
    """The daemon's work on one running container's log; both calls block."""

    def tick(self) -> None:
        """Called every few tens of milliseconds while the container runs."""

    def finish(self) -> None:
        """The container stopped: its output is complete; settle everything."""


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

    def conmon_size_max(self, policy: Policy) -> int:
        """conmon's `--log-size-max` (0: none; conmon then never replaces the file)."""
        return 0

    def before_start(self, log_path: str, policy: Policy) -> None:
        """Get the files ready for a (re)start; blocking."""

    def watch(self, log_path: str, bundle: str, policy: Policy,
              fresh: bool) -> LogWatch | None:
        """What the daemon does while the container runs (None: nothing); fresh
        says conmon just started writing, else the daemon adopts a running one."""
        return None

    def read(self, log_path: str, since_ns: int, until_ns: int | None, tail: int | None,
             follow: threading.Event | None) -> Iterator[Message | None]:
        """The messages (a None: caught up, waiting), oldest first; blocking."""
        raise InvalidParameter("configured logging driver does not support reading")

    def read_chunks(self, log_path: str,
                    follow: threading.Event | None) -> Iterator[bytes | None] | None:
        """The whole log as chunks of whole lines for encode_chunk (a None in
        them: caught up, waiting); None when the driver has no such fast path."""
        return None

    def encode_chunk(self, chunk: bytes, stdout: bool, stderr: bool, framed: bool) -> bytes:
        """A chunk from read_chunks as `docker logs` sends it."""
        raise NotImplementedError

    def remove(self, log_path: str) -> None:
        """Delete what the driver wrote for a removed container."""
