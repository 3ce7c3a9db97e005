"""The userland proxy relays TCP and UDP on loopback, and says why when the host
port is taken (no container needed: the target is a server of the test's own)."""
from __future__ import annotations

import asyncio
import socket

import pytest

from dockerd_py.network.proxy import ProxyError, TcpProxy, UdpProxy


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_tcp_relay_both_ways_and_half_close():
    async def upper(reader, writer):  # type: ignore[no-untyped-def]
        data = await reader.read()  # until the client's EOF
        writer.write(data.upper())
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(upper, "127.0.0.1", 0)
    target = server.sockets[0].getsockname()[1]
    proxy = TcpProxy("127.0.0.1", free_port(), "127.0.0.1", target)
    await proxy.start()
    try:
        reader, writer = await asyncio.open_connection(*proxy.listen)
        writer.write(b"hello through the proxy")
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 5) == b"HELLO THROUGH THE PROXY"
        writer.close()
        with pytest.raises(ProxyError, match="bind: address already in use"):
            await TcpProxy("127.0.0.1", proxy.listen[1], "127.0.0.1", target).start()
    finally:
        await proxy.stop()
        server.close()


async def test_udp_relay_per_client():
    loop = asyncio.get_running_loop()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport):  # type: ignore[no-untyped-def]
            self.transport = transport

        def datagram_received(self, data, addr):  # type: ignore[no-untyped-def]
            self.transport.sendto(b"echo:" + data, addr)
    transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    target = transport.get_extra_info("sockname")[1]
    proxy = UdpProxy("127.0.0.1", free_port(socket.SOCK_DGRAM), "127.0.0.1", target)
    await proxy.start()
    try:
        replies = []
        for word in (b"one", b"two"):
            client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            client.setblocking(False)
            client.sendto(word, proxy.listen)
            replies.append(await asyncio.wait_for(loop.sock_recv(client, 100), 5))
            client.close()
        assert replies == [b"echo:one", b"echo:two"]
        assert len(proxy.clients) == 2
    finally:
        await proxy.stop()
        transport.close()
