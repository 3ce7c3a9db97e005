"""Raw HTTP over the daemon's unix socket, for requests no SDK would send."""
from __future__ import annotations

import json
import socket
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.body)


def request(sock_path: str, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 30) -> RawResponse:
    hdrs = {"Connection": "close", **(headers or {})}
    if body is not None:
        hdrs.setdefault("Content-Length", str(len(body)))
    with _send(sock_path, method, path, hdrs, body, timeout) as s:
        data = b""
        while not _complete(data):  # a kept-alive connection ends with its body
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status, reason, parsed, rest = _parse_head(data)
    if parsed.get("transfer-encoding") == "chunked":
        rest = _dechunk(rest)
    return RawResponse(status, reason, parsed, rest)


def _send(sock_path: str, method: str, path: str, headers: dict[str, str],
          body: bytes | None, timeout: float) -> socket.socket:
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in {"Host": "docker", **headers}.items())
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall(head.encode() + b"\r\n" + (body or b""))
    return s


def _parse_head(data: bytes) -> tuple[int, str, dict[str, str], bytes]:
    """Status, reason, lower-cased headers and the bytes after the head."""
    header, _, rest = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    _, status, reason = (lines[0].split(" ", 2) + [""])[:3]
    parsed = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        parsed[key.strip().lower()] = value.strip()
    return int(status), reason, parsed, rest


def _complete(data: bytes) -> bool:
    header, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in header.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return len(rest) >= int(value)
    return False


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return out


def open_stream(sock_path: str, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes | None = None,
                timeout: float = 30) -> tuple[socket.socket, int, str, dict[str, str], bytes]:
    """Send a request and return the socket after the response head (for hijacked
    attach/exec and streaming endpoints)."""
    hdrs = dict(headers or {})
    if body is not None:
        hdrs["Content-Length"] = str(len(body))
        hdrs.setdefault("Content-Type", "application/json")
    s = _send(sock_path, method, path, hdrs, body, timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    status, reason, parsed, rest = _parse_head(data)
    return s, status, reason, parsed, rest


def read_until_closed(s: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return data
