"""Image manifests and indexes as a registry serves them: the media types,
checks on the exact bytes received, and the choice of a platform."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared import reference as refs

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
           "application/vnd.docker.distribution.manifest.v1+prettyjws")
ACCEPT = [DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX]
LAYER_TYPES = {DOCKER_LAYER_GZIP, DOCKER_FOREIGN, "application/vnd.docker.image.rootfs.diff.tar",
               "application/vnd.oci.image.layer.v1.tar",
               "application/vnd.oci.image.layer.v1.tar+gzip",
               "application/vnd.oci.image.layer.v1.tar+zstd",
               "application/vnd.oci.image.layer.nondistributable.v1.tar",
               "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
               "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"}
MAX_LAYERS = 1000   # the most an overlay mount (and dockerd) will stack


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = None
    urls: tuple[str, ...] = ()


@dataclass
class ImageManifest:
    config: Descriptor
    layers: list[Descriptor]


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def schema1_message(ref: refs.Reference) -> str:
    return ("Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has "
            f"been removed. Suggest the author of {ref.canonical()} to upgrade the image to the "
            "OCI Format or Docker Image manifest v2, schema 2. More information at "
            "https://docs.docker.com/go/deprecated-image-specs/")


def _descriptor(doc: Any, what: str) -> Descriptor:
    if not isinstance(doc, dict):
        raise ManifestError(f"invalid manifest: {what} is not an object")
    digest, size, media = doc.get("digest"), doc.get("size"), doc.get("mediaType", "")
    if not isinstance(digest, str) or not refs.is_digest(digest):
        raise ManifestError(f"invalid manifest: {what} has an invalid digest {digest!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"invalid manifest: {what} has an invalid size {size!r}")
    if not isinstance(media, str):
        raise ManifestError(f"invalid manifest: {what} has an invalid mediaType")
    platform = doc.get("platform")
    urls = doc.get("urls") or []
    return Descriptor(media, digest, size, platform if isinstance(platform, dict) else None,
                      tuple(u for u in urls if isinstance(u, str)))


def parse(data: bytes, media_type: str) -> tuple[str, Any]:
    """("index", [descriptors]) or ("image", ImageManifest); raises ManifestError,
    or returns ("schema1", None)."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ManifestError(f"invalid manifest: not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ManifestError("invalid manifest: not a JSON object")
    media = doc.get("mediaType") or media_type
    if media in SCHEMA1 or doc.get("schemaVersion") == 1:
        return "schema1", None
    if "manifests" in doc and ("layers" in doc or "config" in doc):
        raise ManifestError("invalid manifest: a document is both a manifest and an index")
    if media_type and doc.get("mediaType") and media_type in ACCEPT \
            and doc["mediaType"] != media_type:
        raise ManifestError(f"invalid manifest: mediaType {doc['mediaType']!r} does not match "
                            f"Content-Type {media_type!r}")
    if "manifests" in doc or media in (DOCKER_LIST, OCI_INDEX):
        items = doc.get("manifests")
        if not isinstance(items, list):
            raise ManifestError("invalid manifest: manifests is not a list")
        return "index", [_descriptor(d, "a manifest descriptor") for d in items]
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise ManifestError("invalid manifest: layers is not a list")
    if len(layers) > MAX_LAYERS:
        raise ManifestError(f"invalid manifest: {len(layers)} layers is more than "
                            f"{MAX_LAYERS}")
    config = _descriptor(doc.get("config"), "config")
    parsed = [_descriptor(layer, "a layer") for layer in layers]
    for layer in parsed:
        if layer.media_type and layer.media_type not in LAYER_TYPES:
            raise ManifestError(f"unsupported media type {layer.media_type}")
    return "image", ImageManifest(config, parsed)


def choose_platform(descriptors: list[Descriptor], os_name: str, arch: str,
                    variant: str = "") -> Descriptor | None:
    """The first manifest for the platform; a variant is matched when asked for
    (or, for arm64, v8 or none)."""
    def matches(d: Descriptor, want_variant: str) -> bool:
        p = d.platform or {}
        if p.get("os") != os_name or p.get("architecture") != arch:
            return False
        return not want_variant or (p.get("variant") or "") == want_variant
    for want in ([variant] if variant else ([""] if arch != "arm64" else ["v8", ""])):
        for d in descriptors:
            if d.media_type in (DOCKER_MANIFEST, OCI_MANIFEST, "") and matches(d, want):
                return d
    return None
