"""/containers routes: HTTP in and out; the rules live in ContainerService."""
from __future__ import annotations

import asyncio
import base64
import json

from aiohttp import web

from shared.api import MULTIPLEXED_STREAM, RAW_STREAM
from shared.timeutil import parse_timestamp

from ...daemon import detach
from ...daemon.containers.attach import pump
from ...daemon.containers.record import Container
from ...daemon.containers.service import Containers
from ...errors import InvalidParameter
from ..hijack import Hijacked, WebSocketStream
from ..http import (
    api_version,
    body_chunks,
    json_response,
    query_bool,
    query_filters,
    query_int,
    read_body,
    read_json,
    send_chunks,
    stream_tar,
    unless_gone,
)
from ..middlewares import common_headers
from ..schemas import CONTAINER_CONFIG, CREATE_REQUEST, UPDATE_REQUEST


def stream_content_type(request: web.Request, tty: bool) -> str:
    if not tty and api_version(request) >= (1, 42):
        return MULTIPLEXED_STREAM
    return RAW_STREAM


def _tail(request: web.Request) -> int | None:
    value = request.query.get("tail", "all")
    if value in ("", "all"):
        return None
    try:
        count = int(value)
    except ValueError:
        raise InvalidParameter(f"invalid value for \"tail\": \"{value}\"") from None
    return None if count < 0 else count


def _time_param(request: web.Request, name: str) -> float | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise InvalidParameter(f"invalid value for \"{name}\": \"{value}\"") from None


def _path_param(request: web.Request) -> str:
    path = request.query.get("path")
    if not path:
        raise InvalidParameter("path is required")
    return path


def _stat_header(info: dict) -> str:
    return base64.b64encode(json.dumps(info).encode()).decode()


def _json_line(doc: dict) -> bytes:
    return (json.dumps(doc) + "\n").encode()


def _timeout(request: web.Request) -> int | None:
    value = request.query.get("t")
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidParameter(f'invalid value for "t": "{value}"') from None


