"""Images as the daemon keeps them: the config (its digest is the image ID), the
references that name it, the SQL behind both, and Docker's shapes and
platform names."""
from __future__ import annotations

import json
import logging
import platform
from dataclasses import dataclass, field
from typing import Any

from shared import reference as refs
from shared.timeutil import now_rfc3339, parse_rfc3339

from ..errors import InvalidParameter
from ..storage.layers import chain_ids
from .store import Store, dumps, loads

log = logging.getLogger(__name__)


def go_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(machine, machine)


def container_config_shape(cfg: dict[str, Any] | None) -> dict[str, Any]:
    """A container.Config as Docker marshals it: every plain field present,
    the omitempty ones only when set."""
    cfg = dict(cfg or {})
    out: dict[str, Any] = {
        "Hostname": cfg.get("Hostname", ""), "Domainname": cfg.get("Domainname", ""),
        "User": cfg.get("User", ""), "AttachStdin": bool(cfg.get("AttachStdin")),
        "AttachStdout": bool(cfg.get("AttachStdout")),
        "AttachStderr": bool(cfg.get("AttachStderr")),
    }
    if cfg.get("ExposedPorts"):
        out["ExposedPorts"] = cfg["ExposedPorts"]
    out.update({"Tty": bool(cfg.get("Tty")), "OpenStdin": bool(cfg.get("OpenStdin")),
                "StdinOnce": bool(cfg.get("StdinOnce")), "Env": cfg.get("Env"),
                "Cmd": cfg.get("Cmd")})
    if cfg.get("Healthcheck"):
        out["Healthcheck"] = cfg["Healthcheck"]
    if cfg.get("ArgsEscaped"):
        out["ArgsEscaped"] = True
    out.update({"Image": cfg.get("Image", ""), "Volumes": cfg.get("Volumes"),
                "WorkingDir": cfg.get("WorkingDir", ""), "Entrypoint": cfg.get("Entrypoint")})
    if cfg.get("NetworkDisabled"):
        out["NetworkDisabled"] = True
    if cfg.get("MacAddress"):
        out["MacAddress"] = cfg["MacAddress"]
    out.update({"OnBuild": cfg.get("OnBuild"), "Labels": cfg.get("Labels")})
    for key in ("StopSignal", "StopTimeout", "Shell"):
        if cfg.get(key) is not None and cfg.get(key) != "":
            out[key] = cfg[key]
    return out


@dataclass
class Image:
    id: str                      # sha256:<config digest>
    raw_config: bytes
    config: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)  # Parent, LastTagTime

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def top_layer(self) -> str | None:
        chains = chain_ids(self.diff_ids)
        return chains[-1] if chains else None

    @property
    def container_config(self) -> dict[str, Any]:
        return self.config.get("config") or {}

    @property
    def created_ns(self) -> int:
        created = self.config.get("created")
        try:
            return parse_rfc3339(created) if created else 0
        except ValueError:
            return 0

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[1][:12]


class ImageStore:
    """In-memory indexes over the images and refs tables."""

    def __init__(self, db: Store) -> None:
        self.db = db
        self.images: dict[str, Image] = {}
        self.refs: dict[str, str] = {}  # canonical reference -> image id
        self.ref_times: dict[str, str] = {}

    def load(self) -> None:
        def read(conn: Any) -> tuple[list, list]:
            return (conn.execute("SELECT id, config, meta FROM images").fetchall(),
                    conn.execute("SELECT name, image_id FROM refs").fetchall())
        images, references = self.db.run_sync(read)
        for image_id, raw, meta in images:
            try:
                self.images[image_id] = Image(image_id, bytes(raw), json.loads(raw), loads(meta))
            except ValueError:
                log.error("image %s has a corrupt config; skipping it", image_id)
        for name, image_id in references:
            if image_id in self.images:
                self.refs[name] = image_id

    def references(self, image_id: str) -> list[refs.Reference]:
        return sorted((refs.parse(name) for name, iid in self.refs.items() if iid == image_id),
                      key=lambda r: r.canonical())

    def search(self, prefix: str) -> Image | None:
        """An image by ID or unique ID prefix (with or without `sha256:`)."""
        term = prefix.split(":", 1)[1] if prefix.startswith("sha256:") else prefix
        if not term or not all(c in "0123456789abcdef" for c in term):
            return None
        found = [img for iid, img in self.images.items() if iid[7:].startswith(term)]
        if len(found) > 1:
            raise InvalidParameter(f"ambiguous image ID prefix: {prefix}")  # as digestset
        return found[0] if found else None

    async def add(self, image: Image, tags: list[refs.Reference]) -> None:
        now = now_rfc3339()

        def write(conn: Any) -> None:
            conn.execute("INSERT OR IGNORE INTO images(id, config, meta) VALUES (?,?,?)",
                         (image.id, image.raw_config, dumps(image.meta)))
            for ref in tags:
                conn.execute("INSERT OR REPLACE INTO refs(name, image_id) VALUES (?,?)",
                             (ref.canonical(), image.id))
        await self.db.run(write)
        self.images.setdefault(image.id, image)
        for ref in tags:
            self.refs[ref.canonical()] = image.id
            self.ref_times[image.id] = now
        if tags:
            self.images[image.id].meta["LastTagTime"] = now

    async def remove_ref(self, ref: refs.Reference) -> None:
        name = ref.canonical()
        await self.db.run(lambda c: c.execute("DELETE FROM refs WHERE name=?", (name,)))
        self.refs.pop(name, None)

    async def remove_image(self, image_id: str) -> None:
        await self.db.run(lambda c: c.execute("DELETE FROM images WHERE id=?", (image_id,)))
        self.images.pop(image_id, None)
        for name in [n for n, iid in self.refs.items() if iid == image_id]:
            self.refs.pop(name, None)


def repository_tag(repo: str, tag: str | None) -> refs.Reference:
    """`repo` and `tag` query parameters as one reference; a bad one is a 400."""
    try:
        return refs.parse_repository_tag(repo, tag)
    except refs.ReferenceError as exc:
        raise InvalidParameter(str(exc)) from None


def parse_platform(text: str | None) -> tuple[str, str, str]:
    """`linux/amd64/v8` -> (os, architecture, variant); defaults to this host."""
    if not text:
        return "linux", go_arch(), ""
    parts = text.lower().split("/")
    if len(parts) > 3 or not all(parts):
        raise InvalidParameter(f"invalid platform: {text}")
    os_name = parts[0]
    if os_name != "linux":
        raise InvalidParameter(f"operating system is not supported: {os_name}")
    arch = parts[1] if len(parts) > 1 else go_arch()
    arch = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}.get(arch, arch)
    variant = parts[2] if len(parts) > 2 else ""
    return os_name, arch, variant

