"""Reading the log conmon writes (the CRI "k8s-file" format):

    2026-11-28T09:55:16.509164052+00:00 stdout F hello

`F` ends a line (its newline is part of the content), `P` is a piece of a longer
line (conmon added the newline). Readers merge pieces back into whole messages.
"""
from __future__ import annotations

import calendar
import os
import threading
import time
from dataclasses import dataclass
from typing import BinaryIO, Iterator

STDOUT, STDERR = 1, 2
_STREAMS = {b"stdout": STDOUT, b"stderr": STDERR}


@dataclass
class Message:
    stream: int
    ts_ns: int
    data: bytes


class _TimeParser:
    """RFC3339 with nanoseconds and offset; caches the whole-second part."""

    def __init__(self) -> None:
        self._key = b""
        self._secs = 0

    def __call__(self, ts: bytes) -> int:
        if len(ts) == 35 and ts[19] == 46 and ts[:19] + ts[29:] == self._key:
            # conmon's own form (nine digits and an offset) within the cached second
            return self._secs * 1_000_000_000 + int(ts[20:29])
        return self._parse(ts)

    def _parse(self, ts: bytes) -> int:
        key = ts[:19] + ts[-6:]
        if key != self._key:
            secs = calendar.timegm((int(ts[0:4]), int(ts[5:7]), int(ts[8:10]), int(ts[11:13]),
                                    int(ts[14:16]), int(ts[17:19]), 0, 0, 0))
            zone = ts[-6:]
            if zone[:1] in (b"+", b"-") and zone[3:4] == b":":
                offset = int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
                secs -= offset if zone[:1] == b"+" else -offset
            self._key, self._secs = key, secs
        dot = ts.find(b".", 19)
        frac = 0
        if dot > 0:
            end = dot + 1
            while end < len(ts) and 48 <= ts[end] <= 57:
                end += 1
            frac = int(ts[dot + 1:end].ljust(9, b"0")[:9])
        return self._secs * 1_000_000_000 + frac


def _messages(lines: Iterator[bytes], since_ns: int, until_ns: int | None) -> Iterator[Message]:
    parse_ts = _TimeParser()
    pending: dict[int, Message] = {}
    for line in lines:
        try:
            ts, stream_name, tag, content = line.split(b" ", 3)
        except ValueError:
            continue  # a torn line (the writer died mid-write)
        stream = _STREAMS.get(stream_name)
        if stream is None:
            continue
        partial = tag == b"P"
        if partial and content.endswith(b"\n"):
            content = content[:-1]
        prev = pending.pop(stream, None)
        if prev is not None:
            prev.data += content
            msg = prev
        else:
            try:
                msg = Message(stream, parse_ts(ts), content)
            except (ValueError, IndexError):
                continue
        if partial:
            pending[stream] = msg
            continue
        if msg.ts_ns < since_ns:
            continue
        if until_ns is not None and msg.ts_ns > until_ns:
            continue
        yield msg
    for msg in pending.values():
        if msg.ts_ns >= since_ns and (until_ns is None or msg.ts_ns <= until_ns):
            yield msg


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


def _tail_offset(f: BinaryIO, count: int, chunk: int = 1 << 16) -> int:
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
            if _is_final(data[line_start:end]):
                finals += 1
                if finals > count:
                    return pos + end
            end = line_start
    return 0


def _is_final(line: bytes) -> bool:
    parts = line.split(b" ", 3)
    return len(parts) >= 3 and parts[2] == b"F"


def read(path: str, since_ns: int = 0, until_ns: int | None = None, tail: int | None = None,
         follow: threading.Event | None = None, poll: float = 0.05) -> Iterator[Message | None]:
    """Messages of one log file. With follow (an event that is set when the
    container stopped), keep reading as it grows, and on into the file that
    replaces it when it is rotated, until that happens; a None then says that
    the reader caught up and waits (time to send what it has)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    try:
        if tail is not None and tail >= 0:
            if tail == 0:
                f.seek(0, os.SEEK_END)
            else:
                f.seek(_tail_offset(f, tail))
        yield from _messages(_split_lines(f), since_ns, until_ns)
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
                    yield from _messages(iter(data[:end + 1].splitlines(keepends=True)),
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
            time.sleep(poll)
    finally:
        f.close()


def _replaced(path: str, f: BinaryIO) -> bool:
    try:
        return os.stat(path).st_ino != os.fstat(f.fileno()).st_ino
    except FileNotFoundError:
        return False


def read_files(files: list[str], since_ns: int = 0, until_ns: int | None = None,
               tail: int | None = None,
               follow: threading.Event | None = None) -> Iterator[Message | None]:
    """A container's messages over its rotated files (oldest first); `tail` counts
    across them and following continues in the last one."""
    *older, current = files
    if tail is None:
        for path in older:
            yield from read(path, since_ns, until_ns)
        yield from read(current, since_ns, until_ns, follow=follow)
        return
    collected: list[Message] = []
    need = tail
    for path in reversed(files):
        if need <= 0:
            break
        messages = [m for m in read(path, since_ns, until_ns, tail=need) if m is not None]
        collected = messages + collected
        need -= len(messages)
    yield from collected
    if follow is not None:
        yield from read(current, since_ns, until_ns, tail=0, follow=follow)
