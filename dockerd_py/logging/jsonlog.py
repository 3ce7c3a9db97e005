"""Docker's json-file format, one entry a line:

    {"log":"hello\\n","stream":"stdout","time":"2026-11-28T09:55:16.509164052Z"}

An entry whose log does not end in a newline is a piece of a longer line
(Docker splits at 16 KiB; conmon at its buffer); readers merge the pieces.
"""
from __future__ import annotations

import calendar
import json
import time
from typing import Iterator

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


def _messages(lines: Iterator[bytes], since_ns: int, until_ns: int | None) -> Iterator[Message]:
    parse_ts = _TimeParser()
    loads = json.loads
    pending: dict[int, Message] = {}
    for line in lines:
        try:
            doc = loads(line)
            stream = _STREAMS[doc["stream"]]
            data = doc["log"].encode()
            ts = parse_ts(doc["time"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a torn line (the writer died mid-write)
        prev = pending.pop(stream, None)
        if prev is not None:
            prev.data += data
            msg = prev
        else:
            msg = Message(stream, ts, data)
        if not data.endswith(b"\n"):
            pending[stream] = msg
            continue
        if msg.ts_ns < since_ns or (until_ns is not None and msg.ts_ns > until_ns):
            continue
        yield msg
    for msg in pending.values():
        if msg.ts_ns >= since_ns and (until_ns is None or msg.ts_ns <= until_ns):
            yield msg


def _is_final(line: bytes) -> bool:
    return b'\\n","stream":' in line


JSON = LogFormat(_messages, _is_final)
