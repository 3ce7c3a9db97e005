"""Containers' logs: what conmon is told to write (the log driver's target), the
rotation of size-limited logs, and reading them back for `docker logs`."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator, Callable, Iterator

from ...errors import InvalidParameter
from ...logging import rotation
from ...logging.drivers.base import LogDriver
from ...logging.k8sfile import STDERR, STDOUT, Message
from ...logging.registry import LogDrivers
from ...logging.rotation import Policy
from ..streams import iterate_blocking
from .record import Container

ROTATE_EVERY = 0.05  # seconds between looks at logs with a max-size
LOG_BATCH = 256 * 1024  # bytes of encoded log messages sent together


class ContainerLogs:
    def __init__(self, drivers: LogDrivers) -> None:
        self.drivers = drivers
        self._rotating: dict[str, tuple[str, Policy]] = {}
        self._rotator: asyncio.Task | None = None

    def driver_of(self, ctr: Container) -> tuple[LogDriver, Policy]:
        return self.drivers.of(ctr.host_config.get("LogConfig"))

    def conmon_target(self, ctr: Container) -> tuple[str, Policy]:
        """conmon's --log-path for the container, and its rotation policy."""
        driver, policy = self.driver_of(ctr)
        return driver.conmon_target(ctr.doc["LogPath"]), policy

    # -- rotation: one task for all containers whose logs have a max-size --------
    def start_rotator(self) -> None:
        async def run() -> None:
            while True:
                await asyncio.sleep(ROTATE_EVERY)
                if self._rotating:
                    items = list(self._rotating.values())
                    await asyncio.to_thread(lambda: [rotation.check(*i) for i in items])
        self._rotator = asyncio.ensure_future(run())

    def before_start(self, ctr: Container) -> None:
        """A restarting container starts a fresh file (blocking)."""
        _, policy = self.driver_of(ctr)
        rotation.before_start(ctr.doc["LogPath"], policy)

    async def watch(self, ctr: Container, started: bool) -> None:
        """Rotate the container's log from now on, if it has a max-size; started
        says conmon just created the file (which then gets its second name)."""
        _, policy = self.driver_of(ctr)
        if not policy.max_size:
            return
        if started:
            await asyncio.to_thread(rotation.hold, ctr.doc["LogPath"])
        self._rotating[ctr.id] = (ctr.doc["LogPath"], policy)

    async def unwatch(self, ctr: Container) -> None:
        entry = self._rotating.pop(ctr.id, None)
        if entry is not None:  # a last look: conmon may have replaced the file at the end
            await asyncio.to_thread(rotation.check, *entry)

    def close(self) -> None:
        if self._rotator is not None:
            self._rotator.cancel()

    # -- reading ------------------------------------------------------------------
    def read(self, ctr: Container, stdout: bool, stderr: bool, follow: bool, since: float,
             until: float | None, tail: int | None,
             encode: Callable[[Message], bytes]) -> AsyncIterator[bytes]:
        """The container's log, each message encoded for the wire, in batches (one
        hop between threads per message would cap the rate at a few MB/s)."""
        if not (stdout or stderr):
            raise InvalidParameter("Bad parameters: you must choose at least one stream")
        driver, _ = self.driver_of(ctr)
        if not driver.readable:
            raise InvalidParameter("configured logging driver does not support reading")
        wanted = {STDOUT} if stdout else set()
        if stderr:
            wanted.add(STDERR)
        stop = ctr.stopped_event if follow and ctr.running else None
        path = ctr.doc["LogPath"]

        def generate() -> Iterator[bytes]:
            batch: list[bytes] = []
            size = 0
            for msg in driver.read(path, int(since * 1e9), int(until * 1e9) if until else None,
                                   tail, stop):
                if msg is not None and msg.stream in wanted:
                    data = encode(msg)
                    batch.append(data)
                    size += len(data)
                if batch and (msg is None or size >= LOG_BATCH):
                    yield b"".join(batch)
                    batch, size = [], 0
            if batch:
                yield b"".join(batch)
        return iterate_blocking(generate, depth=16)
