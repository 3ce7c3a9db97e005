"""Request and response helpers shared by the routers: JSON bodies decoded with
dockerd's checks and messages, query values, JSON responses, streams."""
from __future__ import annotations

import json
from typing import Any, AsyncIterator

from aiohttp import web

from shared.filters import FilterError, Filters

from ..errors import DockerError, InvalidParameter

JSON_BODY_LIMIT = 64 << 20  # Docker has none; we answer 413 with a JSON message past it


class PayloadTooLarge(DockerError):
    """413: a JSON body beyond JSON_BODY_LIMIT."""


API_VERSION_KEY = web.RequestKey("api_version", tuple)


def api_version(request: web.Request) -> tuple[int, ...]:
    return request[API_VERSION_KEY]


def query_bool(request: web.Request, name: str, default: bool = False) -> bool:
    """dockerd's BoolValue: anything but "", "0", "no", "false", "none" is true."""
    value = request.query.get(name)
    if value is None:
        return default
    return value.strip().lower() not in ("", "0", "no", "false", "none")


def query_int(request: web.Request, name: str, default: int) -> int:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidParameter(f"invalid value for {name}: {value!r}") from None


def query_filters(request: web.Request, name: str = "filters") -> Filters:
    try:
        return Filters.from_json(request.query.get(name))
    except FilterError as exc:
        raise InvalidParameter(str(exc)) from None


def json_response(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"
    return web.Response(body=body.encode(), status=status, content_type="application/json")


async def read_body(request: web.Request, limit: int = JSON_BODY_LIMIT) -> bytes:
    chunks = []
    size = 0
    while True:
        chunk = await request.content.read(1 << 16)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def check_json_content_type(request: web.Request, has_body: bool) -> None:
    ctype = request.headers.get("Content-Type", "")
    if not ctype and not has_body:
        return
    mime = ctype.split(";", 1)[0].strip().lower()
    if mime != "application/json":
        raise InvalidParameter(f"unsupported Content-Type header ({ctype}): must be "
                               "'application/json'")


async def read_json(request: web.Request, schema: dict | None = None,
                    type_name: str = "", allow_empty: bool = True) -> Any:
    """Decode a JSON body as dockerd's ReadJSON does; check field types against
    schema (unknown fields are ignored, as Go's decoder ignores them)."""
    raw = await read_body(request)
    check_json_content_type(request, bool(raw))
    if not raw.strip():
        if allow_empty:
            return None
        raise InvalidParameter("invalid JSON: got EOF while reading request body")
    text = raw.decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    try:
        value, end = decoder.raw_decode(text.lstrip())
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.strip()):
            raise InvalidParameter("invalid JSON: unexpected EOF") from None
        raise InvalidParameter(f"invalid JSON: {exc.msg} at offset {exc.pos}") from None
    if text.lstrip()[end:].strip():
        raise InvalidParameter("unexpected content after JSON")
    if schema is not None:
        check_types(value, schema, type_name)
    return value


# -- a small type schema, enough to answer wrong types as dockerd does -----------
STR, INT, BOOL, FLOAT = "string", "int", "bool", "float64"


def _go_type(spec: Any) -> str:
    if isinstance(spec, str):
        return {"int": "int64", "bool": "bool", "string": "string"}.get(spec, spec)
    if isinstance(spec, list):
        return "[]" + _go_type(spec[0])
    if isinstance(spec, tuple) and spec[0] == "map":
        return "map[string]" + _go_type(spec[1])
    if isinstance(spec, dict):
        return "struct"
    return "any"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def check_types(value: Any, spec: Any, path: str) -> None:
    if value is None or spec is None or spec == "any":
        return
    ok = True
    if spec == STR:
        ok = isinstance(value, str)
    elif spec == INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok and isinstance(value, float) and value.is_integer():
            ok = True
    elif spec == FLOAT:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif spec == BOOL:
        ok = isinstance(value, bool)
    elif isinstance(spec, list):
        ok = isinstance(value, list)
        if ok:
            for item in value:
                check_types(item, spec[0], path)
    elif isinstance(spec, tuple) and spec[0] == "map":
        ok = isinstance(value, dict)
        if ok:
            for item in value.values():
                check_types(item, spec[1], path)
    elif isinstance(spec, dict):
        ok = isinstance(value, dict)
        if ok:
            for key, item in value.items():
                if key in spec:
                    check_types(item, spec[key], f"{path}.{key}" if path else key)
    if not ok:
        raise InvalidParameter(f"invalid JSON: json: cannot unmarshal {_json_kind(value)} into "
                               f"Go struct field {path} of type {_go_type(spec)}")


async def json_stream(request: web.Request, messages: AsyncIterator[bytes],
                      content_type: str = "application/json") -> web.StreamResponse:
    """A streaming JSON response whose headers go out at once."""
    resp = web.StreamResponse(headers={"Content-Type": content_type})
    await resp.prepare(request)
    async for message in messages:
        await resp.write(message)
    await resp.write_eof()
    return resp


async def body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """A request body as it arrives (archives are streamed, never held whole)."""
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return
        yield chunk


async def stream_tar(request: web.Request, chunks: AsyncIterator[bytes],
                     headers: dict[str, str] | None = None) -> web.StreamResponse:
    """A tar stream (save, export, archive). Errors before the first byte still
    get a status code; a client that goes away ends the producer."""
    resp = web.StreamResponse(headers={"Content-Type": "application/x-tar", **(headers or {})})
    first = await anext(chunks, None)
    await resp.prepare(request)
    try:
        if first is not None:
            await resp.write(first)
        async for chunk in chunks:
            await resp.write(chunk)
    except ConnectionError:  # the client went away
        await chunks.aclose()  # type: ignore[attr-defined]
    return resp


class LazyJsonStream:
    """A JSON message stream (pull, push) whose headers wait for the first
    message, so that a failure before it is a plain error with its status code,
    as dockerd answers (`docker pull nope` gets a 404, not a 200 stream)."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self._resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        self.started = False

    async def write(self, data: bytes) -> None:
        if not self.started:
            self.started = True
            await self._resp.prepare(self._request)
        await self._resp.write(data)

    async def finish(self) -> web.StreamResponse:
        if not self.started:
            self.started = True
            await self._resp.prepare(self._request)
        try:
            await self._resp.write_eof()
        except ConnectionResetError:  # the client left; nothing more to say
            pass
        return self._resp
