"""Bridges between async byte streams (HTTP bodies) and blocking workers (tar
extraction, layer regeneration) that run in threads."""
from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from typing import Any, BinaryIO, TypeVar

from . import workers

T = TypeVar("T")
_PIPE_SIZE = 1 << 20
F_SETPIPE_SZ = 1031


async def feed_blocking(source: AsyncIterator[bytes], consume: Callable[[BinaryIO], T],
                        abandon: Callable[[T], None] | None = None) -> T:
    """Run consume(file) on a thread of its own (it reads at the pace of whoever
    sends: a client, a registry) while the async source is written into the file
    through a pipe. If consume fails early, the source stops being read. If the
    source fails, consume sees the end of its input, and what it made anyway is
    handed to abandon (in a thread) before the error goes on."""
    loop = asyncio.get_running_loop()
    rfd, wfd = os.pipe2(os.O_CLOEXEC)
    try:
        fcntl.fcntl(wfd, F_SETPIPE_SZ, _PIPE_SIZE)
    except OSError:
        pass
    reader = os.fdopen(rfd, "rb", buffering=1 << 16)
    worker = asyncio.ensure_future(workers.run_fed(_consume_and_close, consume, reader))
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                        os.fdopen(wfd, "wb", buffering=0))
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    try:
        async for chunk in source:
            if worker.done():
                break
            writer.write(chunk)
            try:
                await writer.drain()
            except (BrokenPipeError, ConnectionResetError):
                break
    except BaseException:
        transport.abort()  # at once, buffer and all: the consumer sees the end now
        # the consumer ends on its own (it alone closes its end of the pipe); what it
        # made is abandoned then, even if this task is cancelled meanwhile
        await asyncio.shield(_settle_later(worker, abandon))
        raise
    transport.close()
    try:
        return await asyncio.shield(worker)
    except asyncio.CancelledError:  # the caller gave up: what was made is abandoned
        _settle_later(worker, abandon)
        raise


_settling: set[asyncio.Task] = set()


def _settle_later(worker: asyncio.Future, abandon: Callable[[Any], None] | None) -> asyncio.Task:
    """Wait for a consumer nobody awaits any more (never cancelling it: a cancelled
    consumer that never started would leave its pipe open) and abandon its work."""
    async def settle() -> None:
        try:
            made = await worker
        except BaseException:  # noqa: BLE001 - its error went to whoever still waited
            return
        if abandon is not None:
            await asyncio.to_thread(abandon, made)
    task = asyncio.ensure_future(settle())
    _settling.add(task)
    task.add_done_callback(_settling.discard)
    return task


def _consume_and_close(consume: Callable[[BinaryIO], T], reader: BinaryIO) -> T:
    try:
        return consume(reader)
    finally:
        reader.close()


_END = object()


def iterate_blocking(make: Callable[[], Iterator[bytes | None]],
                     idle_wait: float = 0.05) -> AsyncGenerator[bytes, None]:
    """iterate_steps over byte chunks: an idle step yields b"" (see there)."""
    return iterate_steps(make, b"", idle_wait)


async def iterate_steps(make: Callable[[], Iterator[T | None]], idle: T,
                        idle_wait: float = 0.05) -> AsyncGenerator[T, None]:
    """Yield the items of a blocking generator, advanced one step at a time in
    the STREAMS pool (one step read ahead). No thread is held between steps, so
    a consumer that stops reading holds none. A None from the generator means
    "nothing new yet" (a follower caught up): the wait happens here, on the
    event loop, and `idle` is yielded so that the consumer can look whether its
    client is still there. Closing this closes the generator."""
    pool = workers.STREAMS
    gen = await pool.run(make)
    pending: asyncio.Future | None = None
    try:
        pending = pool.submit(next, gen, _END)
        while True:
            chunk = await pending
            pending = None
            if chunk is _END:
                return
            if chunk is None:
                yield idle
                await asyncio.sleep(idle_wait)
                pending = pool.submit(next, gen, _END)
                continue
            pending = pool.submit(next, gen, _END)
            yield chunk  # not _END, not None: a T
    finally:
        if pending is not None:  # a step is under way: it ends on its own, then close
            try:
                await asyncio.shield(pending)
            except BaseException:  # noqa: BLE001 - the consumer is gone; nothing to hand on
                pass
        close = getattr(gen, "close", None)
        if close is not None:
            await pool.run(close)


class IteratorReader:
    """A file-like reader over an iterator of byte chunks (for blocking consumers)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buf += chunk
        if n < 0:
            data, self._buf = self._buf, b""
        else:
            data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def peek(self, n: int = 1) -> bytes:
        while len(self._buf) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buf += chunk
        return self._buf

    def readable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return False