def setup(add, svc: Containers) -> None:  # type: ignore[no-untyped-def]
    life = svc.lifecycle

    def ctr_of(request: web.Request) -> Container:
        return svc.repo.get(request.match_info["id"])

    async def create(request: web.Request) -> web.Response:
        body = await read_json(request, CREATE_REQUEST, "CreateRequest")
        if body is None:
            raise InvalidParameter("config cannot be empty in order to create a container")
        if not isinstance(body, dict):
            raise InvalidParameter("invalid JSON: json: cannot unmarshal into Go value of type "
                                   "container.CreateRequest")
        version = api_version(request)
        # the platform parameter came with API 1.41; older clients' is ignored
        platform = request.query.get("platform") if version >= (1, 41) else None
        cid, warnings = await svc.creator.create(body, request.query.get("name"), version,
                                                 platform or None)
        return json_response({"Id": cid, "Warnings": warnings}, status=201)

    async def list_(request: web.Request) -> web.Response:
        limit = query_int(request, "limit", -1)
        return json_response(svc.views.list(query_bool(request, "all"), limit,
                                            query_bool(request, "size"), query_filters(request)))

    async def inspect(request: web.Request) -> web.Response:
        ctr = ctr_of(request)
        return json_response(svc.views.inspect(ctr, api_version(request),
                                               query_bool(request, "size")))

    async def start(request: web.Request) -> web.Response:
        ctr = ctr_of(request)
        body = await read_body(request, limit=1 << 20)
        if body.strip() and body.strip() not in (b"{}", b"null"):
            raise InvalidParameter("starting container with non-empty request body was "
                                   "deprecated since API v1.22 and removed in v1.24")
        await life.start(ctr)
        return web.Response(status=204)

    async def stop(request: web.Request) -> web.Response:
        ctr = ctr_of(request)
        await life.stop(ctr, _timeout(request), request.query.get("signal"))
        return web.Response(status=204)

    async def restart(request: web.Request) -> web.Response:
        ctr = ctr_of(request)
        await life.restart(ctr, _timeout(request), request.query.get("signal"))
        return web.Response(status=204)

    async def kill(request: web.Request) -> web.Response:
        await life.kill(ctr_of(request), request.query.get("signal"))
        return web.Response(status=204)

    async def remove(request: web.Request) -> web.Response:
        name = request.match_info["id"]
        if query_bool(request, "link"):
            await svc.updates.remove_link(name)
            return web.Response(status=204)
        ctr = ctr_of(request)
        await life.remove(ctr, force=query_bool(request, "force"), volumes=query_bool(request, "v"))
        return web.Response(status=204)

    async def wait(request: web.Request) -> web.StreamResponse:
        ctr = ctr_of(request)
        future = life.monitor.register_wait(ctr, request.query.get("condition") or "not-running")
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        try:
            await resp.prepare(request)  # headers now; the body when the condition holds
            code, error = await unless_gone(request, asyncio.shield(future))
            doc: dict = {"StatusCode": code}
            if error:
                doc["Error"] = {"Message": error}
            await resp.write((json.dumps(doc) + "\n").encode())
        except ConnectionError:
            pass  # the client stopped waiting (`docker run -it` detached)
        finally:
            life.monitor.cancel_wait(ctr, future)
        return resp

    async def resize(request: web.Request) -> web.Response:
        svc.attacher.resize(ctr_of(request), query_int(request, "h", 0), query_int(request, "w", 0))
        return web.Response(status=200)

    async def logs(request: web.Request) -> web.StreamResponse:
        ctr = ctr_of(request)
        stdout, stderr = query_bool(request, "stdout"), query_bool(request, "stderr")
        chunks = svc.logs.read(
            ctr, stdout, stderr, query_bool(request, "follow"),
            _time_param(request, "since") or 0, _time_param(request, "until"),
            _tail(request), raw=ctr.tty, timestamps=query_bool(request, "timestamps"))
        resp = web.StreamResponse(headers={"Content-Type": stream_content_type(request, ctr.tty)})
        await resp.prepare(request)
        await send_chunks(request, resp, chunks)
        return resp

    async def attach_session(request: web.Request, ctr: Container,
                             conn: Hijacked | WebSocketStream, framed: bool,
                             streams: tuple[bool, bool, bool]) -> None:
        """Replay the log if asked, then copy stdio both ways until one side ends."""
        want_in, want_out, want_err = streams
        try:
            if query_bool(request, "logs"):
                await _replay_logs(conn, svc, ctr, framed, want_out, want_err)
            if query_bool(request, "stream"):
                sock = await svc.attacher.socket(ctr)
                if sock is not None:
                    await pump(conn, sock, framed, want_in and bool(ctr.config.get("OpenStdin")),
                               want_out, want_err, request.query.get("detachKeys"))
        except ConnectionError:
            pass

    def wanted_streams(request: web.Request) -> tuple[bool, bool, bool]:
        return (query_bool(request, "stdin"), query_bool(request, "stdout"),
                query_bool(request, "stderr"))

    async def attach(request: web.Request) -> web.StreamResponse:
        ctr = ctr_of(request)
        detach.parse(request.query.get("detachKeys"))  # a bad value is refused before hijacking
        conn = await Hijacked.start(request, stream_content_type(request, ctr.tty),
                                    common_headers())
        try:
            await attach_session(request, ctr, conn, not ctr.tty, wanted_streams(request))
        finally:
            conn.close()
        return conn.response()

    async def attach_ws(request: web.Request) -> web.StreamResponse:
        """The websocket attach: raw output in binary messages, never multiplexed."""
        ctr = ctr_of(request)
        detach.parse(request.query.get("detachKeys"))
        # before API 1.42 a websocket carried all three streams, whatever was asked
        streams = wanted_streams(request) if api_version(request) >= (1, 42) else (True,) * 3
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        try:
            await attach_session(request, ctr, WebSocketStream(ws), False, streams)
        finally:
            await ws.close()
        return ws

    async def changes(request: web.Request) -> web.Response:
        return json_response(await svc.files.changes(ctr_of(request)))

    async def export(request: web.Request) -> web.StreamResponse:
        return await stream_tar(request, svc.files.export(ctr_of(request)))

    async def pause(request: web.Request) -> web.Response:
        await life.pause(ctr_of(request))
        return web.Response(status=204)

    async def unpause(request: web.Request) -> web.Response:
        await life.unpause(ctr_of(request))
        return web.Response(status=204)

    async def commit(request: web.Request) -> web.Response:
        config = await read_json(request, CONTAINER_CONFIG, "Config")
        if config is not None and not isinstance(config, dict):
            raise InvalidParameter("invalid JSON: the body must be a container config")
        ctr = svc.repo.get(request.query.get("container", ""))
        image_id = await svc.files.commit(
            ctr, request.query.get("repo"), request.query.get("tag"),
            request.query.get("author", ""), request.query.get("comment", ""),
            request.query.getall("changes", []), config, query_bool(request, "pause", True),
            life.pause, life.unpause)
        return json_response({"Id": image_id}, status=201)

    async def archive_head(request: web.Request) -> web.Response:
        ctr = ctr_of(request)
        info = await svc.files.stat_path(ctr, _path_param(request))
        return web.Response(status=200, headers={"X-Docker-Container-Path-Stat": _stat_header(info),
                                                 "Content-Type": "application/x-tar"})

    async def archive_get(request: web.Request) -> web.StreamResponse:
        ctr = ctr_of(request)
        info, chunks = await svc.files.archive_path(ctr, _path_param(request))
        return await stream_tar(request, chunks,
                                {"X-Docker-Container-Path-Stat": _stat_header(info)})

    async def archive_put(request: web.Request) -> web.Response:
        ctr = ctr_of(request)
        await svc.files.extract_to(ctr, _path_param(request), body_chunks(request),
                                   query_bool(request, "copyUIDGID"),
                                   query_bool(request, "noOverwriteDirNonDir"))
        return web.Response(status=200)

    async def top(request: web.Request) -> web.Response:
        return json_response(await svc.stats.top(ctr_of(request), request.query.get("ps_args", "")))

    async def stats(request: web.Request) -> web.StreamResponse:
        ctr = ctr_of(request)
        docs = svc.stats.stream(ctr, query_bool(request, "stream", True),
                                query_bool(request, "one-shot"))
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        try:
            async for doc in docs:
                await resp.write(_json_line(doc))
        except ConnectionError:  # the client went away
            pass
        finally:
            await docs.aclose()
        return resp

    async def rename(request: web.Request) -> web.Response:
        await svc.updates.rename(ctr_of(request), request.query.get("name", ""))
        return web.Response(status=204)

    async def update(request: web.Request) -> web.Response:
        body = await read_json(request, UPDATE_REQUEST, "UpdateConfig") or {}
        if not isinstance(body, dict):
            raise InvalidParameter("invalid JSON: the body must be an object")
        if api_version(request) < (1, 40):
            body.pop("PidsLimit", None)  # as dockerd: older clients' value is ignored
        return json_response({"Warnings": await svc.updates.update(ctr_of(request), body) or None})

    async def prune(request: web.Request) -> web.Response:
        return json_response(await life.prune(query_filters(request)))

    add("POST", "/containers/create", create)
    add("POST", "/containers/prune", prune)
    # {id:.+}: as dockerd's {name:.*}, a container is also named by a link (parent/alias)
    add("GET", "/containers/{id:.+}/top", top)
    add("GET", "/containers/{id:.+}/stats", stats)
    add("POST", "/containers/{id:.+}/rename", rename)
    add("POST", "/containers/{id:.+}/update", update)
    add("HEAD", "/containers/{id:.+}/archive", archive_head)
    add("GET", "/containers/{id:.+}/archive", archive_get)
    add("PUT", "/containers/{id:.+}/archive", archive_put)
    add("POST", "/commit", commit)
    add("GET", "/containers/{id:.+}/changes", changes)
    add("GET", "/containers/{id:.+}/export", export)
    add("POST", "/containers/{id:.+}/pause", pause)
    add("POST", "/containers/{id:.+}/unpause", unpause)
    add("GET", "/containers/json", list_)
    add("GET", "/containers/{id:.+}/json", inspect)
    add("POST", "/containers/{id:.+}/start", start)
    add("POST", "/containers/{id:.+}/stop", stop)
    add("POST", "/containers/{id:.+}/restart", restart)
    add("POST", "/containers/{id:.+}/kill", kill)
    add("POST", "/containers/{id:.+}/wait", wait)
    add("POST", "/containers/{id:.+}/resize", resize)
    add("POST", "/containers/{id:.+}/attach", attach)
    add("GET", "/containers/{id:.+}/attach/ws", attach_ws)
    add("GET", "/containers/{id:.+}/logs", logs)
    add("DELETE", "/containers/{id:.+}", remove)


async def _replay_logs(conn: Hijacked | WebSocketStream, svc: Containers, ctr: Container,
                       framed: bool, stdout: bool, stderr: bool) -> None:
    if not (stdout or stderr):
        return
    async for chunk in svc.logs.read(ctr, stdout, stderr, False, 0, None, None,
                                     raw=not framed, timestamps=False):
        await conn.write(chunk)
