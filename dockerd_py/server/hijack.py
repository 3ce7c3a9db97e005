"""Hijacked connections for attach and exec: after the status line the socket
carries raw bytes both ways.

The transport is taken from aiohttp (its protocol no longer sees the bytes),
so stdin arrives unparsed whether or not the client asked for `Upgrade: tcp`,
and a client's half-close (stdin EOF) leaves the output side open.
"""
from __future__ import annotations

import asyncio
import select
import time
import weakref
from typing import Any

from aiohttp import web

# The Docker SDK for Python reads the stream from the raw socket, past the buffer in
# which its HTTP parser may already hold the first bytes after the headers (docker-py
# #425, #3332): bytes sent right behind the headers would be lost. The first bytes
# of the stream therefore leave no sooner than this after the headers.
HEADER_GAP = 0.02
PEER_CHECK_EVERY = 0.2  # seconds between looks at a half-closed client


class _Collector:
    """Takes the bytes aiohttp had already read past the request headers."""

    def __init__(self) -> None:
        self.data = bytearray()

    def feed_data(self, data: bytes, *args: Any) -> tuple[bool, bytes]:
        self.data += data
        return False, b""

    def feed_eof(self) -> None:
        pass


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: Hijacked) -> None:
        self.owner = owner

    def data_received(self, data: bytes) -> None:
        self.owner._buffer += data
        self.owner._wake()

    def eof_received(self) -> bool:
        self.owner._eof = True
        self.owner._wake()
        return True  # keep our side open: output may still follow

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._lost(exc)

    def pause_writing(self) -> None:
        self.owner._paused = True

    def resume_writing(self) -> None:
        self.owner._paused = False
        self.owner._wake()


_LIVE: weakref.WeakSet[Hijacked] = weakref.WeakSet()


def close_all() -> int:
    """End every hijacked stream (attach, exec): a stopping daemon does not wait
    for its clients. Returns how many there were."""
    live = list(_LIVE)
    for stream in live:
        stream.close()
    return len(live)


class Hijacked:
    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.transport = request.transport
        self._aiohttp = request.protocol
        self._buffer = bytearray()
        self._eof = False
        self.closed = False
        self._paused = False
        self._event = asyncio.Event()
        self._headers_sent = 0.0
        self._body_started = False
        conn = request.headers.get("Connection", "").lower()
        self.upgrade = "upgrade" in conn and request.headers.get("Upgrade", "").lower() == "tcp"

    @classmethod
    async def start(cls, request: web.Request, content_type: str | None,
                    headers: dict[str, str] | None = None,
                    protocol: str | None = None) -> Hijacked:
        """Take the connection; answer 101 for `Upgrade: tcp` (or for protocol,
        when given), else 200, then raw bytes both ways."""
        self = cls(request)
        collector = _Collector()
        try:
            self._aiohttp.set_parser(collector)  # type: ignore[arg-type]  # any feed_data object
        except AssertionError:
            pass
        self._buffer += collector.data
        assert self.transport is not None
        self.transport.set_protocol(_Protocol(self))
        if protocol is not None:
            head = f"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: {protocol}\r\n"
        elif self.upgrade:
            head = (f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {content_type}\r\n"
                    "Connection: Upgrade\r\nUpgrade: tcp\r\n")
        else:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
        for key, value in (headers or {}).items():
            head += f"{key}: {value}\r\n"
        self.transport.write((head + "\r\n").encode())
        self._headers_sent = time.monotonic()
        _LIVE.add(self)
        return self

    def _wake(self) -> None:
        self._event.set()

    def _lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._eof = True
        self._wake()
        # aiohttp no longer gets transport callbacks: tell it the connection is gone,
        # so that it finishes the request without writing to it.
        self._aiohttp.connection_lost(exc)

    async def read(self) -> bytes:
        """Client bytes (stdin); b"" once the client closed its sending side."""
        while not self._buffer and not self._eof:
            self._event.clear()
            await self._event.wait()
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    async def wait_closed(self) -> None:
        """Until the client is gone. Its end of file alone does not say so (a
        half-close: stdin ended, output still wanted); a Unix socket whose peer
        closed entirely polls as hung up, so look for that now and then, or a
        killed client of a silent container would be waited for until it writes."""
        while not self.closed:
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), PEER_CHECK_EVERY)
            except TimeoutError:
                if self._peer_hung_up():
                    self.close()

    def _peer_hung_up(self) -> bool:
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is None or sock.fileno() < 0:
            return True
        poller = select.poll()
        poller.register(sock.fileno(), 0)  # POLLHUP is reported whatever is asked
        return any(ev & (select.POLLHUP | select.POLLERR) for _, ev in poller.poll(0))

    async def write(self, data: bytes) -> None:
        if self.closed or self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("client went away")
        if not self._body_started:
            self._body_started = True
            wait = self._headers_sent + HEADER_GAP - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.closed or self.transport.is_closing():
                raise ConnectionResetError("client went away")
        self.transport.write(data)
        while self._paused and not self.closed:
            self._event.clear()
            await self._event.wait()

    def close(self) -> None:
        _LIVE.discard(self)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        if not self.closed:
            self.closed = True
            self._eof = True
            self._wake()
            self._aiohttp.connection_lost(None)

    def response(self) -> web.StreamResponse:
        """What the handler returns: aiohttp finds the transport gone and writes nothing."""
        return web.StreamResponse()


class WebSocketStream:
    """A websocket (`/containers/{id}/attach/ws`) behind the interface of Hijacked:
    client messages are stdin, output goes out as binary messages."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._eof = False

    @property
    def closed(self) -> bool:
        return self._eof or self.ws.closed

    async def read(self) -> bytes:
        while not self.closed:
            msg = await self.ws.receive()
            if msg.type == web.WSMsgType.BINARY:
                return bytes(msg.data)
            if msg.type == web.WSMsgType.TEXT:
                return str(msg.data).encode()
            if msg.type in (web.WSMsgType.CLOSE, web.WSMsgType.CLOSING, web.WSMsgType.CLOSED,
                            web.WSMsgType.ERROR):
                self._eof = True
        return b""

    async def wait_closed(self) -> None:
        while await self.read():
            pass

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("client went away")
        await self.ws.send_bytes(data)
