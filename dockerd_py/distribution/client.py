"""A client for one repository on one registry endpoint (the registry HTTP API
v2), over aiohttp: manifests, blobs, uploads, and the auth challenges."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode, urljoin

import aiohttp

from .auth import Credentials, TokenCache, may_send_credentials, parse_challenges, token_from_response
from .hosts import Endpoint

MAX_MANIFEST = 4 << 20
CHUNK = 1 << 20
USER_AGENT = "docker/28.0.0 (dockerd-py)"
# A registry that stops answering fails a pull after this long without a byte
# (DPY_REGISTRY_TIMEOUT shortens it for tests).
READ_TIMEOUT = float(os.environ.get("DPY_REGISTRY_TIMEOUT", "60"))
TIMEOUT = aiohttp.ClientTimeout(total=None, connect=15, sock_connect=15, sock_read=READ_TIMEOUT)


class RegistryError(Exception):
    """The registry answered with an error (or not at all)."""

    def __init__(self, message: str, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code      # the distribution errcode (MANIFEST_UNKNOWN, DENIED...)

    @property
    def unauthorized(self) -> bool:
        return self.status == 401 or self.code == "UNAUTHORIZED"


class TransportError(RegistryError):
    """The connection failed or broke: another endpoint, or a retry, may do."""


def transport_text(method: str, url: str, exc: BaseException) -> str:
    """Close to Go's net/http wording, which users search for."""
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, ssl.SSLError):
        if "WRONG_VERSION_NUMBER" in str(exc.os_error):
            return f'{method} "{url}": http: server gave HTTP response to HTTPS client'
        return f'{method} "{url}": tls: {exc.os_error.reason or exc.os_error}'.lower()
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error,
                                                                   socket.gaierror):
        return f'{method} "{url}": dial tcp: lookup {exc.host}: no such host'
    if isinstance(exc, aiohttp.ClientConnectorError):
        err = exc.os_error.errno
        reason = (os.strerror(err) if err else str(exc.os_error)).lower()
        return f'{method} "{url}": dial tcp {exc.host}:{exc.port}: connect: {reason}'
    if isinstance(exc, asyncio.TimeoutError):
        return f'{method} "{url}": net/http: timeout awaiting response headers'
    return f'{method} "{url}": {exc}'


def _errcode_text(code: str, message: str) -> str:
    return f"{code.lower().replace('_', ' ')}: {message}" if message else code.lower().replace("_", " ")


async def error_from(resp: aiohttp.ClientResponse, what: str) -> RegistryError:
    try:
        body = await resp.content.read(64 << 10)
    except (TimeoutError, aiohttp.ClientError):
        body = b""
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    if errors and isinstance(errors[0], dict):
        first = errors[0]
        code = str(first.get("code") or "UNKNOWN")
        return RegistryError(_errcode_text(code, str(first.get("message") or "")),
                             resp.status, code)
    if resp.status == 401:
        return RegistryError("unauthorized: authentication required", 401, "UNAUTHORIZED")
    return RegistryError(f"unexpected status from {what} request to {resp.url}: "
                         f"{resp.status} {resp.reason}", resp.status)


def new_session(ssl_context: Any) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(ssl=ssl_context if ssl_context is not None else False,
                                     limit=16)
    return aiohttp.ClientSession(connector=connector, timeout=TIMEOUT,
                                 headers={"User-Agent": USER_AGENT}, auto_decompress=False)


