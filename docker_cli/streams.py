"""Copying a hijacked attach/exec connection to this terminal and back."""
from __future__ import annotations

import os
import socket
import sys

from shared.stdcopy import Demuxer


class _Typed:
    """Whether the last bytes typed were the detach keys."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.tail = b""

    def feed(self, data: bytes) -> None:
        if self.keys:
            self.tail = (self.tail + data)[-len(self.keys):]

    @property
    def detached(self) -> bool:
        return bool(self.keys) and self.tail == self.keys


def _send_stdin(sock: socket.socket, typed: _Typed) -> None:
    fd = sys.stdin.fileno()
    try:
        while True:
            data = os.read(fd, 32768)
            if not data:
                break
            typed.feed(data)
            sock.sendall(data)
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_WR)  # stdin EOF; the output keeps coming
    except OSError:
        pass


def pump(sock: socket.socket, initial: bytes, tty: bool, stdin: bool,
         detach_keys: str | None = None) -> bool:
    """Until the daemon closes the stream: its output to our stdout/stderr (split
    by frame header unless it is a TTY), and our stdin to it. True when it closed
    because the detach keys were typed (the container goes on running)."""
    typed = _Typed(_keys(detach_keys) if stdin and tty else b"")
    if stdin:
        import threading  # only with stdin attached
        threading.Thread(target=_send_stdin, args=(sock, typed), daemon=True).start()
    out = sys.stdout.buffer
    err = sys.stderr.buffer
    demux = Demuxer()
    data = initial
    try:
        while True:
            if data:
                if tty:
                    out.write(data)
                    out.flush()
                else:
                    for stream, payload in demux.feed(data):
                        target = err if stream == 2 else out
                        target.write(payload)
                        target.flush()
            data = sock.recv(65536)
            if not data:
                break
    except (ConnectionResetError, OSError):
        pass
    finally:
        sock.close()
    return typed.detached


def _keys(spec: str | None) -> bytes:
    from shared import detachkeys
    try:
        return detachkeys.parse(spec)
    except ValueError:
        return b""
