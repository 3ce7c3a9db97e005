"""Copying a hijacked attach/exec connection to this terminal and back."""
from __future__ import annotations

import os
import socket
import sys
import threading

from shared.stdcopy import Demuxer


def _send_stdin(sock: socket.socket) -> None:
    fd = sys.stdin.fileno()
    try:
        while True:
            data = os.read(fd, 32768)
            if not data:
                break
            sock.sendall(data)
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_WR)  # stdin EOF; the output keeps coming
    except OSError:
        pass


def pump(sock: socket.socket, initial: bytes, tty: bool, stdin: bool) -> None:
    """Until the daemon closes the stream: its output to our stdout/stderr (split
    by frame header unless it is a TTY), and our stdin to it."""
    if stdin:
        threading.Thread(target=_send_stdin, args=(sock,), daemon=True).start()
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
