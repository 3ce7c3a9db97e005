"""HTTP/1.1 for the CLI, one request per connection, on a socket the client
opened: what the Engine API needs (fixed, chunked and streamed bodies both
ways, and the head of a hijacked stream). Written here rather than taken from
http.client, whose import (with the email package) costs more than a whole
`docker-py ps` may."""
from __future__ import annotations

import socket

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO

MAX_HEAD = 64 * 1024
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class ProtocolError(Exception):
    pass


class Headers(dict):
    """Header names in lower case; get() takes them in any case."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.lower(), default)


def urlencode(items: list[tuple[str, str]]) -> str:
    """A query string as urllib.parse.urlencode writes it (UTF-8, space as +),
    without that module's import (with ipaddress, 3 ms of a `docker-py run`)."""
    def quote(text: str) -> str:
        return "".join(chr(b) if b in _UNRESERVED else "+" if b == 0x20 else f"%{b:02X}"
                       for b in text.encode())
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in items)


def send_request(sock: socket.socket, method: str, target: str, headers: dict[str, str],
                 body: bytes | Iterator[bytes] | None) -> None:
    """The request head, and the body: bytes with their length, an iterator chunked."""
    lines = [f"{method} {target} HTTP/1.1", "Host: docker", "User-Agent: docker-py"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if isinstance(body, bytes):
        lines.append(f"Content-Length: {len(body)}")
    elif body is not None:
        lines.append("Transfer-Encoding: chunked")
    elif method in ("POST", "PUT"):
        lines.append("Content-Length: 0")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if isinstance(body, bytes):
        sock.sendall(head + body)
        return
    sock.sendall(head)
    if body is not None:
        for chunk in body:
            if chunk:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sock.sendall(b"0\r\n\r\n")


def read_head(stream: IO[bytes]) -> tuple[int, Headers]:
    """The status and headers of a response."""
    status_line = stream.readline(MAX_HEAD)
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"malformed HTTP response {status_line[:80]!r}")
    headers = Headers()
    size = len(status_line)
    while True:
        line = stream.readline(MAX_HEAD)
        size += len(line)
        if size > MAX_HEAD:
            raise ProtocolError("response headers too long")
        if line in (b"\r\n", b"\n", b""):
            break
        key, _, value = line.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(parts[1]), headers


class Response:
    """A response whose body is read as it arrives (read1) or whole (read)."""

    def __init__(self, sock: socket.socket, method: str) -> None:
        self.sock = sock
        self.stream = sock.makefile("rb")
        self.status, self.headers = read_head(self.stream)
        self._chunked = "chunked" in (self.headers.get("transfer-encoding") or "").lower()
        length = self.headers.get("content-length")
        self._left: int | None = int(length) if length and not self._chunked else None
        if method == "HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            self._left = 0
            self._chunked = False
        self._chunk_left = 0
        self._done = self._left == 0

    def read1(self, size: int = 1 << 16) -> bytes:
        """Some of the body (b"" at its end)."""
        if self._done:
            return b""
        if self._chunked:
            return self._read_chunked(size)
        want = size if self._left is None else min(size, self._left)
        data = self.stream.read1(want)
        if self._left is not None:
            self._left -= len(data)
            if self._left <= 0 or not data:
                self._done = True
                if self._left > 0:
                    raise ProtocolError("connection closed in the middle of the body")
        elif not data:
            self._done = True
        return data

    def _read_chunked(self, size: int) -> bytes:
        if self._chunk_left == 0:
            line = self.stream.readline(MAX_HEAD)
            if not line:
                raise ProtocolError("connection closed in the middle of the body")
            self._chunk_left = int(line.split(b";")[0].strip() or b"0", 16)
            if self._chunk_left == 0:
                while self.stream.readline(MAX_HEAD) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._done = True
                return b""
        data = self.stream.read1(min(size, self._chunk_left))
        if not data:
            raise ProtocolError("connection closed in the middle of the body")
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            self.stream.readline(MAX_HEAD)  # the CRLF after the chunk
        return data

    def read(self) -> bytes:
        parts = []
        while data := self.read1(1 << 20):
            parts.append(data)
        self.close()
        return b"".join(parts)

    def close(self) -> None:
        self.stream.close()
        self.sock.close()
