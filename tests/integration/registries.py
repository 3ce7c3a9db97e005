"""Registries for the tests, all on loopback: Debian's `docker-registry` (plain,
TLS with a CA the test makes, htpasswd Basic auth, token auth), a small token
server of our own, and a proxy that drops connections midway."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import yaml

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Registry:
    root: Path
    port: int = field(default_factory=free_port)
    tls: tuple[str, str] | None = None          # cert, key
    client_ca: str | None = None                # require client certificates
    htpasswd: dict[str, str] | None = None      # user -> password
    log_level: str = "warn"                     # "info" logs each request with its user
    token: dict[str, str] | None = None         # realm, service, issuer, rootcertbundle
    proc: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def storage(self) -> Path:
        return self.root / "data"

    def config(self) -> dict[str, Any]:
        http: dict[str, Any] = {"addr": self.host}
        if self.tls:
            http["tls"] = {"certificate": self.tls[0], "key": self.tls[1]}
            if self.client_ca:
                http["tls"]["clientcas"] = [self.client_ca]
        cfg: dict[str, Any] = {
            "version": 0.1, "log": {"level": self.log_level},
            "storage": {"filesystem": {"rootdirectory": str(self.storage)},
                        "delete": {"enabled": True}},
            "http": http}
        if self.htpasswd:
            import bcrypt
            path = self.root / "htpasswd"
            path.write_text("".join(
                f"{user}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"
                for user, pw in self.htpasswd.items()))
            cfg["auth"] = {"htpasswd": {"realm": "test-realm", "path": str(path)}}
        if self.token:
            cfg["auth"] = {"token": dict(self.token)}
        return cfg

    def start(self) -> Registry:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "config.yml").write_text(yaml.safe_dump(self.config()))
        log = open(self.root / "registry.log", "ab")
        self.proc = subprocess.Popen([REGISTRY, "serve", str(self.root / "config.yml")],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("docker-registry exited:\n" + self.log())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start:\n" + self.log())

    def log(self) -> str:
        return (self.root / "registry.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop it and remove its files."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def blob_path(self, digest: str) -> Path:
        hexd = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"

    # -- writing images straight through the API (what no `docker push` makes) ----
    def session(self) -> requests.Session:
        s = requests.Session()
        s.verify = False
        return s

    def put_blob(self, repo: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        s = self.session()
        r = s.post(f"{self.url}/v2/{repo}/blobs/uploads/")
        r.raise_for_status()
        location = urllib.parse.urljoin(self.url, r.headers["Location"])
        sep = "&" if "?" in location else "?"
        r = s.put(f"{location}{sep}digest={digest}", data=data,
                  headers={"Content-Type": "application/octet-stream"})
        r.raise_for_status()
        return digest

    def put_manifest(self, repo: str, ref: str, doc: dict[str, Any], media: str) -> str:
        data = json.dumps(doc).encode()
        r = self.session().put(f"{self.url}/v2/{repo}/manifests/{ref}", data=data,
                               headers={"Content-Type": media})
        r.raise_for_status()
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def manifest(self, repo: str, ref: str) -> dict[str, Any]:
        r = self.session().get(f"{self.url}/v2/{repo}/manifests/{ref}", headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                      "application/vnd.oci.image.manifest.v1+json"})
        r.raise_for_status()
        return r.json()


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image_config(diff_ids: list[str], arch: str = "amd64", cmd: list[str] | None = None) -> bytes:
    return json.dumps({
        "architecture": arch, "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": cmd or ["sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()


# -- the token server ------------------------------------------------------------------
class TokenServer:
    """Answers GET /token?service=&scope= with a JWT the registry trusts (signed
    with a trustme leaf key, the chain in `x5c`), for users it knows."""

    def __init__(self, root: Path, users: dict[str, str], service: str = "test-registry",
                 issuer: str = "test-issuer") -> None:
        import trustme
        self.users, self.service, self.issuer = users, service, issuer
        self.requests: list[dict[str, Any]] = []
        ca = trustme.CA()
        self.leaf = ca.issue_cert("token-signer")
        root.mkdir(parents=True, exist_ok=True)
        self.bundle = root / "token-root.pem"
        self.bundle.write_bytes(ca.cert_pem.bytes() + self.leaf.cert_chain_pems[0].bytes())
        self.port = free_port()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def registry_auth(self) -> dict[str, str]:
        return {"realm": self.realm, "service": self.service, "issuer": self.issuer,
                "rootcertbundle": str(self.bundle)}

    def start(self) -> TokenServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.bundle.parent, ignore_errors=True)

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        import jwt
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key
        query = urllib.parse.parse_qs(urllib.parse.urlparse(req.path).query)
        header = req.headers.get("Authorization", "")
        user = ""
        if header.startswith("Basic "):
            name, _, pw = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(name) != pw:
                self.requests.append({"user": name, "ok": False})
                body = b'{"details":"incorrect username or password"}'
                req.send_response(401)
                req.send_header("Content-Length", str(len(body)))
                req.end_headers()
                req.wfile.write(body)
                return
            user = name
        self.requests.append({"user": user, "ok": True, "scope": query.get("scope", [])})
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            allowed = actions.split(",") if user else [a for a in actions.split(",")
                                                        if a == "pull"]
            access.append({"type": kind, "name": name, "actions": allowed})
        now = int(time.time())
        cert = x509.load_pem_x509_certificate(self.leaf.cert_chain_pems[0].bytes())
        key = self.leaf.private_key_pem.bytes()
        signer = load_pem_private_key(key, None)
        alg = "ES256" if isinstance(signer, ec.EllipticCurvePrivateKey) else "RS256"
        token = jwt.encode({"iss": self.issuer, "sub": user, "aud": self.service,
                            "exp": now + 300, "nbf": now - 10, "iat": now,
                            "jti": os.urandom(8).hex(), "access": access},
                           key, algorithm=alg,
                           headers={"x5c": [base64.b64encode(cert.public_bytes(
                               Encoding.DER)).decode()]})
        body = json.dumps({"token": token, "expires_in": 300}).encode()
        req.send_response(200)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)


# -- a proxy that breaks blob downloads --------------------------------------------------
class DroppingProxy:
    """Forwards one request per connection to upstream; the first `drops` blob
    downloads are cut after `cut` bytes of their body."""

    def __init__(self, upstream_port: int, drops: int, cut: int = 200_000) -> None:
        self.upstream_port, self.drops, self.cut = upstream_port, drops, cut
        self.dropped = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> DroppingProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk or not head + chunk or not (head + chunk)[:1].isalpha():
                    return  # not HTTP (a TLS hello): hang up at once
                head += chunk
            top, _, rest = head.partition(b"\r\n\r\n")
            lines = [ln for ln in top.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
            request = b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + rest
            is_blob = lines[0].startswith(b"GET ") and b"/blobs/sha256:" in lines[0]
            cut = self.cut if is_blob and self.dropped < self.drops else None
            with socket.create_connection(("127.0.0.1", self.upstream_port)) as up:
                up.sendall(request)
                body_start = None
                buf = b""
                while True:
                    data = up.recv(65536)
                    if not data:
                        conn.sendall(buf)  # shorter than the cut: passed whole
                        return
                    if cut is not None:
                        buf += data
                        if body_start is None and b"\r\n\r\n" in buf:
                            body_start = buf.index(b"\r\n\r\n") + 4
                        if body_start is not None and len(buf) - body_start >= cut:
                            self.dropped += 1
                            conn.sendall(buf[:body_start + cut])
                            return  # the connection drops midway
                        continue
                    conn.sendall(data)
