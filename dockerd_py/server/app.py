"""The aiohttp application: every route at its plain and its versioned path."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..daemon.daemon import Daemon
from .middlewares import error_middleware, version_middleware
from .routers import build, containers, distribution, execs, images, networks, session, swarm, system, volumes

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(daemon: Daemon) -> web.Application:
    # Bodies are read by the handlers (streamed or capped with a JSON error),
    # never by aiohttp's own 1 MiB limit that answers in plain text.
    app = web.Application(middlewares=[error_middleware, version_middleware],
                          client_max_size=1 << 62)

    def add(method: str, path: str, handler: Handler) -> None:
        app.router.add_route(method, path, handler)
        app.router.add_route(method, "/v{version:[0-9]+[.][0-9]+}" + path, handler)

    # each router gets the services it talks to, never the daemon's insides
    repo = daemon.containers.repo
    system.setup(add, daemon)
    containers.setup(add, daemon.containers)
    execs.setup(add, daemon.execs, repo)
    pull = distribution.setup(add, daemon.distribution)
    images.setup(add, daemon.images, pull)
    build.setup(add, daemon.builds)
    networks.setup(add, daemon.networks, daemon.endpoints, repo)
    volumes.setup(add, daemon.volumes)
    swarm.setup(add)
    session.setup(add)
    return app
