"""The skeleton of a layer tar: its header bytes and the paths of its payloads.

With the extracted files it regenerates the original tar byte for byte, so
`docker save` and `push` reproduce the layer's digest without storing the tar
twice (Docker keeps the same information in tar-split files).
"""
from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from .confined import Root
from .tarstream import ArchiveError

MAGIC = b"DPYTS1\n"
_RAW = struct.Struct(">cI")
_FILE = struct.Struct(">cQIH")


def sidecar_name(path: str, occurrence: int) -> str:
    """Where an overwritten payload of the same layer is kept."""
    return f"{occurrence}-{hashlib.sha256(path.encode('utf-8', 'surrogateescape')).hexdigest()}"


class SkeletonWriter:
    def __init__(self, path: str, sidecar_dir: str) -> None:
        self.path = path
        self.sidecar_dir = sidecar_dir
        self._f = open(path, "wb", buffering=1 << 16)
        self._f.write(MAGIC)
        self._pending = bytearray()
        self.tar_size = 0
        self.occurrences: dict[str, int] = {}

    def raw(self, data: bytes) -> None:
        if data:
            self._pending += data
            self.tar_size += len(data)

    def _flush_raw(self) -> None:
        if self._pending:
            self._f.write(_RAW.pack(b"R", len(self._pending)))
            self._f.write(self._pending)
            self._pending = bytearray()

    def file(self, path: str, size: int) -> None:
        self._flush_raw()
        encoded = path.encode("utf-8", "surrogateescape")
        occurrence = self.occurrences.get(path, 0)
        self.occurrences[path] = occurrence + 1
        self._f.write(_FILE.pack(b"F", size, occurrence, len(encoded)))
        self._f.write(encoded)
        self.tar_size += size

    def recorded(self, path: str) -> bool:
        return path in self.occurrences

    def recorded_under(self, directory: str) -> list[str]:
        prefix = directory.rstrip("/") + "/"
        return [p for p in self.occurrences if p.startswith(prefix)]

    def preserve(self, root: Root, path: str) -> None:
        """Keep the payload of `path` before the layer overwrites or removes it."""
        occurrence = self.occurrences[path] - 1
        os.makedirs(self.sidecar_dir, exist_ok=True)
        dst = os.path.join(self.sidecar_dir, sidecar_name(path, occurrence))
        pfd, name = root.open_parent(path)
        try:
            os.rename(name, dst, src_dir_fd=pfd)
        except FileNotFoundError:
            pass
        finally:
            os.close(pfd)

    def close(self) -> None:
        self._flush_raw()
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()

    def abort(self) -> None:
        self._f.close()


def regenerate(skeleton_path: str, root_path: str, sidecar_dir: str,
               chunk: int = 1 << 20) -> Iterator[bytes]:
    """Yield the original layer tar, reading payloads from the layer's files."""
    with open(skeleton_path, "rb") as f, Root(root_path) as root:
        if f.read(len(MAGIC)) != MAGIC:
            raise ArchiveError(f"corrupt layer skeleton {skeleton_path}")
        while True:
            kind = f.read(1)
            if not kind:
                return
            if kind == b"R":
                (length,) = struct.unpack(">I", _read_exact(f, 4))
                yield _read_exact(f, length)
            elif kind == b"F":
                size, occurrence, plen = struct.unpack(">QIH", _read_exact(f, 14))
                path = _read_exact(f, plen).decode("utf-8", "surrogateescape")
                yield from _payload(root, sidecar_dir, path, occurrence, size, chunk)
            else:
                raise ArchiveError(f"corrupt layer skeleton {skeleton_path}")


def _payload(root: Root, sidecar_dir: str, path: str, occurrence: int, size: int,
             chunk: int) -> Iterator[bytes]:
    side = os.path.join(sidecar_dir, sidecar_name(path, occurrence))
    try:
        fd = os.open(side, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = root.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        if os.fstat(fd).st_size != size:
            raise ArchiveError(f"layer content of {path} changed since it was stored")
        left = size
        while left:
            data = os.read(fd, min(chunk, left))
            if not data:
                raise ArchiveError(f"layer content of {path} changed since it was stored")
            left -= len(data)
            yield data
    finally:
        os.close(fd)


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ArchiveError("corrupt layer skeleton: truncated")
    return data
