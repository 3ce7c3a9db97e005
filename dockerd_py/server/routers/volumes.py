"""/volumes routes: HTTP in and out; the rules live in VolumeService."""
from __future__ import annotations

from aiohttp import web

from ...apitypes.volume import VOLUME
from ...daemon.volumes import VolumeService
from ...errors import InvalidParameter, NotImplementedByEngine
from ..http import api_version, json_response, query_bool, query_filters, read_json
from ..schemas import VOLUME_CREATE


def setup(add, svc: VolumeService) -> None:  # type: ignore[no-untyped-def]

    async def list_(request: web.Request) -> web.Response:
        return json_response({"Volumes": svc.list(query_filters(request)), "Warnings": []})

    async def create(request: web.Request) -> web.Response:
        body = await read_json(request, VOLUME_CREATE, "VolumeCreateBody") or {}
        if not isinstance(body, dict):
            raise InvalidParameter("invalid JSON: the body must be an object")
        doc = await svc.create(body.get("Name") or None, body.get("Driver") or "local",
                               body.get("DriverOpts"), body.get("Labels"))
        return json_response(VOLUME.marshal(doc), status=201)

    async def inspect(request: web.Request) -> web.Response:
        return json_response(VOLUME.marshal(svc.get(request.match_info["name"])))

    async def update(request: web.Request) -> web.Response:
        svc.get(request.match_info["name"])
        raise NotImplementedByEngine("volume update is only for cluster volumes, which need "
                                     "swarm")

    async def remove(request: web.Request) -> web.Response:
        await svc.remove(request.match_info["name"], query_bool(request, "force"))
        return web.Response(status=204)

    async def prune(request: web.Request) -> web.Response:
        return json_response(await svc.prune(query_filters(request), api_version(request)))

    add("GET", "/volumes", list_)
    add("POST", "/volumes/create", create)
    add("POST", "/volumes/prune", prune)
    add("GET", "/volumes/{name}", inspect)
    add("PUT", "/volumes/{name}", update)
    add("DELETE", "/volumes/{name}", remove)
