"""Swarm-mode routes, answered as a dockerd that is not part of a swarm answers;
plugin routes, answered as a dockerd with no plugins installed."""
from __future__ import annotations

from aiohttp import web

from ...errors import NotFound, Unavailable
from ..http import json_response

NOT_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or '
               '"docker swarm join" to connect this node to swarm and try again.')
NOT_IN_SWARM = "This node is not part of a swarm"

MANAGER_ROUTES = [
    ("GET", "/nodes"), ("GET", "/nodes/{id}"), ("DELETE", "/nodes/{id}"),
    ("POST", "/nodes/{id}/update"), ("GET", "/services"), ("POST", "/services/create"),
    ("GET", "/services/{id}"), ("DELETE", "/services/{id}"), ("POST", "/services/{id}/update"),
    ("GET", "/services/{id}/logs"), ("GET", "/tasks"), ("GET", "/tasks/{id}"),
    ("GET", "/tasks/{id}/logs"), ("GET", "/secrets"), ("POST", "/secrets/create"),
    ("GET", "/secrets/{id}"), ("DELETE", "/secrets/{id}"), ("POST", "/secrets/{id}/update"),
    ("GET", "/configs"), ("POST", "/configs/create"), ("GET", "/configs/{id}"),
    ("DELETE", "/configs/{id}"), ("POST", "/configs/{id}/update"),
    ("GET", "/swarm/unlockkey"), ("POST", "/swarm/update"), ("POST", "/swarm/unlock"),
]
SWARM_ROUTES = [("GET", "/swarm"), ("POST", "/swarm/leave")]
UNSUPPORTED = [("POST", "/swarm/init"), ("POST", "/swarm/join")]


def setup(add) -> None:  # type: ignore[no-untyped-def]
    async def not_manager(request: web.Request) -> web.Response:
        raise Unavailable(NOT_MANAGER)

    async def not_in_swarm(request: web.Request) -> web.Response:
        raise Unavailable(NOT_IN_SWARM)

    async def no_swarm_mode(request: web.Request) -> web.Response:
        raise Unavailable("swarm mode is not supported by dockerd-py")

    async def plugins(request: web.Request) -> web.Response:
        return json_response([])

    async def plugin(request: web.Request) -> web.Response:
        name = request.match_info.get("name", "")
        raise NotFound(f"plugin \"{name}\" not found")

    for method, path in MANAGER_ROUTES:
        add(method, path, not_manager)
    for method, path in SWARM_ROUTES:
        add(method, path, not_in_swarm)
    for method, path in UNSUPPORTED:
        add(method, path, no_swarm_mode)
    add("GET", "/plugins", plugins)
    add("GET", "/plugins/privileges", plugins)
    for method, suffix in (("GET", "/json"), ("DELETE", ""), ("POST", "/enable"),
                           ("POST", "/disable"), ("POST", "/upgrade"), ("POST", "/push"),
                           ("POST", "/set")):
        add(method, "/plugins/{name:.+}" + suffix, plugin)
