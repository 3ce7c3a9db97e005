"""/networks routes: HTTP in and out; the rules live in NetworkService and
Endpoints."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ...daemon.containers.record import Container
from ...daemon.containers.repository import ContainerRepository
from ...daemon.networking.endpoints import Endpoints
from ...daemon.networking.networks import NetworkService
from ...errors import InvalidParameter
from ...network.model import Network
from ..http import json_response, query_bool, query_filters, read_json
from ..schemas import NETWORK_CONNECT, NETWORK_CREATE, NETWORK_DISCONNECT


def setup(add, svc: NetworkService, endpoints: Endpoints,  # type: ignore[no-untyped-def]
          containers: ContainerRepository) -> None:

    async def list_(request: web.Request) -> web.Response:
        return json_response([endpoints.inspect_doc(n)
                              for n in svc.list(query_filters(request))])

    async def inspect(request: web.Request) -> web.Response:
        net = svc.get(request.match_info["id"])
        scope = request.query.get("scope")
        if scope and scope != "local":
            raise InvalidParameter(f"network {net.name} not found in scope {scope}")
        return json_response(endpoints.inspect_doc(net, query_bool(request, "verbose")))

    async def create(request: web.Request) -> web.Response:
        body = await read_json(request, NETWORK_CREATE, "NetworkCreateRequest",
                               allow_empty=False)
        if not isinstance(body, dict):
            raise InvalidParameter("invalid JSON: the body must be an object")
        net_id, warning = await svc.create(body)
        return json_response({"Id": net_id, "Warning": warning}, status=201)

    async def remove(request: web.Request) -> web.Response:
        await svc.remove(request.match_info["id"])
        return web.Response(status=204)

    async def on_container(request: web.Request, schema: dict, type_name: str,
                           act: Callable[[Container, Network, dict], Awaitable[None]]
                           ) -> web.Response:
        """connect and disconnect: the body's container, under its lock, saved after."""
        body = await read_json(request, schema, type_name) or {}
        net = svc.get(request.match_info["id"])
        ctr = containers.get(body.get("Container") or "")
        async with ctr.lock:
            await act(ctr, net, body)
            await containers.save(ctr)
        return web.Response(status=200)

    async def connect(request: web.Request) -> web.Response:
        return await on_container(request, NETWORK_CONNECT, "NetworkConnectRequest",
                                  lambda ctr, net, body: endpoints.connect(
                                      ctr, net, body.get("EndpointConfig") or {}))

    async def disconnect(request: web.Request) -> web.Response:
        return await on_container(request, NETWORK_DISCONNECT, "NetworkDisconnectRequest",
                                  lambda ctr, net, body: endpoints.disconnect(
                                      ctr, net, bool(body.get("Force"))))

    async def prune(request: web.Request) -> web.Response:
        return json_response(await svc.prune(query_filters(request)))

    add("GET", "/networks", list_)
    add("GET", "/networks/", list_)  # dockerd routes the list with a trailing slash too
    add("POST", "/networks/create", create)
    add("POST", "/networks/prune", prune)
    add("GET", "/networks/{id}", inspect)
    add("DELETE", "/networks/{id}", remove)
    add("POST", "/networks/{id}/connect", connect)
    add("POST", "/networks/{id}/disconnect", disconnect)
