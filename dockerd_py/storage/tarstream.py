"""A streaming tar reader that keeps every byte it reads accounted for.

Layers must be reproducible byte for byte (their sha256 is the image's diff
ID), so the reader hands out, beside each entry, the raw bytes of its headers;
together with the payloads they are the exact stream. The same reader serves
image layers, `docker load` archives and `docker cp` uploads.
"""
from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import InvalidParameter

BLOCK = 512
REGULAR_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
# Data after the end-of-archive marker is hashed (it is part of the layer's
# digest) but never more than this: 10 GB of padding is an attack, not a layer.
MAX_TRAILING = 1 << 20
MAX_META = 1 << 20  # a pax or GNU long-name record larger than this is refused


class ArchiveError(InvalidParameter):
    """A tar stream that is corrupt, truncated or hostile."""


@dataclass
class Entry:
    name: str
    type: bytes
    mode: int
    uid: int
    gid: int
    size: int
    mtime_ns: int
    atime_ns: int | None
    linkname: str
    devmajor: int
    devminor: int
    xattrs: dict[str, bytes] = field(default_factory=dict)
    raw: bytes = b""  # every header byte of this entry (pax, long names, ustar)

    @property
    def is_reg(self) -> bool:
        return self.type in REGULAR_TYPES

    @property
    def is_dir(self) -> bool:
        return self.type == tarfile.DIRTYPE


class ByteReader(Protocol):
    """What reading a tar stream needs of its source: read(n)."""

    def read(self, n: int = -1, /) -> bytes: ...


