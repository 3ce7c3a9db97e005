"""/containers/{id}/exec and /exec/{id}/... routes."""
from __future__ import annotations

import asyncio

from aiohttp import web

from shared import stdcopy

from ...daemon.containers.attach import pump
from ...daemon.containers.repository import ContainerRepository
from ...daemon.execs import ExecService
from ...errors import DockerError, InvalidParameter
from ..hijack import Hijacked
from ..http import json_response, query_int, read_json
from ..middlewares import common_headers
from ..schemas import EXEC_CREATE, EXEC_START
from .containers import stream_content_type


def setup(add, svc: ExecService, containers: ContainerRepository) -> None:  # type: ignore[no-untyped-def]

    async def create(request: web.Request) -> web.Response:
        # dockerd's order: the body (400), the command (400), then the container (404)
        body = await read_json(request, EXEC_CREATE, "ExecConfig")
        if not isinstance(body, dict) or not body.get("Cmd"):
            raise InvalidParameter("No exec command specified")
        ctr = containers.get(request.match_info["id"])
        return json_response({"Id": svc.create(ctr, body)}, status=201)

    async def start(request: web.Request) -> web.StreamResponse:
        # dockerd's order: the body (400), then the exec (404)
        body = await read_json(request, EXEC_START, "ExecStartConfig") or {}
        ex = svc.get(request.match_info["id"])
        if body.get("Detach"):
            await svc.start(ex, want_attach=False)
            return web.Response(status=200)
        # The framing is the start request's, as dockerd decides it: an exec made
        # with a TTY and started with Tty false (the SDK's exec_start) is framed.
        raw = bool(body.get("Tty"))
        if raw and body.get("ConsoleSize") and not ex.console_size:
            ex.console_size = body["ConsoleSize"]
        conn = await Hijacked.start(request, stream_content_type(request, raw),
                                    common_headers())
        try:
            try:
                sock = await svc.start(ex, want_attach=True)
            except DockerError as exc:
                text = (exc.message + "\r\n").encode()
                await conn.write(text if raw else stdcopy.frame(stdcopy.STDOUT, text))
                return conn.response()
            assert sock is not None
            await pump(conn, sock, not raw, ex.stdin, ex.stdout, ex.stderr, ex.detach_keys,
                       close_stdin=True)
            # the client reads the exit code next: have it before the stream ends
            try:
                await asyncio.wait_for(ex.done.wait(), 10)
            except TimeoutError:
                pass
        except ConnectionError:  # the client went away
            pass
        finally:
            conn.close()
        return conn.response()

    async def resize(request: web.Request) -> web.Response:
        svc.resize(svc.get(request.match_info["id"]), query_int(request, "h", 0),
                   query_int(request, "w", 0))
        return web.Response(status=200)

    async def inspect(request: web.Request) -> web.Response:
        return json_response(svc.get(request.match_info["id"]).inspect())

    add("POST", "/containers/{id:.+}/exec", create)
    add("POST", "/exec/{id}/start", start)
    add("POST", "/exec/{id}/resize", resize)
    add("GET", "/exec/{id}/json", inspect)
