"""Work inside a container's network namespace: the one way the daemon does it.

`run_in` gives the work a thread of its own that enters the namespace (setns
affects only the calling thread) and ends with the work, so nothing else ever
runs in a container's namespace. What it makes there stays there: sockets stay
bound in the namespace (the event loop serves them), a child process started
there (`ip -batch`) configures the namespace's links."""
from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def run_in(pid: int, work: Callable[[], T]) -> T:
    """work() in the network namespace of process pid, on a thread of its own
    (blocking: call it off the event loop)."""
    result: list[T] = []
    failure: list[BaseException] = []

    def enter_and_work() -> None:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            result.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failure.append(exc)

    thread = threading.Thread(target=enter_and_work, name=f"netns-{pid}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def sockets_in(pid: int, address: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A UDP and a listening TCP socket on address:port in the network namespace
    of process pid (blocking: call it off the event loop)."""
    def make() -> tuple[socket.socket, socket.socket]:
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
        return udp, tcp
    return run_in(pid, make)


def ip_batch_in(pid: int, commands: list[str]) -> tuple[int, str]:
    """`ip -batch` commands in the network namespace of pid: (exit status, stderr)."""
    def run() -> tuple[int, str]:
        proc = subprocess.run(["ip", "-batch", "-"], input="\n".join(commands) + "\n",
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              timeout=30, check=False)
        return proc.returncode, proc.stderr
    return run_in(pid, run)
