"""The embedded DNS server (127.0.0.11 in each container on a user-defined
network): names the daemon knows are answered from a lookup function; the rest
is forwarded to the upstream resolvers from the daemon's own namespace, over
UDP or TCP as the client asked. Messages are parsed and built with dnslib."""
from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
from collections.abc import Callable

from dnslib import AAAA, PTR, QTYPE, RCODE, RR, A, DNSRecord

log = logging.getLogger(__name__)
TTL = 600
FORWARD_TIMEOUT = 2.0

# name -> addresses of both families (None: not ours, forward it);
# reverse name -> host names
Lookup = Callable[[str], list[str] | None]
ReverseLookup = Callable[[str], list[str] | None]


class Resolver:
    """Answers for one container: its lookups, its upstreams, whether it may
    forward at all (an internal network's containers may not: CVE-2024-29018)."""

    def __init__(self, lookup: Lookup, reverse: ReverseLookup, upstreams: list[str],
                 may_forward: bool) -> None:
        self.lookup = lookup
        self.reverse = reverse
        self.upstreams = upstreams
        self.may_forward = may_forward

    async def answer(self, data: bytes, over_tcp: bool) -> bytes | None:
        try:
            request = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - garbage from a container is dropped
            return None
        reply = request.reply()
        if not request.questions:
            reply.header.rcode = RCODE.FORMERR
            return reply.pack()
        question = request.questions[0]
        name = str(question.qname).rstrip(".").lower()
        qtype = question.qtype
        if qtype == QTYPE.PTR:
            hosts = self.reverse(name)
            if hosts is not None:
                for host in hosts:
                    reply.add_answer(RR(question.qname, QTYPE.PTR, rdata=PTR(host + "."),
                                        ttl=TTL))
                return reply.pack()
        else:
            addresses = self.lookup(name)
            if addresses is not None:
                shuffled = list(addresses)
                random.shuffle(shuffled)  # round robin among a shared alias's members
                for address in shuffled:
                    v6 = ":" in address
                    if qtype == QTYPE.ANY or qtype == (QTYPE.AAAA if v6 else QTYPE.A):
                        reply.add_answer(RR(question.qname, QTYPE.AAAA if v6 else QTYPE.A,
                                            rdata=AAAA(address) if v6 else A(address),
                                            ttl=TTL))
                return reply.pack()  # other types: the name exists, no such record
        if not self.may_forward or not self.upstreams:
            reply.header.rcode = RCODE.REFUSED if not self.may_forward else RCODE.SERVFAIL
            return reply.pack()
        forwarded = await forward(data, self.upstreams, over_tcp)
        if forwarded is None:
            reply.header.rcode = RCODE.SERVFAIL
            return reply.pack()
        return forwarded


async def forward(data: bytes, upstreams: list[str], over_tcp: bool) -> bytes | None:
    for server in upstreams:
        host, _, port = server.partition("#")
        try:
            if over_tcp:
                return await asyncio.wait_for(_tcp_query(host, int(port or 53), data),
                                              FORWARD_TIMEOUT)
            return await asyncio.wait_for(_udp_query(host, int(port or 53), data),
                                          FORWARD_TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            continue
    return None


async def _udp_query(host: str, port: int, data: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (host, port))
        await loop.sock_sendall(sock, data)
        return await loop.sock_recv(sock, 65535)
    finally:
        sock.close()


async def _tcp_query(host: str, port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(struct.pack(">H", len(data)) + data)
        await writer.drain()
        size = struct.unpack(">H", await reader.readexactly(2))[0]
        return await reader.readexactly(size)
    finally:
        writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        asyncio.ensure_future(self._reply(data, addr))

    async def _reply(self, data: bytes, addr: tuple) -> None:
        answer = await self.resolver.answer(data, over_tcp=False)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


class ContainerDns:
    """The server of one container, on sockets made in its namespace."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.udp: asyncio.DatagramTransport | None = None
        self.tcp: asyncio.AbstractServer | None = None

    async def start(self, udp: socket.socket, tcp: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self.udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self.resolver), sock=udp)
        self.tcp = await asyncio.start_server(self._tcp_client, sock=tcp)

    async def _tcp_client(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = struct.unpack(">H", await reader.readexactly(2))[0]
                answer = await self.resolver.answer(await reader.readexactly(size), True)
                if answer is None:
                    break
                writer.write(struct.pack(">H", len(answer)) + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        if self.udp is not None:
            self.udp.close()
        if self.tcp is not None:
            self.tcp.close()
