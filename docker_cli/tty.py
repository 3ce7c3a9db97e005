"""The terminal of `run -it` and `exec -it`: raw mode and its size."""
from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import sys
import termios
import tty

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from collections.abc import Iterator


def size() -> tuple[int, int] | None:
    """(rows, columns) of stdout's terminal, or None."""
    for stream in (sys.stdout, sys.stdin):
        try:
            data = fcntl.ioctl(stream.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
            rows, cols = struct.unpack("hhhh", data)[:2]
            if rows and cols:
                return rows, cols
        except (OSError, ValueError):
            continue
    return None


@contextlib.contextmanager
def raw_mode(enabled: bool) -> Iterator[None]:
    if not enabled or not os.isatty(sys.stdin.fileno()):
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
