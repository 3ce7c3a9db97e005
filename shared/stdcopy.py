"""Docker's stream multiplexing: an 8-byte header before each chunk.

Byte 0 is the stream (0 stdin, 1 stdout, 2 stderr, 3 system error), bytes 1-3
are zero, bytes 4-7 the payload length, big-endian.
"""
from __future__ import annotations

import struct

STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3
HEADER_SIZE = 8
_HEADER = struct.Struct(">BxxxL")


def frame(stream: int, payload: bytes) -> bytes:
    return _HEADER.pack(stream, len(payload)) + payload


def parse_header(header: bytes) -> tuple[int, int]:
    """Return (stream, length) of an 8-byte frame header."""
    if len(header) != HEADER_SIZE:
        raise ValueError("a frame header is 8 bytes")
    return _HEADER.unpack(header)


class Demuxer:
    """Split a framed byte stream, fed in arbitrary pieces, into (stream, payload)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out = []
        while len(self._buf) >= HEADER_SIZE:
            stream, length = _HEADER.unpack_from(self._buf)
            if len(self._buf) < HEADER_SIZE + length:
                break
            out.append((stream, bytes(self._buf[HEADER_SIZE:HEADER_SIZE + length])))
            del self._buf[:HEADER_SIZE + length]
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)
