"""Bridges between async byte streams (HTTP bodies) and blocking workers (tar
extraction, layer regeneration) that run in threads."""
from __future__ import annotations

import asyncio
import fcntl
import os
from typing import AsyncIterator, BinaryIO, Callable, Iterator, TypeVar

T = TypeVar("T")
_PIPE_SIZE = 1 << 20
F_SETPIPE_SZ = 1031


async def feed_blocking(source: AsyncIterator[bytes], consume: Callable[[BinaryIO], T],
                        abandon: Callable[[T], None] | None = None) -> T:
    """Run consume(file) in a thread while the async source is written into the
    file through a pipe. If consume fails early, the source stops being read.
    If the source fails, consume sees the end of its input, and what it made
    anyway is handed to abandon (in a thread) before the error goes on."""
    loop = asyncio.get_running_loop()
    rfd, wfd = os.pipe2(os.O_CLOEXEC)
    try:
        fcntl.fcntl(wfd, F_SETPIPE_SZ, _PIPE_SIZE)
    except OSError:
        pass
    reader = os.fdopen(rfd, "rb", buffering=1 << 16)
    worker = loop.run_in_executor(None, _consume_and_close, consume, reader)
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
        transport.close()
        try:
            made = await worker
        except BaseException:
            pass
        else:
            if abandon is not None:
                await asyncio.to_thread(abandon, made)
        raise
    transport.close()
    return await worker


def _consume_and_close(consume: Callable[[BinaryIO], T], reader: BinaryIO) -> T:
    try:
        return consume(reader)
    finally:
        reader.close()


async def iterate_blocking(make: Callable[[], Iterator[bytes]],
                           depth: int = 8) -> AsyncIterator[bytes]:
    """Yield the chunks of a blocking generator that runs in a thread. When the
    consumer stops early, the generator is closed at its next chunk."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[bytes | None, BaseException | None]] = asyncio.Queue(depth)
    stop = False

    def produce() -> None:
        try:
            gen = make()
            try:
                for chunk in gen:
                    if stop:
                        break
                    asyncio.run_coroutine_threadsafe(queue.put((chunk, None)), loop).result()
            finally:
                close = getattr(gen, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the consumer
            asyncio.run_coroutine_threadsafe(queue.put((None, exc)), loop).result()
            return
        asyncio.run_coroutine_threadsafe(queue.put((None, None)), loop).result()

    task = loop.run_in_executor(None, produce)
    try:
        while True:
            chunk, exc = await queue.get()
            if exc is not None:
                raise exc
            if chunk is None:
                break
            yield chunk
    finally:
        stop = True
        while not task.done():  # unblock a producer waiting on a full queue
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                await asyncio.sleep(0.01)
        await task


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
