"""Containers' logs: what conmon is told to write (the log driver's target), the
rotation of size-limited logs, and reading them back for `docker logs`."""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator

from shared import stdcopy
from shared.timeutil import rfc3339_nano_fixed

from ... import workers
from ...errors import InvalidParameter
from ...logdrivers.drivers.base import LogDriver, LogWatch
from ...logdrivers.format import STDERR, STDOUT, Message
from ...logdrivers.registry import LogDrivers
from ...logdrivers.rotation import Policy
from ...streams import iterate_blocking
from .record import Container
from .repository import ContainerPaths

log = logging.getLogger(__name__)
TICK_EVERY = 0.05  # seconds between the drivers' looks at running containers' logs
LOG_BATCH = 256 * 1024  # bytes of encoded log messages sent together


class ContainerLogs:
    def __init__(self, drivers: LogDrivers, paths: ContainerPaths) -> None:
        self.drivers = drivers
        self.paths = paths
        self._watches: dict[str, _Serialized] = {}
        self._ticker: asyncio.Task | None = None

    def driver_of(self, ctr: Container) -> tuple[LogDriver, Policy]:
        return self.drivers.of(ctr.host_config.get("LogConfig"))

    def conmon_target(self, ctr: Container) -> tuple[str, int]:
        """conmon's --log-path and --log-size-max for the container."""
        driver, policy = self.driver_of(ctr)
        return driver.conmon_target(ctr.doc["LogPath"]), driver.conmon_size_max(policy)

    # -- the drivers' work while containers run: one task ticks them all ----------------
    def start_ticker(self) -> None:
        async def run() -> None:
            while True:
                await asyncio.sleep(TICK_EVERY)
                if self._watches:
                    watches = list(self._watches.values())
                    await workers.HOUSEKEEPING.run(_tick_all, watches)
        self._ticker = asyncio.ensure_future(run())

    def before_start(self, ctr: Container) -> None:
        """Blocking: get the log files ready for a start."""
        driver, policy = self.driver_of(ctr)
        driver.before_start(ctr.doc["LogPath"], policy)

    async def watch(self, ctr: Container, fresh: bool) -> None:
        """The driver's work from now on; fresh: conmon just started writing."""
        watch = await workers.HOUSEKEEPING.run(self._new_watch, ctr, fresh)
        if watch is not None:
            self._watches[ctr.id] = watch

    def _new_watch(self, ctr: Container, fresh: bool) -> _Serialized | None:
        driver, policy = self.driver_of(ctr)
        watch = driver.watch(ctr.doc["LogPath"], self.paths.bundle(ctr.id), policy, fresh)
        return _Serialized(watch) if watch is not None else None

    async def finish(self, ctr: Container) -> None:
        """The container's output is complete: let its driver settle (convert the
        rest, rotate). Also for a container that exited while the daemon was down."""
        watch = self._watches.pop(ctr.id, None)
        try:
            if watch is None:
                watch = await workers.HOUSEKEEPING.run(self._new_watch, ctr, False)
            if watch is not None:
                await workers.HOUSEKEEPING.run(watch.finish)
        except Exception:  # noqa: BLE001 - an exit must be recorded whatever the log does
            log.exception("settling the log of %s failed", ctr.id)

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()

    def remove(self, ctr: Container) -> None:
        """Blocking: delete what the driver wrote."""
        driver, _ = self.driver_of(ctr)
        driver.remove(ctr.doc["LogPath"])

    # -- reading ------------------------------------------------------------------
    def read(self, ctr: Container, stdout: bool, stderr: bool, follow: bool, since: float,
             until: float | None, tail: int | None, raw: bool,
             timestamps: bool) -> AsyncIterator[bytes]:
        """The container's log as sent: raw (a TTY's) or in stdcopy frames, stamped
        if asked; in batches (a hop between threads per message would cap the
        rate at a few MB/s)."""
        if not (stdout or stderr):
            raise InvalidParameter("Bad parameters: you must choose at least one stream")
        driver, _ = self.driver_of(ctr)
        if not driver.readable:
            raise InvalidParameter("configured logging driver does not support reading")
        stop = ctr.stopped_event if follow and ctr.running else None
        path = ctr.doc["LogPath"]
        # what the container wrote up to now is in the log before reading starts
        # (json-file converts on a tick; `docker logs` right after a write sees it)
        watch = self._watches.get(ctr.id)
        settle = watch.tick if watch is not None else (lambda: None)
        plain = not since and until is None and tail is None and not timestamps
        chunks = driver.read_chunks(path, stop) if plain else None
        if chunks is not None:
            return iterate_blocking(lambda: _encoded_chunks(settle, driver, chunks, stdout,
                                                            stderr, not raw))
        wanted = {STDOUT} if stdout else set()
        if stderr:
            wanted.add(STDERR)
        encode = encoder(raw, timestamps)

        def generate() -> Iterator[bytes | None]:
            settle()
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
                elif msg is None:
                    yield None  # caught up: the consumer waits, holding no thread
            if batch:
                yield b"".join(batch)
        return iterate_blocking(generate)


def _encoded_chunks(settle: Callable[[], None], driver: LogDriver,
                    chunks: Iterator[bytes | None], stdout: bool, stderr: bool,
                    framed: bool) -> Iterator[bytes | None]:
    settle()
    for chunk in chunks:
        if chunk is None:
            yield None  # caught up: the consumer waits, holding no thread
        elif chunk:
            data = driver.encode_chunk(chunk, stdout, stderr, framed)
            if data:
                yield data


def encoder(raw: bool, timestamps: bool) -> Callable[[Message], bytes]:
    """A log message as sent: raw (a TTY's), else in stdcopy frames; stamped if asked."""
    def encode(msg: Message) -> bytes:
        data = msg.data
        if timestamps:
            data = rfc3339_nano_fixed(msg.ts_ns).encode() + b" " + data
        return data if raw else stdcopy.frame(msg.stream, data)
    return encode


class _Serialized:
    """A watch whose tick (on the ticker's thread) and finish (at the exit) never
    overlap, and that does nothing once finished."""

    def __init__(self, watch: LogWatch) -> None:
        self.watch = watch
        self.lock = threading.Lock()
        self.done = False

    def tick(self) -> None:
        with self.lock:
            if not self.done:
                self.watch.tick()

    def finish(self) -> None:
        with self.lock:
            if not self.done:
                self.done = True
                self.watch.finish()


def _tick_all(watches: list[_Serialized]) -> None:
    for watch in watches:
        try:
            watch.tick()
        except Exception:  # noqa: BLE001 - one container's trouble must not stop the others'
            log.exception("log driver work failed")
