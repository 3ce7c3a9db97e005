"""/networks routes."""
from __future__ import annotations

from aiohttp import web

from ...daemon.containers.repository import ContainerRepository
from ...daemon.networks import NetworkService
from ..http import json_response, query_filters


def setup(add, svc: NetworkService, containers: ContainerRepository) -> None:  # type: ignore[no-untyped-def]

    async def list_(request: web.Request) -> web.Response:
        return json_response([svc.inspect_doc(n, containers.all())
                              for n in svc.list(query_filters(request))])

    async def inspect(request: web.Request) -> web.Response:
        net = svc.find(request.match_info["id"])
        assert net is not None
        return json_response(svc.inspect_doc(net, containers.all()))

    add("GET", "/networks", list_)
    add("GET", "/networks/{id}", inspect)
