"""Registry credentials and the two challenges of the distribution spec:
Basic, and Bearer (a token from the `WWW-Authenticate` realm, for a service and
scope, cached until it expires).

Credentials come per request (`X-Registry-Auth`) and are never stored or
logged. They go to the registry itself, or to a token realm over HTTPS (or on
the registry's own host): never in clear text to another host.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

_PARAM_RE = re.compile(r'([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""
    server_address: str = ""

    def __repr__(self) -> str:  # never print secrets
        return f"Credentials(username={self.username!r}, server={self.server_address!r})"

    @property
    def fingerprint(self) -> str:
        """Tells credentials apart in caches without keeping them readable."""
        raw = "\0".join((self.username, self.password, self.identity_token,
                         self.registry_token)).encode()
        return hashlib.sha256(raw).hexdigest()

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def _b64decode(text: str) -> bytes:
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        return base64.b64decode(padded)


def credentials_from_doc(doc: Any) -> Credentials:
    """An AuthConfig JSON object (the /auth body, or X-Registry-Auth decoded)."""
    if not isinstance(doc, dict):
        return Credentials()
    username = str(doc.get("username") or "")
    password = str(doc.get("password") or "")
    if doc.get("auth") and not (username or password):
        try:
            username, _, password = _b64decode(str(doc["auth"])).decode().partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            pass
    return Credentials(username, password, str(doc.get("identitytoken") or ""),
                       str(doc.get("registrytoken") or ""),
                       str(doc.get("serveraddress") or ""))


def credentials_from_header(header: str | None) -> Credentials:
    """X-Registry-Auth: base64url JSON; anything unreadable means anonymous, as
    dockerd treats it."""
    if not header:
        return Credentials()
    try:
        doc = json.loads(_b64decode(header))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return Credentials()
    return credentials_from_doc(doc)


@dataclass(frozen=True)
class Challenge:
    scheme: str                      # "basic" or "bearer"
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(headers: list[str]) -> list[Challenge]:
    out = []
    for header in headers:
        scheme, _, rest = header.strip().partition(" ")
        params = {k.lower(): (quoted.replace('\\"', '"') if quoted is not None and quoted != ""
                              else bare or quoted or "")
                  for k, quoted, bare in _PARAM_RE.findall(rest)}
        out.append(Challenge(scheme.lower(), params))
    return out


def may_send_credentials(realm: str, registry_url: str) -> bool:
    """Over HTTPS, or to the registry's own host."""
    parsed, registry = urlparse(realm), urlparse(registry_url)
    return parsed.scheme == "https" or parsed.hostname == registry.hostname


class TokenCache:
    """Bearer tokens by (realm, service, scope, credentials), dropped a little
    before expiry."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}

    def get(self, key: tuple[str, ...]) -> str | None:
        hit = self._tokens.get(key)
        if hit is None or hit[1] <= time.monotonic():
            self._tokens.pop(key, None)
            return None
        return hit[0]

    def put(self, key: tuple[str, ...], token: str, expires_in: float) -> None:
        self._tokens[key] = (token, time.monotonic() + max(expires_in - 5, 1))


def token_from_response(doc: Any) -> tuple[str, float]:
    """(token, seconds) from a token server's answer; 60 s when it says nothing."""
    if not isinstance(doc, dict):
        raise ValueError("the token server's answer is not a JSON object")
    token = doc.get("token") or doc.get("access_token")
    if not isinstance(token, str) or not token:
        raise ValueError("the token server answered without a token")
    expires = doc.get("expires_in")
    seconds = float(expires) if isinstance(expires, (int, float)) and expires > 0 else 60.0
    return token, seconds
