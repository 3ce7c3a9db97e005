"""A small client for the Engine API over a unix socket (or TCP), with the
hijacked streams of attach and exec. No SDK: the CLI talks to the API only."""
from __future__ import annotations

import io
import json
import os
import socket

from shared import jsonstream
from shared.api import API_VERSION, DEFAULT_HOST

from . import http
from .errors import APIError, ConnectionFailed

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterator
    from typing import Any


class Response:
    """What a request answered: status, headers, and the body as it comes."""

    def __init__(self, raw: http.Response) -> None:
        self.raw = raw
        self.status = raw.status
        self.headers = raw.headers

    def json(self) -> Any:
        data = self.raw.read()
        return json.loads(data) if data.strip() else None

    def read(self) -> bytes:
        return self.raw.read()

    def iter_chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        try:
            while chunk := self.raw.read1(size):
                yield chunk
        finally:
            self.raw.close()

    def iter_json(self) -> Iterator[dict]:
        return jsonstream.decode(self.iter_chunks())


def tls_context(verify: bool, ca: str | None, cert: str | None,
                key: str | None) -> ssl.SSLContext:
    """As the Docker CLI: files from --tls* or $DOCKER_CERT_PATH (~/.docker);
    with --tlsverify the daemon's certificate must chain to the CA."""
    import ssl  # only for TLS: it is a slow import
    base = os.environ.get("DOCKER_CERT_PATH") or os.path.expanduser("~/.docker")
    ca = ca or os.path.join(base, "ca.pem")
    cert = cert or os.path.join(base, "cert.pem")
    key = key or os.path.join(base, "key.pem")
    ctx = ssl.create_default_context(cafile=ca if verify else None)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if os.path.exists(cert) and os.path.exists(key):
        ctx.load_cert_chain(cert, key)
    return ctx


class Client:
    def __init__(self, host: str | None = None, version: str | None = None,
                 tls: tuple[bool, str | None, str | None, str | None] | None = None) -> None:
        self.host = host or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
        self.version = version or os.environ.get("DOCKER_API_VERSION") or API_VERSION
        if tls is None and os.environ.get("DOCKER_TLS_VERIFY"):
            tls = (True, None, None, None)
        try:
            self._tls = tls_context(*tls) if tls is not None else None
        except OSError as exc:  # ssl.SSLError is one
            raise ConnectionFailed(f"could not read the TLS files: {exc}") from None
        self._unix: str | None
        if self.host.startswith("unix://"):
            self._unix = self.host[len("unix://"):]
            self._tcp = None
        elif self.host.startswith("tcp://") or self.host.startswith("http://"):
            self._unix = None
            import urllib.parse
            self._tcp = urllib.parse.urlparse(self.host.replace("tcp://", "http://"))
        else:
            raise ConnectionFailed(f"unsupported host {self.host!r}: use unix:// or tcp://")

    # -- plumbing ---------------------------------------------------------------
    def _socket(self) -> socket.socket:
        """A connected socket to the daemon (TLS-wrapped where asked)."""
        if self._unix is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: Any = self._unix
        else:
            assert self._tcp is not None
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target = (self._tcp.hostname or "localhost",
                      self._tcp.port or (2376 if self._tls else 2375))
        try:
            sock.connect(target)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._tcp.hostname
                                             if self._tcp else None)
        except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
            sock.close()
            raise ConnectionFailed(f"Cannot connect to the Docker daemon at {self.host}. "
                                   f"Is the docker daemon running? ({exc.strerror})") from None
        except OSError as exc:  # TLS failures (ssl.SSLError) among them
            sock.close()
            raise ConnectionFailed(f"error during connect: {self.host}: {exc}") from None
        return sock

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = ""
        if params:
            items: list[tuple[str, str]] = []
            for key, value in params.items():
                if value is None:
                    continue
                if isinstance(value, bool):
                    value = "1" if value else "0"
                if isinstance(value, (list, tuple)):
                    items.extend((key, str(v)) for v in value)
                else:
                    items.append((key, str(value)))
            query = "?" + http.urlencode(items) if items else ""
        return f"/v{self.version}{path}{query}"

    def request(self, method: str, path: str, params: dict[str, Any] | None = None,
                body: Any = None, headers: dict[str, str] | None = None,
                raw_body: bytes | Iterator[bytes] | None = None, check: bool = True) -> Response:
        hdrs = dict(headers or {})
        data: Any = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif raw_body is not None:
            data = raw_body
            hdrs.setdefault("Content-Type", "application/x-tar")
        sock = self._socket()
        try:
            http.send_request(sock, method, self.url(path, params), hdrs, data)
            raw = http.Response(sock, method)
        except (OSError, http.ProtocolError) as exc:
            sock.close()
            raise ConnectionFailed(f"error during connect: {self.host}: {exc}") from None
        resp = Response(raw)
        if check and resp.status >= 400:
            raise APIError.from_response(resp.status, resp.read())
        return resp

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw).json()

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw).json()

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw).json()

    # -- hijacked streams ---------------------------------------------------------
    def hijack(self, path: str, params: dict[str, Any] | None = None,
               body: Any = None) -> tuple[socket.socket, bytes, dict[str, str]]:
        """POST with `Upgrade: tcp`; return the raw socket, the bytes read past the
        response headers, and the headers."""
        sock = self._socket()
        payload = json.dumps(body).encode() if body is not None else b""
        hdrs = {"Connection": "Upgrade", "Upgrade": "tcp"}
        if payload:
            hdrs["Content-Type"] = "application/json"
        http.send_request(sock, "POST", self.url(path, params), hdrs, payload)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        header, _, rest = buf.partition(b"\r\n\r\n")
        try:
            status, headers = http.read_head(io.BytesIO(header + b"\r\n\r\n"))
        except http.ProtocolError as exc:
            sock.close()
            raise ConnectionFailed(f"error during connect: {self.host}: {exc}") from None
        if status >= 400:
            body_bytes = rest
            length = int(headers.get("content-length", "0") or 0)
            while len(body_bytes) < length:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                body_bytes += chunk
            sock.close()
            raise APIError.from_response(status, body_bytes)
        return sock, rest, headers
