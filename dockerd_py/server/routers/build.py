"""POST /build: the classic builder, its query parameters and its stream."""
from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from aiohttp import web

from shared import jsonstream

from ...builder.backend import RunOptions
from ...builder.step import BuildError, BuildOptions
from ...daemon.builds import BuildRequest, BuildService
from ...daemon.images.shapes import parse_platform
from ...distribution.auth import Credentials, credentials_from_doc
from ...errors import DockerError, InvalidParameter
from ..http import LazyJsonStream, body_chunks, json_response, query_bool, query_filters, query_int, unless_gone

log = logging.getLogger(__name__)


def _json_param(request: web.Request, name: str, kind: type) -> Any:
    text = request.query.get(name)
    if not text:
        return kind()
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidParameter(f"invalid {name} value: {exc}") from None
    if value is None:  # Go's client sends an empty map or list as `null`
        return kind()
    if not isinstance(value, kind):
        raise InvalidParameter(f"invalid {name} value: expected a JSON "
                               f"{'object' if kind is dict else 'array'}")
    return value


def _registry_config(header: str | None) -> dict[str, Credentials]:
    """X-Registry-Config: base64 JSON of registry -> AuthConfig (for FROM pulls)."""
    if not header:
        return {}
    try:
        doc = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(doc, dict):
        return {}
    out = {}
    for key, value in doc.items():
        host = key.split("://", 1)[-1].rstrip("/")
        out[host if "index.docker.io" not in key else "docker.io"] = credentials_from_doc(value)
    return out


def build_request(request: web.Request) -> BuildRequest:
    q = request.query
    if query_bool(request, "squash"):
        raise InvalidParameter("squash is only supported with experimental mode")
    if q.get("version", "1") not in ("", "1"):
        raise InvalidParameter("BuildKit is not supported by dockerd-py: use the classic "
                               "builder (version=1, DOCKER_BUILDKIT=0)")
    build_args = _json_param(request, "buildargs", dict)
    labels = _json_param(request, "labels", dict)
    resources: dict[str, Any] = {}
    for param, key in (("memory", "Memory"), ("memswap", "MemorySwap"),
                       ("cpushares", "CpuShares"), ("cpuperiod", "CpuPeriod"),
                       ("cpuquota", "CpuQuota"), ("shmsize", "ShmSize")):
        if q.get(param):
            resources[key] = query_int(request, param, 0)
    if q.get("cpusetcpus"):
        resources["CpusetCpus"] = q["cpusetcpus"]
    if q.get("ulimits"):
        resources["Ulimits"] = _json_param(request, "ulimits", list)
    if q.get("platform"):
        parse_platform(q["platform"])  # an invalid one is refused before the build starts
    extra_hosts = [h for h in q.getall("extrahosts", []) if h]  # every value, as r.Form[...]
    options = BuildOptions(
        tags=q.getall("t", []), build_args={str(k): None if v is None else str(v)
                                            for k, v in build_args.items()},
        target=q.get("target") or None, no_cache=query_bool(request, "nocache"),
        pull=query_bool(request, "pull"), quiet=query_bool(request, "q"),
        labels={str(k): str(v) for k, v in labels.items()},
        remove=query_bool(request, "rm", True), force_remove=query_bool(request, "forcerm"),
        platform=q.get("platform") or None,
        cache_from=[str(x) for x in _json_param(request, "cachefrom", list)],
        run=RunOptions(q.get("networkmode", ""), extra_hosts, resources))
    return BuildRequest(options, q.get("dockerfile") or None, q.get("remote") or None,
                        _registry_config(request.headers.get("X-Registry-Config")))


def setup(add, svc: BuildService) -> None:  # type: ignore[no-untyped-def]

    async def build(request: web.Request) -> web.StreamResponse:
        build_req = build_request(request)
        stream = LazyJsonStream(request)
        try:
            # as dockerd's request context: a build ends when its client goes away
            await unless_gone(request, svc.build(build_req, body_chunks(request), stream.write))
        except ConnectionResetError:
            log.info("the client went away during a build")
        except DockerError as exc:
            if not stream.started:
                raise
            detail: dict[str, Any] = {"message": exc.message}
            if isinstance(exc, BuildError) and exc.code is not None:
                detail = {"code": exc.code, "message": exc.message}
            await stream.write(jsonstream.message(errorDetail=detail, error=exc.message))
        return await stream.finish()

    async def prune(request: web.Request) -> web.Response:
        keep = query_int(request, "keep-storage", 0) or query_int(request, "reserved-space", 0)
        return json_response(await svc.prune(keep, query_filters(request)))

    add("POST", "/build", build)
    add("POST", "/build/prune", prune)
