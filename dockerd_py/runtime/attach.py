"""The client side of conmon's attach socket and control FIFO.

The socket is SOCK_SEQPACKET: each packet conmon sends starts with one byte
naming the pipe (2 stdout, 3 stderr); what we send is the container's stdin.
Shutting our write side closes the container's stdin when it runs with
StdinOnce (conmon without --leave-stdin-open).
"""
from __future__ import annotations

import asyncio
import errno
import os
import socket

CONMON_STDOUT, CONMON_STDERR = 2, 3
_RECV_SIZE = 32768 + 1


class AttachSocket:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self.closed = False

    @classmethod
    async def connect(cls, bundle: str) -> AttachSocket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        sock.setblocking(False)
        path = os.path.join(bundle, "attach")
        dirfd = -1
        if len(path.encode()) >= 107:
            dirfd = os.open(bundle, os.O_PATH | os.O_CLOEXEC)
            path = f"/proc/self/fd/{dirfd}/attach"
        try:
            await asyncio.get_running_loop().sock_connect(sock, path)
        except BaseException:
            sock.close()
            raise
        finally:
            if dirfd >= 0:
                os.close(dirfd)
        return cls(sock)

    async def recv(self) -> tuple[int, bytes] | None:
        """(1 stdout | 2 stderr, data), or None once conmon closed the socket."""
        while not self.closed:
            try:
                packet = await self._loop.sock_recv(self._sock, _RECV_SIZE)
            except (ConnectionResetError, OSError):
                return None
            if not packet:
                return None
            pipe, data = packet[0], packet[1:]
            if not data:
                continue
            return (2 if pipe == CONMON_STDERR else 1), data
        return None

    async def send(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            # conmon reads at most 32 KiB per packet; keep packets below that.
            for i in range(0, len(data), 32768):
                await self._loop.sock_sendall(self._sock, data[i:i + 32768])
        except (BrokenPipeError, ConnectionResetError):
            pass

    def shutdown_write(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._sock.close()


def resize(bundle: str, height: int, width: int) -> None:
    """Ask conmon to resize the container's terminal."""
    control(bundle, f"1 {height} {width}\n")


def reopen_log(bundle: str) -> None:
    control(bundle, "2 0 0\n")


def control(bundle: str, message: str) -> None:
    path = os.path.join(bundle, "ctl")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT):
            return  # conmon is gone
        raise
    try:
        os.write(fd, message.encode())
    finally:
        os.close(fd)
