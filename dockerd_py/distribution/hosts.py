"""Where a registry name leads: its endpoints (mirrors first for Docker Hub),
whether it is insecure, and the TLS settings that Docker reads from
`certs.d/<host:port>/` (`*.crt` CAs, `*.cert` + `*.key` client pairs).

As in Docker: loopback registries (127.0.0.0/8, ::1) are insecure by default;
an insecure registry is tried over HTTPS without verification, then plain HTTP;
every other registry is HTTPS only.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlparse

from shared import reference as refs

from ..errors import InvalidParameter

DOCKER_HUB_HOST = "registry-1.docker.io"
INDEX_SERVER = "https://index.docker.io/v1/"
DEFAULT_INSECURE_CIDRS = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class Endpoint:
    url: str                 # scheme://host[:port], no trailing slash
    host: str                # the name certs.d and credentials use
    verify_tls: bool = True
    mirror: bool = False

    @property
    def secure_transport(self) -> bool:
        return self.url.startswith("https://")


class RegistryHosts:
    def __init__(self, mirrors: list[str], insecure: list[str], certs_dir: str) -> None:
        self.certs_dir = certs_dir
        self.mirrors = [normalize_mirror(m) for m in mirrors]
        self.insecure_names: set[str] = set()
        self.insecure_cidrs = [ipaddress.ip_network(c) for c in DEFAULT_INSECURE_CIDRS]
        for entry in insecure:
            try:
                self.insecure_cidrs.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if "://" in entry:
                raise InvalidParameter(f"insecure registry {entry} should not contain '://'")
            self.insecure_names.add(entry.rstrip("/"))

    def cidr_strings(self) -> list[str]:
        return [str(c) for c in self.insecure_cidrs]

    def is_insecure(self, host: str) -> bool:
        if host in self.insecure_names:
            return True
        name = host
        if name.startswith("["):
            name = name[1:].split("]", 1)[0]
        elif name.count(":") == 1:
            name = name.split(":", 1)[0]
        try:
            addrs = [ipaddress.ip_address(name)]
        except ValueError:
            try:
                addrs = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in
                         socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)]
            except (OSError, UnicodeError, ValueError):
                addrs = []
        return any(addr in net for addr in addrs for net in self.insecure_cidrs
                   if addr.version == net.version)

    def endpoints(self, domain: str, with_mirrors: bool = True) -> list[Endpoint]:
        """The endpoints to try, in order, for a reference's domain."""
        out: list[Endpoint] = []
        if domain == refs.DEFAULT_DOMAIN:
            if with_mirrors:
                for mirror in self.mirrors:
                    host = urlparse(mirror).netloc
                    out.append(Endpoint(mirror, host, not self.is_insecure(host), mirror=True))
            return out + [Endpoint(f"https://{DOCKER_HUB_HOST}", DOCKER_HUB_HOST)]
        if self.is_insecure(domain):
            return [Endpoint(f"https://{domain}", domain, verify_tls=False),
                    Endpoint(f"http://{domain}", domain, verify_tls=False)]
        return [Endpoint(f"https://{domain}", domain)]

    def ssl_context(self, endpoint: Endpoint) -> ssl.SSLContext | None:
        if not endpoint.secure_transport:
            return None
        return tls_context(os.path.join(self.certs_dir, endpoint.host), endpoint.verify_tls)


def tls_context(host_dir: str, verify: bool) -> ssl.SSLContext:
    """The system CAs plus `*.crt` in the host's directory; a client pair from
    `*.cert`/`*.key` (a cert without its key is an error, as in Docker)."""
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        names = sorted(os.listdir(host_dir))
    except (FileNotFoundError, NotADirectoryError):
        return ctx
    for name in names:
        path = os.path.join(host_dir, name)
        if name.endswith(".crt"):
            ctx.load_verify_locations(cafile=path)
        elif name.endswith(".cert"):
            key = path[:-len(".cert")] + ".key"
            if not os.path.exists(key):
                raise InvalidParameter(f"missing key {os.path.basename(key)} for client "
                                       f"certificate {name}. CA certificates must use the "
                                       "extension .crt")
            ctx.load_cert_chain(path, key)
        elif name.endswith(".key") and not os.path.exists(path[:-len(".key")] + ".cert"):
            raise InvalidParameter(f"missing client certificate {name[:-4]}.cert for key "
                                   f"{name}")
    return ctx


def normalize_mirror(text: str) -> str:
    """Docker's ValidateMirror: an http(s) URL with nothing but a host."""
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidParameter(f"invalid mirror: unsupported scheme {parsed.scheme!r} in "
                               f"{text!r}" if parsed.scheme else
                               f"invalid mirror: no scheme specified for {text!r}: must use "
                               "either 'https://' or 'http://'")
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment or parsed.username:
        raise InvalidParameter(f"invalid mirror: path, query, or credentials are not "
                               f"allowed in {text!r}")
    return f"{parsed.scheme}://{parsed.netloc}"


def auth_server_key(domain: str) -> str:
    """The key credentials are stored under: Docker Hub's index URL, else the host."""
    return INDEX_SERVER if domain == refs.DEFAULT_DOMAIN else domain
