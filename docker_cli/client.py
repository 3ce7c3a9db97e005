"""A small client for the Engine API over a unix socket (or TCP), with the
hijacked streams of attach and exec. No SDK: the CLI talks to the API only."""
from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import urllib.parse
from typing import Any, Iterator

from shared import jsonstream
from shared.api import API_VERSION, DEFAULT_HOST

from .errors import APIError, ConnectionFailed


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None = None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class Response:
    def __init__(self, raw: http.client.HTTPResponse, conn: http.client.HTTPConnection) -> None:
        self.raw = raw
        self.conn = conn
        self.status = raw.status
        self.headers = raw.headers

    def json(self) -> Any:
        data = self.raw.read()
        self.conn.close()
        return json.loads(data) if data.strip() else None

    def read(self) -> bytes:
        data = self.raw.read()
        self.conn.close()
        return data

    def iter_chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        try:
            while True:
                chunk = self.raw.read1(size) if hasattr(self.raw, "read1") else self.raw.read(size)
                if not chunk:
                    return
                yield chunk
        finally:
            self.conn.close()

    def iter_json(self) -> Iterator[dict]:
        return jsonstream.decode(self.iter_chunks())


def tls_context(verify: bool, ca: str | None, cert: str | None,
                key: str | None) -> ssl.SSLContext:
    """As the Docker CLI: files from --tls* or $DOCKER_CERT_PATH (~/.docker);
    with --tlsverify the daemon's certificate must chain to the CA."""
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
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionFailed(f"could not read the TLS files: {exc}") from None
        if self.host.startswith("unix://"):
            self._unix = self.host[len("unix://"):]
            self._tcp = None
        elif self.host.startswith("tcp://") or self.host.startswith("http://"):
            self._unix = None
            self._tcp = urllib.parse.urlparse(self.host.replace("tcp://", "http://"))
        else:
            raise ConnectionFailed(f"unsupported host {self.host!r}: use unix:// or tcp://")

    # -- plumbing ---------------------------------------------------------------
    def _connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        if self._unix is not None:
            return _UnixConnection(self._unix, timeout=timeout)
        assert self._tcp is not None
        if self._tls is not None:
            return http.client.HTTPSConnection(self._tcp.hostname or "localhost",
                                               self._tcp.port or 2376, timeout=timeout,
                                               context=self._tls)
        return http.client.HTTPConnection(self._tcp.hostname or "localhost",
                                          self._tcp.port or 2375, timeout=timeout)

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = ""
        if params:
            items = []
            for key, value in params.items():
                if value is None:
                    continue
                if isinstance(value, bool):
                    value = "1" if value else "0"
                if isinstance(value, (list, tuple)):
                    items.extend((key, str(v)) for v in value)
                else:
                    items.append((key, str(value)))
            query = "?" + urllib.parse.urlencode(items) if items else ""
        return f"/v{self.version}{path}{query}"

    def request(self, method: str, path: str, params: dict[str, Any] | None = None,
                body: Any = None, headers: dict[str, str] | None = None,
                raw_body: bytes | Iterator[bytes] | None = None, check: bool = True) -> Response:
        conn = self._connection()
        hdrs = dict(headers or {})
        data: Any = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif raw_body is not None:
            data = raw_body
            hdrs.setdefault("Content-Type", "application/x-tar")
        try:
            conn.request(method, self.url(path, params), body=data, headers=hdrs,
                         encode_chunked=raw_body is not None and not isinstance(raw_body, bytes))
            raw = conn.getresponse()
        except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
            conn.close()
            raise ConnectionFailed(f"Cannot connect to the Docker daemon at {self.host}. "
                                   f"Is the docker daemon running? ({exc.strerror})") from None
        except (ssl.SSLError, ConnectionResetError) as exc:
            conn.close()
            raise ConnectionFailed(f"error during connect: {self.host}: {exc}") from None
        resp = Response(raw, conn)
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
        if self._unix is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: Any = self._unix
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            assert self._tcp is not None
            target = (self._tcp.hostname, self._tcp.port or (2376 if self._tls else 2375))
        try:
            sock.connect(target)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._tcp.hostname
                                             if self._tcp else None)
        except OSError as exc:
            sock.close()
            raise ConnectionFailed(f"Cannot connect to the Docker daemon at {self.host}. "
                                   f"Is the docker daemon running? ({exc.strerror})") from None
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"POST {self.url(path, params)} HTTP/1.1\r\nHost: docker\r\n"
                "Connection: Upgrade\r\nUpgrade: tcp\r\n")
        if payload:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        sock.sendall(head.encode() + b"\r\n" + payload)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        header, _, rest = buf.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 500
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
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
