"""The userland proxy: published ports answered on the host's own addresses
(127.0.0.1 above all, which DNAT cannot reach) by relaying to the container.
It also holds the host port, so a port another program uses is refused at
start. TCP streams are copied both ways; UDP datagrams are relayed per client."""
from __future__ import annotations

import asyncio
import logging
import socket

log = logging.getLogger(__name__)
UDP_IDLE = 90.0  # seconds a UDP client's relay is kept without traffic


class ProxyError(Exception):
    """The host port could not be had; the text says why, as docker-proxy does."""


def join_host_port(host: str, port: int) -> str:
    """host:port, an IPv6 host in brackets (Go's net.JoinHostPort, as Docker prints)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def host_socket(kind: int, address: str) -> socket.socket:
    """A socket of the address's family; an IPv6 one never takes IPv4 too (the
    IPv4 binding of the same port is a socket of its own)."""
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, kind)
    if ":" in address:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return sock


def _bound(kind: int, listen: tuple[str, int]) -> socket.socket:
    """A socket on the host port, or docker-proxy's words for why not."""
    sock = host_socket(kind, listen[0])
    if kind == socket.SOCK_STREAM:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(listen)
    except OSError as exc:
        sock.close()
        proto = ("tcp" if kind == socket.SOCK_STREAM else "udp") + \
            ("6" if ":" in listen[0] else "4")
        raise ProxyError(f"Error starting userland proxy: listen {proto} "
                         f"{join_host_port(*listen)}: bind: "
                         f"{(exc.strerror or str(exc)).lower()}") from None
    return sock


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


class TcpProxy:
    def __init__(self, host_ip: str, host_port: int, target_ip: str, target_port: int) -> None:
        self.listen = (host_ip or "0.0.0.0", host_port)
        self.target = (target_ip, target_port)
        self.server: asyncio.AbstractServer | None = None
        self.tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        sock = _bound(socket.SOCK_STREAM, self.listen)
        self.server = await asyncio.start_server(self._serve, sock=sock, backlog=128)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                w.close()
            if task is not None:
                self.tasks.discard(task)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for task in list(self.tasks):
            task.cancel()


class _UdpClient(asyncio.DatagramProtocol):
    def __init__(self, proxy: UdpProxy, client: tuple) -> None:
        self.proxy, self.client = proxy, client
        self.transport: asyncio.DatagramTransport | None = None
        self.last = asyncio.get_running_loop().time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.last = asyncio.get_running_loop().time()
        if self.proxy.transport is not None:
            self.proxy.transport.sendto(data, self.client)


class UdpProxy(asyncio.DatagramProtocol):
    def __init__(self, host_ip: str, host_port: int, target_ip: str, target_port: int) -> None:
        self.listen = (host_ip or "0.0.0.0", host_port)
        self.target = (target_ip, target_port)
        self.transport: asyncio.DatagramTransport | None = None
        self.clients: dict[tuple, _UdpClient] = {}
        self.reaper: asyncio.Task | None = None

    async def start(self) -> None:
        sock = _bound(socket.SOCK_DGRAM, self.listen)
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: self, sock=sock)
        self.reaper = asyncio.ensure_future(self._reap())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        client = self.clients.get(addr)
        if client is not None and client.transport is not None:
            client.transport.sendto(data)
            client.last = asyncio.get_running_loop().time()
            return
        asyncio.ensure_future(self._new_client(addr, data))

    async def _new_client(self, addr: tuple, first: bytes) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, client = await loop.create_datagram_endpoint(
                lambda: _UdpClient(self, addr), remote_addr=self.target)
        except OSError:
            return
        self.clients[addr] = client
        transport.sendto(first)

    async def _reap(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(UDP_IDLE / 3)
            for addr, client in list(self.clients.items()):
                if loop.time() - client.last > UDP_IDLE and client.transport is not None:
                    client.transport.close()
                    self.clients.pop(addr, None)

    async def stop(self) -> None:
        if self.reaper is not None:
            self.reaper.cancel()
        for client in self.clients.values():
            if client.transport is not None:
                client.transport.close()
        self.clients.clear()
        if self.transport is not None:
            self.transport.close()
            self.transport = None
