"""Where the API listens: unix sockets (mode 0660, group docker) and sockets
handed over by systemd (fd://, LISTEN_FDS)."""
from __future__ import annotations

import grp
import logging
import os
import socket

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
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def open_listeners(hosts: list[str], group: str | None) -> list[socket.socket]:
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
        else:
            raise ListenerError(f"unsupported host {host}")
    return sockets