def _magic_open(raw: Any) -> ByteReader:  # raw: a _Counting, duck-typed as a file
    """Decompress in-process by magic number; never a container's binary."""
    head = raw.peek(6)[:6] if hasattr(raw, "peek") else b""
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head[:3] == b"BZh":
        return bz2.BZ2File(raw)
    if head[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(raw)
    if head[:4] == b"\x28\xb5\x2f\xfd":
        try:
            import zstandard
        except ImportError:
            raise ArchiveError("zstd-compressed archives need the zstandard module") from None
        return zstandard.ZstdDecompressor().stream_reader(raw)
    return raw


class _Counting:
    """Wraps the compressed side to measure the decompression ratio."""

    def __init__(self, raw: Any) -> None:  # a file with read, readinto and maybe peek
        self.raw = raw
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.count += len(data)
        return data

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        n = self.raw.readinto(buf)
        self.count += n or 0
        return n or 0

    def peek(self, n: int = 0) -> bytes:
        return self.raw.peek(n) if hasattr(self.raw, "peek") else b""

    def readable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return False


class TarReader:
    """Iterate a tar stream's entries; read each payload with read_payload()."""

    MAX_RATIO = 2000  # no real layer expands 2000-fold; a decompression bomb does
    RATIO_FLOOR = 256 << 20

    def __init__(self, stream: ByteReader, decompress: bool = True) -> None:
        import io
        buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream, 1 << 16)  # type: ignore[type-var]  # a raw reader
        self._compressed = _Counting(buffered)
        self._f: ByteReader = _magic_open(self._compressed) if decompress else self._compressed
        self.compressed = self._f is not self._compressed
        self.digest = hashlib.sha256()
        self.size = 0  # uncompressed bytes read
        self._payload_left = 0
        self._pad_left = 0
        self.trailer = b""  # the bytes after the last entry, raw
        self._global_pax: dict[str, str] = {}
        self.done = False

    # -- raw reading ------------------------------------------------------
    def _read(self, n: int) -> bytes:
        try:
            data = self._f.read(n)
        except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
            raise ArchiveError(f"invalid tar stream: {exc}") from None
        self.digest.update(data)
        self.size += len(data)
        if self.compressed and self.size > self.RATIO_FLOOR and \
                self.size > self.MAX_RATIO * max(self._compressed.count, 1):
            raise ArchiveError("archive decompresses to more than "
                               f"{self.MAX_RATIO} times its size: refusing a bomb")
        return data

    def _read_exact(self, n: int) -> bytes:
        data = self._read(n)
        while len(data) < n:
            more = self._read(n - len(data))
            if not more:
                raise ArchiveError("unexpected EOF: the tar stream is truncated")
            data += more
        return data

    def read_payload(self, n: int = 1 << 20) -> bytes:
        """Read up to n bytes of the current entry's payload; b"" at its end."""
        if self._payload_left <= 0:
            return b""
        data = self._read(min(n, self._payload_left))
        if not data:
            raise ArchiveError("unexpected EOF: the tar stream is truncated")
        self._payload_left -= len(data)
        return data

    def skip_payload(self) -> None:
        while self.read_payload():
            pass

    def _finish_entry(self) -> bytes:
        """Skip what is left of the payload; return the padding bytes."""
        self.skip_payload()
        pad = self._read_exact(self._pad_left) if self._pad_left else b""
        self._pad_left = 0
        return pad

    # -- entries ----------------------------------------------------------
    def __iter__(self) -> Iterator[Entry]:
        return self

    def __next__(self) -> Entry:
        entry = self.next_entry()
        if entry is None:
            raise StopIteration
        return entry

    def next_entry(self) -> Entry | None:
        """The next entry; its `raw` holds the padding of the previous payload
        followed by all header blocks of this one."""
        if self.done:
            return None
        raw = bytearray(self._finish_entry())
        pax: dict[str, str] = {}
        long_name = long_link = None
        while True:
            block = self._read(BLOCK)
            if not block:
                # A stream that simply ends after a complete entry is accepted,
                # as Go's archive/tar does.
                self._end(bytes(raw))
                return None
            if len(block) < BLOCK:
                block += self._read_exact(BLOCK - len(block))
            raw += block
            if block == b"\0" * BLOCK:
                self._end(bytes(raw))
                return None
            try:
                info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            except tarfile.HeaderError as exc:
                raise ArchiveError(f"invalid tar header: {exc}") from None
            kind = info.type
            if kind in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME,
                        tarfile.GNUTYPE_LONGLINK, b"X"):
                if info.size > MAX_META:
                    raise ArchiveError("invalid tar header: metadata record too large")
                padded = (info.size + BLOCK - 1) // BLOCK * BLOCK
                data = self._read_exact(padded)
                raw += data
                data = data[:info.size]
                if kind == tarfile.GNUTYPE_LONGNAME:
                    long_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                elif kind == tarfile.GNUTYPE_LONGLINK:
                    long_link = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                elif kind == tarfile.XGLTYPE:
                    self._global_pax.update(_parse_pax(data))
                else:
                    pax.update(_parse_pax(data))
                continue
            if kind == tarfile.GNUTYPE_SPARSE:
                raise ArchiveError("unsupported tar entry type: GNU sparse file")
            return self._make_entry(info, pax, long_name, long_link, bytes(raw))

    def _make_entry(self, info: tarfile.TarInfo, pax: dict[str, str], long_name: str | None,
                    long_link: str | None, raw: bytes) -> Entry:
        merged = dict(self._global_pax)
        merged.update(pax)
        name = merged.get("path", long_name or info.name)
        linkname = merged.get("linkpath", long_link or info.linkname)
        size = info.size
        if "size" in merged:
            size = _pax_int(merged["size"], "size")
        uid = _pax_int(merged["uid"], "uid") if "uid" in merged else info.uid
        gid = _pax_int(merged["gid"], "gid") if "gid" in merged else info.gid
        mtime_ns = _pax_time(merged["mtime"]) if "mtime" in merged else int(info.mtime) * 10**9
        atime_ns = _pax_time(merged["atime"]) if "atime" in merged else None
        xattrs = {}
        for key, value in merged.items():
            if key.startswith("SCHILY.xattr."):
                xattrs[key[len("SCHILY.xattr."):]] = value.encode("utf-8", "surrogateescape")
        if size < 0:
            raise ArchiveError("invalid tar header: negative size")
        has_payload = info.type in REGULAR_TYPES or info.type not in (
            tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.DIRTYPE, tarfile.CHRTYPE,
            tarfile.BLKTYPE, tarfile.FIFOTYPE)
        self._payload_left = size if has_payload else 0
        self._pad_left = (-self._payload_left) % BLOCK
        return Entry(name=name, type=info.type, mode=info.mode, uid=uid, gid=gid, size=size,
                     mtime_ns=mtime_ns, atime_ns=atime_ns, linkname=linkname,
                     devmajor=info.devmajor, devminor=info.devminor, xattrs=xattrs, raw=raw)

    def _end(self, raw: bytes) -> None:
        """Read what follows the end-of-archive marker: it belongs to the digest."""
        rest = bytearray(raw)
        while True:
            chunk = self._read(1 << 16)
            if not chunk:
                break
            rest += chunk
            if len(rest) > MAX_TRAILING:
                raise ArchiveError("invalid tar: more than 1MiB of data after the end of "
                                   "the archive")
        self.trailer = bytes(rest)
        self.done = True

    def drain(self) -> None:
        """Consume the rest of the stream (after the caller stopped early)."""
        while self.next_entry() is not None:
            pass


def _parse_pax(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        if data[pos:pos + 1] == b"\0":
            break
        space = data.find(b" ", pos)
        if space < 0:
            raise ArchiveError("invalid tar header: malformed pax record")
        try:
            length = int(data[pos:space])
        except ValueError:
            raise ArchiveError("invalid tar header: malformed pax record") from None
        if length <= 0 or pos + length > len(data):
            raise ArchiveError("invalid tar header: malformed pax record")
        record = data[space + 1:pos + length - 1]
        key, sep, value = record.partition(b"=")
        if not sep:
            raise ArchiveError("invalid tar header: malformed pax record")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


def _pax_int(value: str, what: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise ArchiveError(f"invalid tar header: bad pax {what}") from None
    if n < 0:
        raise ArchiveError(f"invalid tar header: negative pax {what}")
    return n


def _pax_time(value: str) -> int:
    try:
        secs, _, frac = value.partition(".")
        return int(secs) * 10**9 + int((frac or "0")[:9].ljust(9, "0"))
    except ValueError:
        raise ArchiveError("invalid tar header: bad pax time") from None
