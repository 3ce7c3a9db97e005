"""Docker's json-file format, one entry a line:

    {"log":"hello\\n","stream":"stdout","time":"2026-11-28T09:55:16.509164052Z"}

An entry whose log does not end in a newline is a piece of a longer line
(Docker splits at 16 KiB; conmon at its buffer); readers merge the pieces.
"""
from __future__ import annotations

import calendar
import json
import struct
import time
from collections.abc import Iterator

from shared.timeutil import parse_rfc3339

from .format import STDERR, STDOUT, LogFormat, Message

_STREAMS = {"stdout": STDOUT, "stderr": STDERR}
_dumps = json.JSONEncoder(ensure_ascii=False).encode


def entry(data: bytes, stream: str, time: str) -> bytes:
    """One line of the file (data as written, invalid UTF-8 replaced as Docker does)."""
    return (f'{{"log":{_dumps(data.decode("utf-8", "replace"))},"stream":"{stream}",'
            f'"time":"{time}"}}\n').encode()


def utc_time(conmon_ts: bytes) -> str:
    """conmon's `2026-11-28T09:55:16.509164052+00:00` as Docker writes time
    (UTC, `Z`, trailing zeros of the fraction trimmed)."""
    text = conmon_ts.decode()
    if text.endswith("+00:00"):
        head, _, frac = text[:-6].partition(".")
    else:
        ns = _parse_any(text)
        secs, rest = divmod(ns, 1_000_000_000)
        head = _format_secs(secs)
        frac = f"{rest:09d}"
    frac = frac.rstrip("0")
    return f"{head}.{frac}Z" if frac else f"{head}Z"


def _format_secs(secs: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))


def _parse_any(text: str) -> int:
    return parse_rfc3339(text)


class _TimeParser:
    """Docker's `...T09:55:16.509164052Z`; caches the whole-second part."""

    def __init__(self) -> None:
        self._key = ""
        self._secs = 0

    def __call__(self, ts: str) -> int:
        if not ts.endswith("Z") or len(ts) < 20:
            return _parse_any(ts)
        key = ts[:19]
        if key != self._key:
            self._secs = calendar.timegm((int(ts[0:4]), int(ts[5:7]), int(ts[8:10]),
                                          int(ts[11:13]), int(ts[14:16]), int(ts[17:19]),
                                          0, 0, 0))
            self._key = key
        frac = ts[20:-1] if ts[19:20] == "." else ""
        return self._secs * 1_000_000_000 + (int(frac.ljust(9, "0")[:9]) if frac else 0)


_HEAD = b'{"log":"'
_MIDDLE = b'","stream":"'
_TIME = b'","time":"'
_TAIL = b'"}\n'
_BYTE_STREAMS = {b"stdout": STDOUT, b"stderr": STDERR}


_POW = [10 ** (9 - n) for n in range(10)]


def _messages(lines: Iterator[bytes], since_ns: int, until_ns: int | None) -> Iterator[Message]:
    """Lines laid out as Docker and this daemon write them, whose text needs no
    unescaping but its final newline, are cut apart as bytes (most lines, and
    fast); any other line goes through json.loads."""
    parse_text_ts = _TimeParser()
    key, secs = b"", 0
    pending: dict[int, Message] = {}
    streams = _BYTE_STREAMS
    for line in lines:
        stream = 0
        mid = line.rfind(_MIDDLE)
        if mid > 8 and line.startswith(_HEAD):
            timed = line.find(_TIME, mid)
            if line[mid - 2:mid] == b"\\n":
                if line.find(b"\\", 8, mid - 2) < 0:
                    data = line[8:mid - 2] + b"\n"
                    stream = streams.get(line[mid + 12:timed], 0)
            elif line.find(b"\\", 8, mid) < 0:
                data = line[8:mid]
                stream = streams.get(line[mid + 12:timed], 0)
        if stream:
            ts = line[timed + 10:-3]
            if ts[:19] != key:
                try:
                    secs = calendar.timegm((int(ts[0:4]), int(ts[5:7]), int(ts[8:10]),
                                            int(ts[11:13]), int(ts[14:16]), int(ts[17:19]),
                                            0, 0, 0))
                    key = ts[:19]
                except ValueError:
                    stream = 0
            if stream:
                frac = ts[20:-1]
                if ts[-1:] != b"Z" or len(frac) > 9 or not (frac.isdigit() or not frac):
                    stream = 0
                else:
                    ts_ns = secs * 1_000_000_000 + (int(frac) * _POW[len(frac)] if frac else 0)
        if not stream:
            try:
                doc = json.loads(line)
                stream = _STREAMS[doc["stream"]]
                data = doc["log"].encode()
                ts_ns = parse_text_ts(doc["time"])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a torn line (the writer died mid-write)
        if pending:
            prev = pending.pop(stream, None)
            if prev is not None:
                prev.data += data
                data = prev.data
                ts_ns = prev.ts_ns
        if data[-1:] != b"\n":
            pending[stream] = Message(stream, ts_ns, data)
            continue
        if ts_ns < since_ns or (until_ns is not None and ts_ns > until_ns):
            continue
        yield Message(stream, ts_ns, data)
    for msg in pending.values():
        if msg.ts_ns >= since_ns and (until_ns is None or msg.ts_ns <= until_ns):
            yield msg


_FRAME = struct.Struct(">BxxxI").pack
_STREAM_NUMBERS = {"stdout": STDOUT, "stderr": STDERR}


def encode_chunk(chunk: bytes, stdout: bool, stderr: bool, framed: bool) -> bytes:
    """A chunk of whole lines straight to what `docker logs` sends, each entry's
    text in a stdcopy frame if framed: the common case (no timestamps, no time
    filter, no tail), twice as fast as going through messages. Pieces of a long
    line go as they are, as Docker's own reader sends them."""
    out: list[bytes] = []
    add = out.append
    for line in chunk.splitlines(keepends=True):
        mid = line.rfind(_MIDDLE)
        stream = 0
        if mid > 8 and line.startswith(_HEAD):
            if line[mid - 2:mid] == b"\\n":
                if line.find(b"\\", 8, mid - 2) < 0:
                    data = line[8:mid - 2] + b"\n"
                    stream = _BYTE_STREAMS.get(line[mid + 12:mid + 18], 0)
            elif line.find(b"\\", 8, mid) < 0:
                data = line[8:mid]
                stream = _BYTE_STREAMS.get(line[mid + 12:mid + 18], 0)
        if not stream:
            try:
                doc = json.loads(line)
                data, stream = doc["log"].encode(), _STREAM_NUMBERS[doc["stream"]]
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a torn line
        if (stdout if stream == STDOUT else stderr):
            add(_FRAME(stream, len(data)) + data if framed else data)
    return b"".join(out)


def _is_final(line: bytes) -> bool:
    return b'\\n","stream":' in line


JSON = LogFormat(_messages, _is_final)
