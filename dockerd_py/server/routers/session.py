"""POST /session: the connection BuildKit clients upgrade to h2c for a build's
session. There is no BuildKit behind it (builds are the classic builder's), so
the session carries nothing: the handshake is dockerd's, with its refusals,
and the connection is held until its client closes it."""
from __future__ import annotations

from aiohttp import web

from ...errors import InvalidParameter
from ..hijack import Hijacked
from ..middlewares import common_headers

SESSION_ID_HEADER = "X-Docker-Expose-Session-Uuid"


def setup(add) -> None:  # type: ignore[no-untyped-def]
    open_sessions: set[str] = set()

    async def start(request: web.Request) -> web.StreamResponse:
        # BuildKit's session manager, HandleHTTPRequest: its checks and words
        session_id = request.headers.get(SESSION_ID_HEADER, "")
        proto = request.headers.get("Upgrade", "")
        if session_id in open_sessions:
            raise InvalidParameter(f"session {session_id} already exists")
        if not proto:
            raise InvalidParameter("no upgrade proto in request")
        if proto != "h2c":
            raise InvalidParameter(f"protocol {proto} not supported")
        open_sessions.add(session_id)
        conn = await Hijacked.start(request, None, common_headers(), protocol=proto)
        try:
            while await conn.read():  # what the client sends has no reader here
                pass
        finally:
            open_sessions.discard(session_id)
            conn.close()
        return conn.response()

    add("POST", "/session", start)
