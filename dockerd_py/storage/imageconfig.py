"""Image configs: their ID (the digest of their bytes) and the checks the
daemon relies on before trusting one (from an archive, a registry or a build)."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from shared import reference as refs

from ..errors import InvalidParameter


def image_id_of(raw_config: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw_config).hexdigest()


def parse_image_config(raw: bytes) -> dict[str, Any]:
    """Validate an image config as much as the daemon relies on it."""
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise InvalidParameter(f"invalid image config: {exc}") from None
    if not isinstance(config, dict):
        raise InvalidParameter("invalid image config: not a JSON object")
    rootfs = config.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise InvalidParameter("invalid image config: rootfs type must be \"layers\"")
    diff_ids = rootfs.get("diff_ids") or []
    if not isinstance(diff_ids, list) or not all(
            isinstance(d, str) and refs.is_digest(d) for d in diff_ids):
        raise InvalidParameter("invalid image config: bad diff_ids")
    inner = config.get("config")
    if inner is not None and not isinstance(inner, dict):
        raise InvalidParameter("invalid image config: config must be an object")
    for key, typ in (("Env", list), ("Cmd", list), ("Entrypoint", list), ("Labels", dict),
                     ("ExposedPorts", dict), ("Volumes", dict), ("User", str),
                     ("WorkingDir", str), ("StopSignal", str)):
        if inner and inner.get(key) is not None and not isinstance(inner[key], typ):
            raise InvalidParameter(f"invalid image config: config.{key} has the wrong type")
    return config
