"""Registry routes: pull (`POST /images/create?fromImage=`), push, `/auth`,
`/distribution/{name}/json` and `/images/search`."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ...daemon.distribution import DistributionService
from ...distribution.auth import credentials_from_doc, credentials_from_header
from ...distribution.progress import Progress
from ...errors import DockerError, InvalidParameter
from ..http import LazyJsonStream, json_response, query_filters, query_int, read_json, unless_gone
from ..middlewares import disk_full_text
from ..schemas import AUTH_CONFIG

log = logging.getLogger(__name__)
AUTH_HEADER = "X-Registry-Auth"


async def _progress_stream(request: web.Request,
                           work: Callable[[Progress], Awaitable[None]]) -> web.StreamResponse:
    """Run work with a progress stream; an error before the first message is an
    HTTP error, after it an `errorDetail` message."""
    stream = LazyJsonStream(request)
    progress = Progress(stream.write)
    try:
        # as dockerd's request context: the work ends when its client goes away,
        # even while it waits on a registry with nothing to report
        await unless_gone(request, work(progress))
    except ConnectionResetError:
        log.info("the client went away during a progress stream")
        return await stream.finish()
    except DockerError as exc:
        if not stream.started:
            raise
        await progress.error(exc.message)
    except Exception as exc:  # a full disk, or a bug: the client still learns that it failed
        if not stream.started:
            raise
        full = disk_full_text(exc)
        if full is None:
            log.exception("progress stream failed")
        await progress.error(full or str(exc))
    return await stream.finish()


def setup(add, svc: DistributionService) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:  # type: ignore[no-untyped-def]

    async def pull(request: web.Request) -> web.StreamResponse:
        creds = credentials_from_header(request.headers.get(AUTH_HEADER))
        image = request.query.get("fromImage", "")
        return await _progress_stream(request, lambda p: svc.pull(
            image, request.query.get("tag", ""), request.query.get("platform"), creds, p))

    async def push(request: web.Request) -> web.StreamResponse:
        creds = credentials_from_header(request.headers.get(AUTH_HEADER))
        ref = svc.push_reference(request.match_info["name"], request.query.get("tag"))
        return await _progress_stream(request, lambda p: svc.push(ref, creds, p))

    async def auth(request: web.Request) -> web.Response:
        doc = await read_json(request, AUTH_CONFIG, "AuthConfig")
        if not isinstance(doc, dict):
            raise InvalidParameter("invalid JSON: the body must be an AuthConfig object")
        return json_response(await svc.login(credentials_from_doc(doc)))

    async def distribution(request: web.Request) -> web.Response:
        creds = credentials_from_header(request.headers.get(AUTH_HEADER))
        return json_response(await svc.inspect(request.match_info["name"], creds))

    async def search(request: web.Request) -> web.Response:
        creds = credentials_from_header(request.headers.get(AUTH_HEADER))
        limit = query_int(request, "limit", 25)
        return json_response(await svc.search(request.query.get("term", ""), limit,
                                              query_filters(request), creds))

    add("POST", "/images/{name:.+}/push", push)
    add("POST", "/auth", auth)
    add("GET", "/distribution/{name:.+}/json", distribution)
    add("GET", "/images/search", search)
    return pull
