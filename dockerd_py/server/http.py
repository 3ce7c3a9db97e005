"""Request and response helpers shared by the routers: JSON bodies decoded with
dockerd's checks and messages, query values, JSON responses, streams."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

from aiohttp import web

from shared.filters import FilterError, Filters

from ..apitypes.model import BOOL, FLOAT, INT, STRING
from ..errors import DockerError, InvalidParameter
from .gojson import syntax_error

log = logging.getLogger(__name__)

T = TypeVar("T")
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
    try:
        value, end = _DECODER.raw_decode(text.lstrip())
    except RecursionError:
        raise InvalidParameter(f"invalid JSON: invalid character '{text.lstrip()[:1]}' "
                               "exceeded max depth") from None
    except json.JSONDecodeError as exc:
        words = syntax_error(text.lstrip()) or f"{exc.msg} at offset {exc.pos}"
        raise InvalidParameter(f"invalid JSON: {words}") from None
    except _NotJson as exc:
        words = syntax_error(text.lstrip()) or f"invalid character in {exc}"
        raise InvalidParameter(f"invalid JSON: {words}") from None
    if text.lstrip()[end:].strip():
        raise InvalidParameter("unexpected content after JSON")
    if schema is not None:
        check_types(value, schema, type_name)
    return value


class BigNumber(float):
    """An integer literal too long for Python's int() (4,300 digits): kept as its
    text, infinite as a number. Go decodes it into no integer field either."""
    literal: str

    def __new__(cls, literal: str) -> BigNumber:
        number = super().__new__(cls, "-inf" if literal.startswith("-") else "inf")
        number.literal = literal
        return number


def _parse_int(literal: str) -> int | float:
    return int(literal) if len(literal) <= 4000 else BigNumber(literal)


class _NotJson(ValueError):
    """NaN and Infinity: Python's decoder takes them, Go's refuses them."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_constant=_refuse_constant)

# -- a small type schema, enough to answer wrong types as dockerd does -----------
STR = STRING  # the checker's spellings of Go's types: one set, in apitypes.model
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


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


def _fold_keys(doc: dict[str, Any], spec: dict[str, Any]) -> None:
    """Go's decoder takes a key in any case for a struct field (an exact match
    first, a later key over an earlier one): the Docker SDK for Python sends
    `CPURealtimeRuntime` for `CpuRealtimeRuntime`. Keys become the field's name."""
    if all(key in spec for key in doc):
        return
    folded = {key.lower(): key for key in spec}
    items = list(doc.items())
    doc.clear()
    for key, item in items:
        doc[key if key in spec else folded.get(key.lower(), key)] = item


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
        if isinstance(value, BigNumber) or (ok and not INT64_MIN <= value <= INT64_MAX):
            # Go's words for a number no int64 holds: the literal is named
            literal = value.literal if isinstance(value, BigNumber) else str(int(value))
            raise InvalidParameter(f"invalid JSON: json: cannot unmarshal number {literal} "
                                   f"into Go struct field {path} of type int64")
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
            _fold_keys(value, spec)
            for key, item in value.items():
                if key in spec:
                    check_types(item, spec[key], f"{path}.{key}" if path else key)
    if not ok:
        raise InvalidParameter(f"invalid JSON: json: cannot unmarshal {_json_kind(value)} into "
                               f"Go struct field {path} of type {_go_type(spec)}")


# -- clients that go away -------------------------------------------------------------
GONE_CHECK_EVERY = 0.2  # seconds between looks at a quiet stream's connection


def client_gone(request: web.Request) -> bool:
    """The client closed its connection (aiohttp drops the transport then)."""
    transport = request.transport
    return transport is None or transport.is_closing()


async def until_gone(request: web.Request) -> None:
    while not client_gone(request):
        await asyncio.sleep(GONE_CHECK_EVERY)


async def unless_gone(request: web.Request, awaitable: Awaitable[T]) -> T:
    """The awaitable's result, or ConnectionResetError as soon as the client is
    gone (the awaitable is then cancelled): a stream that waits for something
    (an event, an exit) ends with its client, not with the thing it waits for."""
    task = asyncio.ensure_future(awaitable)
    watch = asyncio.ensure_future(until_gone(request))
    try:
        await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        if not task.done():
            task.cancel()
    if not task.done() or task.cancelled():
        raise ConnectionResetError("the client went away")
    return task.result()


async def send_chunks(request: web.Request, resp: web.StreamResponse,
                      chunks: AsyncIterator[bytes]) -> None:
    """Write a stream's chunks until it ends or its client goes away; an empty
    chunk is the producer waiting for more (a log follower caught up): the
    moment to look whether anyone still reads. The producer is closed either way."""
    try:
        async for chunk in chunks:
            if chunk:
                await resp.write(chunk)
            elif client_gone(request):
                break
    except ConnectionError:  # the client went away mid-write
        pass
    except Exception:
        # the status line is long gone: a second response written into the body
        # would corrupt it, so the connection is cut and the client sees the
        # stream end unfinished
        log.exception("%s %s: the stream failed after its headers went out",
                      request.method, request.path)
        if request.transport is not None:
            request.transport.close()
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


async def json_stream(request: web.Request, messages: AsyncIterator[bytes],
                      content_type: str = "application/json") -> web.StreamResponse:
    """A streaming JSON response whose headers go out at once."""
    resp = web.StreamResponse(headers={"Content-Type": content_type})
    await resp.prepare(request)
    await send_chunks(request, resp, messages)
    if not client_gone(request):
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
    try:
        first = await anext(chunks, None)
    except BaseException:
        await chunks.aclose()  # type: ignore[attr-defined]
        raise
    await resp.prepare(request)
    try:
        if first:
            await resp.write(first)
    except ConnectionError:
        await chunks.aclose()  # type: ignore[attr-defined]
        return resp
    await send_chunks(request, resp, chunks)
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
