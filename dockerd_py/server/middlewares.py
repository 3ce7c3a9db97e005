"""The API version check and the one place where errors become status codes."""
from __future__ import annotations

import errno
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from shared.api import API_VERSION, ENGINE_VERSION, MIN_API_VERSION, version_tuple
from shared.filters import FilterError

from ..errors import (
    Conflict,
    DockerError,
    Forbidden,
    InvalidParameter,
    NotFound,
    NotImplementedByEngine,
    NotModified,
    Unauthorized,
    Unavailable,
    client_input_error,
)
from .http import API_VERSION_KEY, PayloadTooLarge

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The error tree mapped to status codes: the only such table.
STATUS_CODES: list[tuple[type[DockerError], int]] = [
    (NotModified, 304), (InvalidParameter, 400), (Unauthorized, 401), (Forbidden, 403),
    (NotFound, 404), (Conflict, 409), (PayloadTooLarge, 413),
    (NotImplementedByEngine, 501), (Unavailable, 503), (DockerError, 500)]

MAX = version_tuple(API_VERSION)
MIN = version_tuple(MIN_API_VERSION)


def common_headers() -> dict[str, str]:
    return {"Api-Version": API_VERSION, "Docker-Experimental": "false", "Ostype": "linux",
            "Server": f"Docker/{ENGINE_VERSION} (linux)"}


def status_of(exc: DockerError) -> int:
    for cls, status in STATUS_CODES:
        if isinstance(exc, cls):
            return status
    return 500


def error_response(status: int, message: str) -> web.Response:
    if status == 304:
        return web.Response(status=304, headers=common_headers())
    body = json.dumps({"message": message}) + "\n"
    return web.Response(status=status, body=body.encode(), content_type="application/json",
                        headers=common_headers())


@web.middleware
async def version_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    requested = request.match_info.get("version")
    if requested is None:
        request[API_VERSION_KEY] = MAX
    else:
        try:
            version = version_tuple(requested)
        except ValueError:
            raise web.HTTPNotFound() from None
        if version < MIN:
            raise InvalidParameter(f"client version {requested} is too old. Minimum supported "
                                   f"API version is {MIN_API_VERSION}, please upgrade your "
                                   "client to a newer version")
        if version > MAX:
            raise InvalidParameter(f"client version {requested} is too new. Maximum supported "
                                   f"API version is {API_VERSION}")
        request[API_VERSION_KEY] = version
    response = await handler(request)
    if not response.prepared:
        for key, value in common_headers().items():
            response.headers.setdefault(key, value)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DockerError as exc:
        status = status_of(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, exc.message)
        else:
            log.debug("%s %s: %d %s", request.method, request.path, status, exc.message)
        return error_response(status, exc.message)
    except FilterError as exc:  # raised by shared code, which knows no HTTP
        return error_response(400, str(exc))
    except web.HTTPNotFound:
        return error_response(404, "page not found")
    except web.HTTPMethodNotAllowed:
        return error_response(404, "page not found")
    except web.HTTPException as exc:
        return error_response(exc.status, exc.reason or "error")
    except ConnectionError:  # the client went away
        raise
    except Exception as exc:  # a client's value the kernel refused, a full disk, or a bug
        mistake = client_input_error(exc)
        if mistake is not None:
            log.debug("%s %s: 400 %s (%r)", request.method, request.path, mistake.message, exc)
            return error_response(400, mistake.message)
        full = disk_full_text(exc)
        if full is not None:
            log.error("%s %s: %s", request.method, request.path, full)
            return error_response(500, full)
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, f"internal error: {exc}")


def disk_full_text(exc: BaseException) -> str | None:
    """Docker's words for a full disk (`…: no space left on device`)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"write {exc.filename}: no space left on device" if exc.filename \
            else "no space left on device"
    return None
