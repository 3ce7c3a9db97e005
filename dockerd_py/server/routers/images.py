"""/images routes."""
from __future__ import annotations

from typing import AsyncIterator

from aiohttp import web

from shared import jsonstream

from ...daemon.daemon import Daemon
from ...errors import InvalidParameter, NotImplementedByEngine
from ..http import api_version, json_response, query_bool, query_filters


async def body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return
        yield chunk


def setup(add, daemon: Daemon) -> None:  # type: ignore[no-untyped-def]
    svc = daemon.images

    async def list_(request: web.Request) -> web.Response:
        filters = query_filters(request)
        if api_version(request) < (1, 25) and request.query.get("filter"):
            filters.add("reference", request.query["filter"])
        return json_response(svc.list(query_bool(request, "all"), filters,
                                      api_version(request), query_bool(request, "digests")))

    async def inspect(request: web.Request) -> web.Response:
        return json_response(svc.inspect(request.match_info["name"], api_version(request)))

    async def history(request: web.Request) -> web.Response:
        return json_response(svc.history(request.match_info["name"]))

    async def remove(request: web.Request) -> web.Response:
        records = await svc.delete(request.match_info["name"], query_bool(request, "force"),
                                   not query_bool(request, "noprune"))
        return json_response(records)

    async def tag(request: web.Request) -> web.Response:
        repo = request.query.get("repo", "")
        if not repo:
            raise InvalidParameter("repository name must have at least one component")
        await svc.tag(request.match_info["name"], repo, request.query.get("tag"))
        return web.Response(status=201)

    async def create(request: web.Request) -> web.StreamResponse:
        src = request.query.get("fromSrc")
        if src is None:
            if request.query.get("fromImage"):
                raise NotImplementedByEngine("pulling images from a registry is not "
                                             "implemented yet")
            raise InvalidParameter("either fromImage or fromSrc is required")
        if src != "-":
            raise NotImplementedByEngine("importing from a URL is not implemented yet; "
                                         "send the archive in the request body (fromSrc=-)")
        changes = request.query.getall("changes", [])
        image = await svc.import_image(body_chunks(request), request.query.get("repo"),
                                       request.query.get("tag"), changes,
                                       request.query.get("message", ""),
                                       request.query.get("platform"), src)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        await resp.write(jsonstream.message(status=image.id))
        return resp

    add("GET", "/images/json", list_)
    add("POST", "/images/create", create)
    add("GET", "/images/{name:.+}/json", inspect)
    add("GET", "/images/{name:.+}/history", history)
    add("POST", "/images/{name:.+}/tag", tag)
    add("DELETE", "/images/{name:.+}", remove)
