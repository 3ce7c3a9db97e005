"""/networks routes."""
from __future__ import annotations

from aiohttp import web

from ...daemon.daemon import Daemon
from ..http import json_response, query_filters


def setup(add, daemon: Daemon) -> None:  # type: ignore[no-untyped-def]
    svc = daemon.networks

    async def list_(request: web.Request) -> web.Response:
        containers = list(daemon.containers.containers.values())
        return json_response([svc.inspect_doc(n, containers)
                              for n in svc.list(query_filters(request))])

    async def inspect(request: web.Request) -> web.Response:
        net = svc.find(request.match_info["id"])
        assert net is not None
        return json_response(svc.inspect_doc(net, list(daemon.containers.containers.values())))

    add("GET", "/networks", list_)
    add("GET", "/networks/{id}", inspect)
