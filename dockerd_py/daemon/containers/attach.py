"""Attaching to a container's stdio through conmon's socket: connections made
before the start (so no output is lost), resizes, and the pump that copies
between a client's stream and the container until one side ends."""
from __future__ import annotations

import asyncio
from typing import Protocol

from shared import stdcopy

from ...errors import Conflict, DockerError
from ...runtime import attach
from ...runtime.attach import AttachSocket
from .. import detach
from .record import Container
from .repository import ContainerPaths


class ClientStream(Protocol):
    """A client's end, hijacked HTTP or a websocket."""
    @property
    def closed(self) -> bool: ...

    async def read(self) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    async def wait_closed(self) -> None: ...


class Attacher:
    def __init__(self, paths: ContainerPaths) -> None:
        self.paths = paths

    async def socket(self, ctr: Container) -> AttachSocket | None:
        """A connection to the container's stdio: now if it runs, else at its start.
        None if it stopped (or failed to start) without one."""
        if ctr.running:
            try:
                return await AttachSocket.connect(self.paths.bundle(ctr.id))
            except OSError:
                return None
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        ctr.attach_queue.append(future)
        return await future

    async def connect_waiting(self, ctr: Container) -> None:
        """Attach requests that arrived before start get their socket now, before
        the process runs."""
        queue, ctr.attach_queue = ctr.attach_queue, []
        for future in queue:
            if future.done():
                continue
            try:
                future.set_result(await AttachSocket.connect(self.paths.bundle(ctr.id)))
            except OSError as exc:
                future.set_exception(DockerError(f"attach failed: {exc}"))

    @staticmethod
    def fail_waiting(ctr: Container) -> None:
        queue, ctr.attach_queue = ctr.attach_queue, []
        for future in queue:
            if not future.done():
                future.set_result(None)

    def resize(self, ctr: Container, height: int, width: int) -> None:
        if not ctr.running:
            raise Conflict(f"Container {ctr.id} is not running")
        attach.resize(self.paths.bundle(ctr.id), height, width)


async def pump(conn: ClientStream, sock: AttachSocket, framed: bool, stdin: bool,
               stdout: bool, stderr: bool, detach_keys: str | None = None,
               close_stdin: bool = False) -> None:
    """Copy the container's output to the client (in stdcopy frames if framed)
    and the client's input to the container until the container's side closes,
    the client goes away, or the client types the detach keys. close_stdin (an
    exec's, as dockerd's CloseStdin): the process's stdin ends with the client,
    whether it half-closed or went away altogether."""
    scanner = detach.Scanner(detach.parse(detach_keys)) if stdin else None

    async def output() -> None:
        while True:
            item = await sock.recv()
            if item is None:
                return
            stream, data = item
            if (stream == 1 and not stdout) or (stream == 2 and not stderr):
                continue
            await conn.write(stdcopy.frame(stream, data) if framed else data)

    async def input_() -> None:
        # Always read, even without stdin: it is how a vanished client is noticed.
        while True:
            data = await conn.read()
            if not data:
                if stdin and (close_stdin or not conn.closed):
                    sock.shutdown_write()  # stdin EOF; output goes on while there is a client
                if conn.closed:
                    return
                await conn.wait_closed()
                return
            if scanner is not None:
                data = scanner.feed(data)
                if data:
                    await sock.send(data)
                if scanner.detached:
                    return

    out_task = asyncio.ensure_future(output())
    in_task = asyncio.ensure_future(input_())
    try:
        while True:
            waiting = [out_task] + ([in_task] if not in_task.done() else [])
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if out_task in done:
                out_task.result()
                break
            if conn.closed or (scanner is not None and scanner.detached):
                break
    finally:
        for task in (out_task, in_task):
            if not task.done():
                task.cancel()
        sock.close()
