"""/_ping, /version, /info, /events."""
from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from shared.api import API_VERSION
from shared.timeutil import parse_timestamp

from ...daemon.daemon import Daemon
from ...daemon.events import EVENT_FILTERS, legacy_fields, matches
from ...errors import InvalidParameter
from ..http import api_version, json_response, query_filters, unless_gone
from ..middlewares import common_headers


def setup(add, daemon: Daemon) -> None:  # type: ignore[no-untyped-def]
    async def ping(request: web.Request) -> web.Response:
        headers = common_headers()
        headers.update({"Builder-Version": "1", "Swarm": "inactive",
                        "Cache-Control": "no-cache, no-store, must-revalidate",
                        "Pragma": "no-cache", "API-Version": API_VERSION})
        if request.method == "HEAD":
            return web.Response(status=200, headers=headers, content_type="text/plain")
        return web.Response(status=200, text="OK", headers=headers)

    async def version(request: web.Request) -> web.Response:
        return json_response(daemon.version())

    async def info(request: web.Request) -> web.Response:
        return json_response(daemon.info())

    async def events(request: web.Request) -> web.StreamResponse:
        filters = query_filters(request)
        filters.validate(EVENT_FILTERS)
        now = time.time()
        try:
            since = parse_timestamp(request.query["since"], now) if request.query.get("since") else None
            until = parse_timestamp(request.query["until"], now) if request.query.get("until") else None
        except ValueError as exc:
            raise InvalidParameter(str(exc)) from None
        legacy = api_version(request) < (1, 52)
        queue = daemon.events.subscribe()
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        try:
            await resp.prepare(request)
            if since is not None:
                for ev in daemon.events.history(int(since * 1e9),
                                                int(until * 1e9) if until else None):
                    if matches(ev, filters):
                        await resp.write(_encode(ev, legacy))
            while True:
                timeout = None
                if until is not None:
                    timeout = until - time.time()
                    if timeout <= 0:
                        break
                try:
                    ev = await unless_gone(request, asyncio.wait_for(queue.get(), timeout))
                except TimeoutError:
                    break
                if until is not None and ev["timeNano"] > until * 1e9:
                    break
                if matches(ev, filters):
                    await resp.write(_encode(ev, legacy))
        except ConnectionError:  # the client went away
            pass
        finally:
            daemon.events.unsubscribe(queue)
        return resp

    async def disk_usage(request: web.Request) -> web.Response:
        kinds = set(request.query.getall("type", [])) or {
            "container", "image", "volume", "build-cache"}
        return json_response(await daemon.disk_usage(kinds, api_version(request)))

    add("GET", "/_ping", ping)
    add("GET", "/system/df", disk_usage)
    add("HEAD", "/_ping", ping)
    add("GET", "/version", version)
    add("GET", "/info", info)
    add("GET", "/events", events)


def _encode(ev: dict, legacy: bool) -> bytes:
    return (json.dumps(legacy_fields(ev) if legacy else ev) + "\n").encode()
