"""Reading a container's log files, whatever their format: from an offset or the
last N messages, across rotated files (gzip-compressed ones too), and following
the current file through rotations until the container stops."""
from __future__ import annotations

import gzip
import os
import threading
import time
from collections.abc import Iterator
from typing import BinaryIO

from .format import LogFormat, Message


def _open(path: str) -> BinaryIO:
    if path.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _split_lines(f: BinaryIO, chunk: int = 1 << 20) -> Iterator[bytes]:
    rest = b""
    while True:
        data = f.read(chunk)
        if not data:
            break
        data = rest + data
        lines = data.split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"
    if rest:
        yield rest  # an unterminated last line: the writer is mid-line


def _tail_offset(f: BinaryIO, count: int, fmt: LogFormat, chunk: int = 1 << 16) -> int:
    """Offset where the last `count` messages start: just after the end of the
    (count+1)-th final (F) line from the end, or 0 when there are fewer."""
    f.seek(0, os.SEEK_END)
    pos = f.tell()
    data = b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        f.seek(pos)
        data = f.read(step) + data
        first = 0 if pos == 0 else data.find(b"\n") + 1
        if pos > 0 and first == 0:
            continue  # not one whole line yet
        finals = 0
        end = len(data)
        while end > first:
            nl = data.rfind(b"\n", first, end - 1)
            line_start = nl + 1 if nl >= first else first
            if fmt.is_final(data[line_start:end]):
                finals += 1
                if finals > count:
                    return pos + end
            end = line_start
    return 0


def read(path: str, fmt: LogFormat, since_ns: int = 0, until_ns: int | None = None,
         tail: int | None = None,
         follow: threading.Event | None = None) -> Iterator[Message | None]:
    """Messages of one log file. With follow (an event that is set when the
    container stopped), keep reading as it grows, and on into the file that
    replaces it when it is rotated, until that happens; a None then says that
    the reader caught up: whoever advances it waits a moment before the next
    look (on the event loop: a follower holds no thread while it waits)."""
    try:
        f = _open(path)
    except FileNotFoundError:
        return
    try:
        if tail is not None and tail >= 0:
            if tail == 0:
                f.seek(0, os.SEEK_END)
            else:
                f.seek(_tail_offset(f, tail, fmt))
        yield from fmt.messages(_split_lines(f), since_ns, until_ns)
        if follow is None:
            return
        while True:
            stopped = follow.is_set()
            where = f.tell()
            data = f.read()
            if data:
                end = data.rfind(b"\n")
                if end < 0:
                    f.seek(where)
                else:
                    f.seek(where + end + 1)
                    yield from fmt.messages(iter(data[:end + 1].splitlines(keepends=True)),
                                         since_ns, until_ns)
                    continue
            if _replaced(path, f):  # rotated: the rest is in the new file
                f.close()
                f = open(path, "rb")
                continue
            if stopped:
                return
            if until_ns is not None and time.time_ns() > until_ns:
                return
            yield None
    finally:
        f.close()


def _replaced(path: str, f: BinaryIO) -> bool:
    try:
        return os.stat(path).st_ino != os.fstat(f.fileno()).st_ino
    except FileNotFoundError:
        return False


def read_files(files: list[str], fmt: LogFormat, since_ns: int = 0,
               until_ns: int | None = None,
               tail: int | None = None,
               follow: threading.Event | None = None) -> Iterator[Message | None]:
    """A container's messages over its rotated files (oldest first); `tail` counts
    across them and following continues in the last one."""
    *older, current = files
    if tail is None:
        for path in older:
            yield from read(path, fmt, since_ns, until_ns)
        yield from read(current, fmt, since_ns, until_ns, follow=follow)
        return
    collected: list[Message] = []
    need = tail
    for path in reversed(files):
        if need <= 0:
            break
        messages = [m for m in read(path, fmt, since_ns, until_ns, tail=need) if m is not None]
        collected = messages + collected
        need -= len(messages)
    yield from collected
    if follow is not None:
        yield from read(current, fmt, since_ns, until_ns, tail=0, follow=follow)


def read_chunks(files: list[str], follow: threading.Event | None = None,
                chunk: int = 1 << 20) -> Iterator[bytes | None]:
    """The whole log as chunks of whole lines (for formats that convert a chunk at
    a time); following as `read` does. A None: caught up (wait, then ask again)."""
    *older, current = files
    for path in older:
        yield from _file_chunks(path, None, chunk)
    yield from _file_chunks(current, follow, chunk)


def _file_chunks(path: str, follow: threading.Event | None,
                 chunk: int) -> Iterator[bytes | None]:
    try:
        f = _open(path)
    except FileNotFoundError:
        return
    try:
        while True:
            stopped = follow.is_set() if follow is not None else True
            where = f.tell()
            data = f.read(chunk)
            end = data.rfind(b"\n") + 1
            if end > 0:
                f.seek(where + end)
                yield data[:end]
                continue
            f.seek(where)
            if len(data) >= chunk:  # a line longer than a chunk: pass it on whole
                data = f.readline()
                yield data
                continue
            if follow is None:
                if data:
                    yield data + b"\n"  # an unterminated last line
                return
            if _replaced(path, f):  # rotated: the rest is in the new file
                f.close()
                f = open(path, "rb")
                continue
            if stopped:
                return
            yield None
    finally:
        f.close()
