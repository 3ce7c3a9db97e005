"""/images routes."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from shared import jsonstream

from ...daemon.images import Images
from ...errors import DockerError, InvalidParameter, NotImplementedByEngine
from ..http import (
    api_version,
    body_chunks,
    json_response,
    query_bool,
    query_filters,
    stream_tar,
)
from ..middlewares import disk_full_text

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup(add, svc: Images, pull: Handler) -> None:  # type: ignore[no-untyped-def]

    async def list_(request: web.Request) -> web.Response:
        filters = query_filters(request)
        if api_version(request) < (1, 25) and request.query.get("filter"):
            filters.add("reference", request.query["filter"])
        return json_response(svc.views.list(query_bool(request, "all"), filters,
                                      api_version(request), query_bool(request, "digests")))

    async def inspect(request: web.Request) -> web.Response:
        return json_response(svc.views.inspect(request.match_info["name"], api_version(request)))

    async def history(request: web.Request) -> web.Response:
        return json_response(svc.views.history(request.match_info["name"]))

    async def remove(request: web.Request) -> web.Response:
        records = await svc.removal.delete(request.match_info["name"], query_bool(request, "force"),
                                   not query_bool(request, "noprune"))
        return json_response(records)

    async def tag(request: web.Request) -> web.Response:
        repo = request.query.get("repo", "")
        if not repo:
            raise InvalidParameter("repository name must have at least one component")
        await svc.catalog.tag(request.match_info["name"], repo, request.query.get("tag"))
        return web.Response(status=201)

    async def create(request: web.Request) -> web.StreamResponse:
        src = request.query.get("fromSrc")
        if src is None:
            if request.query.get("fromImage"):
                return await pull(request)
            raise InvalidParameter("either fromImage or fromSrc is required")
        if src != "-":
            raise NotImplementedByEngine("importing from a URL is not implemented yet; "
                                         "send the archive in the request body (fromSrc=-)")
        changes = request.query.getall("changes", [])
        image = await svc.archives.import_image(body_chunks(request), request.query.get("repo"),
                                       request.query.get("tag"), changes,
                                       request.query.get("message", ""),
                                       request.query.get("platform"), src)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        await resp.write(jsonstream.message(status=image.id))
        return resp

    async def save_one(request: web.Request) -> web.StreamResponse:
        return await stream_tar(request, svc.archives.save_archive([request.match_info["name"]]))

    async def save_many(request: web.Request) -> web.StreamResponse:
        names = request.query.getall("names", [])
        if not names:
            raise InvalidParameter("no image names given")
        return await stream_tar(request, svc.archives.save_archive(names))

    async def load(request: web.Request) -> web.StreamResponse:
        # `quiet` changes nothing: there are no progress bars to leave out (layers are
        # read while the archive arrives)
        # as dockerd: a bad archive is a 200 whose stream ends with the error (the
        # SDK raises ImageLoadError from it)
        try:
            lines, error = await svc.archives.load_archive(body_chunks(request)), None
        except DockerError as exc:
            lines, error = [], exc.message
        except OSError as exc:
            full = disk_full_text(exc)
            if full is None:
                raise
            lines, error = [], full
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        for line in lines:
            await resp.write(jsonstream.message(stream=line + "\n"))
        if error is not None:
            await resp.write(jsonstream.error_message(error))
        return resp

    async def prune(request: web.Request) -> web.Response:
        return json_response(await svc.removal.prune(query_filters(request)))

    add("GET", "/images/json", list_)
    add("GET", "/images/get", save_many)
    add("POST", "/images/load", load)
    add("POST", "/images/prune", prune)
    add("POST", "/images/create", create)
    add("GET", "/images/{name:.+}/json", inspect)
    add("GET", "/images/{name:.+}/get", save_one)
    add("GET", "/images/{name:.+}/history", history)
    add("POST", "/images/{name:.+}/tag", tag)
    add("DELETE", "/images/{name:.+}", remove)
