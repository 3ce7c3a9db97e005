"""Docker API routes whose features have not been built yet: each answers 501
with what is missing, never "page not found" (which reads like a client bug).
A route moves out of this table when its router implements it."""
from __future__ import annotations

from aiohttp import web

from ...errors import NotImplementedByEngine

LATER = {
    "BuildKit sessions": [("POST", "/session")],
}


def setup(add) -> None:  # type: ignore[no-untyped-def]
    for feature, routes in LATER.items():
        async def not_yet(request: web.Request, feature: str = feature) -> web.Response:
            raise NotImplementedByEngine(f"{feature} are not implemented in dockerd-py yet")
        for method, path in routes:
            add(method, path, not_yet)