class Repository:
    """Requests against `<endpoint>/v2/<path>/…`, authorised for `actions`
    (`pull`, `pull,push`) on this repository and any extra scopes."""

    def __init__(self, session: aiohttp.ClientSession, endpoint: Endpoint, path: str,
                 creds: Credentials, tokens: TokenCache, actions: str = "pull") -> None:
        self.session = session
        self.endpoint = endpoint
        self.path = path
        self.creds = creds
        self.tokens = tokens
        self.scopes = [f"repository:{path}:{actions}"]
        self._auth: str | None = None

    def url(self, tail: str) -> str:
        return f"{self.endpoint.url}/v2/{self.path}/{tail}"

    # -- transport and auth ------------------------------------------------------
    async def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                      data: Any = None, replayable: bool = True) -> aiohttp.ClientResponse:
        """Send; on a 401 answer the challenge and send once more (when the body
        can be sent again)."""
        for attempt in (0, 1):
            hdrs = dict(headers or {})
            if self._auth:
                hdrs["Authorization"] = self._auth
            try:
                resp = await self.session.request(method, url, headers=hdrs, data=data)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                raise TransportError(transport_text(method.capitalize(), url, exc)) from None
            if resp.status != 401 or attempt or not replayable:
                return resp
            challenges = parse_challenges(resp.headers.getall("WWW-Authenticate", []))
            error = await error_from(resp, method)
            resp.release()
            self._auth = await self._answer(challenges, error)
        raise AssertionError("unreachable")

    async def _answer(self, challenges: list, error: RegistryError) -> str:
        for challenge in challenges:
            if challenge.scheme == "bearer" and challenge.params.get("realm"):
                return "Bearer " + await self._token(challenge.params)
        for challenge in challenges:
            if challenge.scheme == "basic" and self.creds.username:
                return self.creds.basic_header()
        raise error

    async def _token(self, params: dict[str, str]) -> str:
        realm, service = params["realm"], params.get("service", "")
        scope = " ".join(self.scopes)
        key = (realm, service, scope, self.creds.fingerprint)
        cached = self.tokens.get(key)
        if cached:
            return cached
        if self.creds.registry_token:
            return self.creds.registry_token
        send_creds = may_send_credentials(realm, self.endpoint.url) and not self.creds.empty
        query = {"service": service} if service else {}
        if self.creds.identity_token and send_creds:
            form = dict(query, grant_type="refresh_token", client_id="docker",
                        refresh_token=self.creds.identity_token, scope=scope)
            call = self.session.post(realm, data=form)
        else:
            headers = {}
            if send_creds and self.creds.username:
                query["account"] = self.creds.username
                headers["Authorization"] = self.creds.basic_header()
            query_items = list(query.items()) + [("scope", s) for s in self.scopes]
            call = self.session.get(f"{realm}?{urlencode(query_items)}", headers=headers)
        try:
            async with call as resp:
                if resp.status != 200:
                    error = await error_from(resp, "token")
                    text = error.message if error.code else \
                        f"{resp.status} {resp.reason}".lower()
                    raise RegistryError(f"Get \"{realm}\": {text}", 401
                                        if resp.status in (401, 403) else resp.status,
                                        error.code or "UNAUTHORIZED")
                doc = json.loads(await resp.content.read(1 << 20))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransportError(f"Get \"{realm}\": {exc}") from None
        except ValueError as exc:
            raise RegistryError(f"unable to decode token response: {exc}") from None
        try:
            token, seconds = token_from_response(doc)
        except ValueError as exc:
            raise RegistryError(str(exc)) from None
        self.tokens.put(key, token, seconds)
        return token

    async def reachable(self) -> None:
        """GET /v2/ without credentials: raises TransportError when this endpoint
        cannot be spoken to (so the next one, say plain HTTP, is tried first)."""
        try:
            async with self.session.get(f"{self.endpoint.url}/v2/") as resp:
                await resp.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransportError(transport_text("Get", f"{self.endpoint.url}/v2/", exc)) from None

    # -- reads -------------------------------------------------------------------------
    async def manifest(self, reference: str, accept: list[str]) -> tuple[bytes, str]:
        """The manifest's exact bytes and its media type."""
        url = self.url(f"manifests/{reference}")
        resp = await self.request("GET", url, headers={"Accept": ", ".join(accept)})
        async with resp:
            if resp.status != 200:
                raise await error_from(resp, "manifest")
            data = await _read_limited(resp, MAX_MANIFEST, "manifest")
            media = resp.headers.get("Content-Type", "").split(";")[0].strip()
            return data, media

    async def blob_bytes(self, digest: str, limit: int) -> bytes:
        resp = await self.request("GET", self.url(f"blobs/{digest}"))
        async with resp:
            if resp.status != 200:
                raise await error_from(resp, "blob")
            return await _read_limited(resp, limit, "blob")

    async def blob_stream(self, digest: str, offset: int = 0) -> tuple[aiohttp.ClientResponse, int]:
        """An open blob response and the offset it starts at (0 when the registry
        ignored the range)."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        resp = await self.request("GET", self.url(f"blobs/{digest}"), headers=headers)
        if resp.status not in (200, 206):
            error = await error_from(resp, "blob")
            resp.release()
            raise error
        return resp, offset if resp.status == 206 else 0

    async def tags(self) -> list[str]:
        resp = await self.request("GET", self.url("tags/list"))
        async with resp:
            if resp.status != 200:
                raise await error_from(resp, "tags")
            data = await _read_limited(resp, MAX_MANIFEST, "tag list")
        try:
            tags = json.loads(data).get("tags") or []
        except (ValueError, AttributeError):
            raise RegistryError("the registry's tag list is not JSON") from None
        return sorted(t for t in tags if isinstance(t, str))

    async def has_blob(self, digest: str) -> bool:
        resp = await self.request("HEAD", self.url(f"blobs/{digest}"))
        async with resp:
            if resp.status == 200:
                return True
            if resp.status == 404:
                return False
            raise await error_from(resp, "blob")

    # -- writes ------------------------------------------------------------------------
    async def start_upload(self, mount: str | None = None,
                           source: str | None = None) -> str | None:
        """A new upload's location; None when the blob was mounted from `source`."""
        query = f"?{urlencode({'mount': mount, 'from': source})}" if mount and source else ""
        resp = await self.request("POST", self.url("blobs/uploads/") + query)
        async with resp:
            if resp.status == 201 and mount:
                return None
            if resp.status != 202:
                raise await error_from(resp, "upload")
            return self._location(resp)

    async def upload_chunks(self, location: str, body: AsyncIterator[bytes]) -> str:
        """One streamed PATCH; returns the location to continue or finish at."""
        resp = await self.request("PATCH", location, data=body, replayable=False,
                                  headers={"Content-Type": "application/octet-stream"})
        async with resp:
            if resp.status != 202:
                raise await error_from(resp, "upload")
            return self._location(resp)

    async def finish_upload(self, location: str, digest: str, data: bytes = b"") -> None:
        """PUT ?digest= (with the whole blob: a monolithic upload)."""
        sep = "&" if "?" in location else "?"
        resp = await self.request("PUT", f"{location}{sep}{urlencode({'digest': digest})}",
                                  data=data, headers={
                                      "Content-Type": "application/octet-stream"})
        async with resp:
            if resp.status not in (201, 204):
                raise await error_from(resp, "upload")

    async def put_manifest(self, reference: str, media_type: str, data: bytes) -> str:
        resp = await self.request("PUT", self.url(f"manifests/{reference}"), data=data,
                                  headers={"Content-Type": media_type})
        async with resp:
            if resp.status not in (200, 201):
                raise await error_from(resp, "manifest")
            return resp.headers.get("Docker-Content-Digest", "")

    def _location(self, resp: aiohttp.ClientResponse) -> str:
        location = resp.headers.get("Location")
        if not location:
            raise RegistryError("the registry answered an upload without a Location")
        return urljoin(str(resp.url), location)


