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
    from collections.abc import Callable, Iterator


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
        # TCSANOW, as the docker CLI: what was typed ahead is kept (setraw's default,
        # TCSAFLUSH, throws it away)
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def following_size(enabled: bool, send: Callable[[int, int], None]) -> Iterator[None]:
    """The terminal's size now and at every change (SIGWINCH), sent to the
    daemon as the docker CLI's monitorTtySize does: `vi`, `less` and `top`
    inside follow the window. A failed resize is not the session's end."""
    if not enabled or size() is None:
        yield
        return
    import signal

    def resize(*_: object) -> None:
        current = size()
        if current is not None:
            try:
                send(*current)
            except Exception:  # the container may be gone: the stream says so
                pass

    previous = signal.signal(signal.SIGWINCH, resize)
    try:
        resize()
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


def resizer(client: object, path: str) -> Callable[[int, int], None]:
    """What sends a new size: POST path (a container's or an exec's /resize)."""
    def send(rows: int, cols: int) -> None:
        client.request("POST", path, params={"h": rows, "w": cols}).read()  # type: ignore[attr-defined]
    return send
