"""Sockets inside a container's network namespace, served by the daemon.

A thread of its own enters the namespace (setns affects only the calling
thread), makes the sockets and ends, so no other work ever runs in a container's
namespace; the sockets stay bound there and the event loop serves them."""
from __future__ import annotations

import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def sockets_in(pid: int, address: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A UDP and a listening TCP socket on address:port in the network namespace
    of process pid (blocking: call it off the event loop)."""
    result: list = []

    def work() -> None:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                for sock in (udp, tcp):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((address, port))
                    sock.setblocking(False)
                tcp.listen(64)
            except BaseException:
                udp.close()
                tcp.close()
                raise
            result.append((udp, tcp))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            result.append(exc)

    thread = threading.Thread(target=work, name=f"netns-{pid}", daemon=True)
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
