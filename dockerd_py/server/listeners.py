"""Where the API listens: unix sockets (mode 0660, group docker), sockets
handed over by systemd (fd://, LISTEN_FDS), and TCP with TLS (tcp://, with
--tlsverify requiring client certificates signed by the CA)."""
from __future__ import annotations

import asyncio
import grp
import logging
import os
import socket
import ssl
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
SD_LISTEN_FDS_START = 3


class ListenerError(Exception):
    pass


def systemd_sockets() -> list[socket.socket]:
    """Sockets passed by socket activation, made close-on-exec so that no
    container or conmon inherits them."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return []
    try:
        count = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return []
    for var in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(var, None)
    sockets = []
    for fd in range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count):
        os.set_inheritable(fd, False)
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def unix_socket(path: str, group: str | None) -> socket.socket:
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old = os.umask(0o117)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    gid = 0
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            log.info("group %s does not exist: the socket is root's alone", group)
    os.chown(path, 0, gid)
    os.chmod(path, 0o660)
    sock.listen(socket.SOMAXCONN)
    sock.setblocking(False)
    return sock


def tcp_socket(host: str, tls: bool) -> socket.socket:
    """tcp://ADDR:PORT (2376 with TLS, else 2375, as dockerd)."""
    rest = host[len("tcp://"):].rstrip("/")
    addr, _, port = rest.rpartition(":") if ":" in rest.split("]")[-1] else (rest, "", "")
    addr = addr.strip("[]") or "0.0.0.0"
    try:
        number = int(port) if port else (2376 if tls else 2375)
        infos = socket.getaddrinfo(addr, number, type=socket.SOCK_STREAM)
    except (ValueError, OSError) as exc:
        raise ListenerError(f"invalid host {host}: {exc}") from None
    family, _, _, _, sockaddr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise ListenerError(f"failed to listen on {host}: {exc.strerror}") from None
    sock.listen(socket.SOMAXCONN)
    sock.setblocking(False)
    return sock


def server_tls(cert: str, key: str, ca: str | None) -> ssl.SSLContext:
    """TLS 1.2+ with our pair; with a CA, clients must present a certificate it signed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if ca:
        ctx.load_verify_locations(cafile=ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def open_listeners(hosts: list[str], group: str | None,
                   tls: ssl.SSLContext | None = None) -> list[socket.socket]:
    """The sockets to serve; TCP ones carry the TLS context as `dpy_tls`."""
    sockets: list[socket.socket] = []
    activated: list[socket.socket] | None = None
    for host in hosts:
        if host.startswith("fd://"):
            if activated is None:
                activated = systemd_sockets()
            wanted = host[len("fd://"):]
            if not activated:
                raise ListenerError("no sockets found via socket activation: make sure the "
                                    "service was started by systemd")
            if wanted:
                fd = int(wanted)
                match = [s for s in activated if s.fileno() == fd]
                if not match:
                    raise ListenerError(f"too few sockets to listen on fd://{wanted}")
                sockets.extend(match)
            else:
                sockets.extend(activated)
        elif host.startswith("unix://"):
            sockets.append(unix_socket(host[len("unix://"):], group))
        elif host.startswith("tcp://"):
            sock = tcp_socket(host, tls is not None)
            if tls is None:
                log.warning("API listening on %s WITHOUT TLS: anyone who can reach it is root "
                            "on this host", host)
            sockets.append(sock)
        else:
            raise ListenerError(f"unsupported host {host}")
    return sockets


# A connection that has not sent one whole request head within this time is
# closed (aiohttp has no header timeout of its own; dockerd's server has one).
HEADER_TIMEOUT = float(os.environ.get("DPY_HEADER_TIMEOUT", "60"))


class _HeaderDeadline(asyncio.Protocol):
    """Wraps aiohttp's per-connection handler: closes the connection when no
    request head arrived in time (a client that connects and says nothing, or
    half a header, holds nothing for long)."""

    def __init__(self, inner: Any, timeout: float) -> None:
        self.inner = inner
        self.timeout = timeout
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.inner.connection_made(transport)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.timeout, self._expire, transport)

    def _expire(self, transport: asyncio.BaseTransport) -> None:
        if getattr(self.inner, "_request_count", 1) == 0 and not transport.is_closing():
            transport.close()

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


async def serve_sockets(server: Callable[[], Any], sockets: list[socket.socket],
                        tls: ssl.SSLContext | None = None) -> list[Any]:
    """Listen on the sockets with aiohttp's handler behind the header deadline."""
    loop = asyncio.get_running_loop()
    servers = []
    for sock in sockets:
        def factory() -> asyncio.Protocol:
            return _HeaderDeadline(server(), HEADER_TIMEOUT)
        # asyncio listens again with its own backlog (100 by default): a burst of
        # clients would get EAGAIN; take the kernel's ceiling, as Go does
        if sock.family == socket.AF_UNIX:
            servers.append(await loop.create_unix_server(factory, sock=sock,
                                                         backlog=socket.SOMAXCONN))
        else:
            servers.append(await loop.create_server(factory, sock=sock, ssl=tls,
                                                    backlog=socket.SOMAXCONN))
    return servers
