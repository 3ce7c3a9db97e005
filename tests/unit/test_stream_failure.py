"""A stream that fails after its headers went out is cut, never followed by a
second response inside its body."""
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerd_py.server.http import stream_tar
from dockerd_py.server.middlewares import error_middleware


async def _failing() -> AsyncIterator[bytes]:
    yield b"x" * 512
    yield b"y" * 512
    raise FileNotFoundError(2, "No such file or directory", "self")


async def test_a_failure_mid_stream_cuts_the_connection() -> None:
    app = web.Application(middlewares=[error_middleware])

    async def archive(request: web.Request) -> web.StreamResponse:
        return await stream_tar(request, _failing())

    app.router.add_get("/archive", archive)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        resp = await client.get("/archive")
        assert resp.status == 200
        got = b""
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in resp.content.iter_any():
                got += chunk
        assert got == b"x" * 512 + b"y" * 512  # no "HTTP/1.1 500" written into the body
    finally:
        await client.close()