async def ping(session: aiohttp.ClientSession, endpoint: Endpoint,
               creds: Credentials, tokens: TokenCache) -> None:
    """`GET /v2/` with credentials, as `docker login` checks them."""
    repo = Repository(session, endpoint, "", creds, tokens)
    repo.scopes = []
    url = f"{endpoint.url}/v2/"
    resp = await repo.request("GET", url)
    async with resp:
        if resp.status == 200:
            return
        if resp.status == 401:
            raise RegistryError(f"login attempt to {url} failed with status: 401 Unauthorized",
                                401, "UNAUTHORIZED")
        raise RegistryError(f"login attempt to {url} failed with status: {resp.status} "
                            f"{resp.reason}", resp.status)


async def search_index(repo: Repository, url: str, query: str,
                       limit: int) -> list[dict[str, Any]]:
    """The v1 search API of an index; Docker's text when it has none."""
    resp = await repo.request("GET", f"{url}?{urlencode({'q': query, 'n': limit})}")
    async with resp:
        if resp.status != 200:
            raise RegistryError(f"Unexpected status code {resp.status}", resp.status)
        data = await _read_limited(resp, MAX_MANIFEST, "search result")
    try:
        results = json.loads(data).get("results") or []
    except (ValueError, AttributeError):
        raise RegistryError("the index's search answer is not JSON") from None
    out = []
    for item in results[:limit]:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            out.append({"description": str(item.get("description") or ""),
                        "is_official": bool(item.get("is_official")),
                        "is_automated": bool(item.get("is_automated")),
                        "name": item["name"], "star_count": int(item.get("star_count") or 0)})
    return out


async def _read_limited(resp: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    length = resp.content_length
    if length is not None and length > limit:
        raise RegistryError(f"{what} too big: {length} bytes (limit {limit})")
    chunks, total = [], 0
    try:
        async for chunk in resp.content.iter_chunked(CHUNK):
            total += len(chunk)
            if total > limit:
                raise RegistryError(f"{what} too big: more than {limit} bytes")
            chunks.append(chunk)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise TransportError(f"reading the {what}: {exc}") from None
    return b"".join(chunks)
