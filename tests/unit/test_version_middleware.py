"""The API version check and error mapping, on a bare application."""
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerd_py.errors import Conflict, NoSuchContainer, NotModified
from dockerd_py.server.http import api_version
from dockerd_py.server.middlewares import error_middleware, version_middleware


async def _client() -> TestClient:
    app = web.Application(middlewares=[error_middleware, version_middleware])

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"version": list(api_version(request))})

    async def fail(request: web.Request) -> web.Response:
        kind = request.query["kind"]
        raise {"404": NoSuchContainer("x"), "409": Conflict("clash"),
               "304": NotModified("same"), "500": RuntimeError("bug")}[kind]

    for path, handler in (("/echo", echo), ("/fail", fail)):
        app.router.add_get(path, handler)
        app.router.add_get("/v{version:[0-9]+[.][0-9]+}" + path, handler)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_negotiation():
    client = await _client()
    try:
        assert (await (await client.get("/echo")).json()) == {"version": [1, 44]}
        assert (await (await client.get("/v1.30/echo")).json()) == {"version": [1, 30]}
        resp = await client.get("/v1.99/echo")
        assert resp.status == 400
        assert (await resp.json())["message"].startswith("client version 1.99 is too new")
        resp = await client.get("/v1.12/echo")
        assert resp.status == 400
        assert "Minimum supported API version is 1.24" in (await resp.json())["message"]
        assert (await client.get("/echo")).headers["Api-Version"] == "1.44"
    finally:
        await client.close()


async def test_error_mapping():
    client = await _client()
    try:
        for kind, status in (("404", 404), ("409", 409), ("500", 500)):
            resp = await client.get(f"/fail?kind={kind}")
            assert resp.status == status
            assert "message" in await resp.json()
        resp = await client.get("/fail?kind=304")
        assert resp.status == 304
        resp = await client.get("/nowhere")
        assert resp.status == 404 and (await resp.json()) == {"message": "page not found"}
    finally:
        await client.close()
