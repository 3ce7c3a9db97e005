"""Reading the log conmon writes (the CRI "k8s-file" format):

    2026-11-28T09:55:16.509164052+00:00 stdout F hello

`F` ends a line (its newline is part of the content), `P` is a piece of a longer
line (conmon added the newline). Readers merge pieces back into whole messages.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterator

from .format import STDERR, STDOUT, LogFormat, Message

_STREAMS = {b"stdout": STDOUT, b"stderr": STDERR}


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


def _is_final(line: bytes) -> bool:
    parts = line.split(b" ", 3)
    return len(parts) >= 3 and parts[2] == b"F"


K8S = LogFormat(_messages, _is_final)
