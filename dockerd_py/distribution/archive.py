"""`docker save` and `docker load` archives.

Save writes what Docker 25+ writes: an OCI image layout (`oci-layout`,
`index.json`, `blobs/sha256/...`) that is also a docker-archive (`manifest.json`,
`repositories`), with uncompressed layers whose digests are their diff IDs.

Load reads that, the older docker-archive layout (`<id>/layer.tar`, `<id>.json`),
and plain OCI layouts (from index.json). It is one pass over the stream: layer
blobs are extracted as they arrive (overlay2 layers do not need their parents
for that), small JSON files are kept, and nothing is registered until every
digest, config and manifest has been checked; a failed load leaves nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from shared import reference as refs

from ..errors import InvalidParameter
from ..storage.imageconfig import parse_image_config
from ..storage.layers import Layer, LayerStore, StagedLayer, chain_ids
from ..storage.tarstream import ArchiveError, TarReader
from ..storage.tarwriter import bytes_entry, end_of_archive, file_info, header, padding

MAX_JSON = 32 << 20  # manifests and configs; a 2 GiB manifest.json is refused, not read
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
_HEX = re.compile(r"^[a-f0-9]{64}$")


# -- save -------------------------------------------------------------------------
@dataclass
class SaveItem:
    image_id: str
    raw_config: bytes
    diff_ids: list[str]
    chains: list[str]
    tags: list[refs.Reference]
    created: float
    parent: str = ""


def _manifest_doc(item: SaveItem, layers: dict[str, Layer]) -> bytes:
    doc = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
           "config": {"mediaType": MEDIA_CONFIG, "digest": item.image_id,
                      "size": len(item.raw_config)},
           "layers": [{"mediaType": MEDIA_LAYER, "digest": diff,
                       "size": layers[chain].tar_size}
                      for diff, chain in zip(item.diff_ids, item.chains, strict=True)]}
    return json.dumps(doc, separators=(",", ":")).encode()


def save(items: list[SaveItem], store: LayerStore) -> Iterator[bytes]:
    """The archive, streamed: layer payloads are regenerated from the layer store."""
    layers = {chain: store.get(chain) for item in items for chain in item.chains}
    if any(layer is None for layer in layers.values()):
        raise ArchiveError("a layer of the image is missing from the store")
    blobs: dict[str, tuple[str, Any, float]] = {}  # hex -> (kind, payload, mtime)
    manifest_json = []
    index_manifests = []
    repositories: dict[str, dict[str, str]] = {}
    for item in items:
        if not item.diff_ids:
            raise ArchiveError("empty export - not implemented")
        for diff, chain in zip(item.diff_ids, item.chains, strict=True):
            blobs.setdefault(diff.split(":")[1], ("layer", chain, item.created))
        blobs[item.image_id.split(":")[1]] = ("bytes", item.raw_config, item.created)
        manifest = _manifest_doc(item, layers)  # type: ignore[arg-type]
        digest = hashlib.sha256(manifest).hexdigest()
        blobs[digest] = ("bytes", manifest, 0)
        descriptor = {"mediaType": MEDIA_MANIFEST, "digest": f"sha256:{digest}",
                      "size": len(manifest)}
        tagged = [r for r in item.tags if r.tag]
        for ref in tagged:
            index_manifests.append(dict(descriptor, annotations={
                ANNOTATION_IMAGE_NAME: ref.canonical(), ANNOTATION_REF_NAME: ref.tag}))
            repositories.setdefault(ref.familiar_name, {})[ref.tag or "latest"] = \
                item.diff_ids[-1].split(":")[1]
        if not tagged:
            index_manifests.append(descriptor)
        entry: dict[str, Any] = {
            "Config": f"blobs/sha256/{item.image_id.split(':')[1]}",
            "RepoTags": [r.familiar() for r in tagged] or None,
            "Layers": [f"blobs/sha256/{d.split(':')[1]}" for d in item.diff_ids]}
        if item.parent:
            entry["Parent"] = item.parent
        manifest_json.append(entry)

    yield header(file_info("blobs/", 0, 0o755, 0, tarfile.DIRTYPE))
    yield header(file_info("blobs/sha256/", 0, 0o755, 0, tarfile.DIRTYPE))
    for hexname in sorted(blobs):
        kind, payload, mtime = blobs[hexname]
        name = f"blobs/sha256/{hexname}"
        if kind == "bytes":
            yield bytes_entry(name, payload, 0o644, mtime)
            continue
        layer = layers[payload]
        assert layer is not None
        yield header(file_info(name, layer.tar_size, 0o644, mtime))
        written = 0
        for chunk in store.tar_stream(layer.chain_id):
            written += len(chunk)
            yield chunk
        if written != layer.tar_size:
            raise ArchiveError(f"layer {layer.diff_id} regenerated to {written} bytes, "
                               f"expected {layer.tar_size}")
        yield padding(layer.tar_size)
    index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": index_manifests}
    yield bytes_entry("index.json", json.dumps(index, separators=(",", ":")).encode())
    yield bytes_entry("manifest.json", (json.dumps(manifest_json, separators=(",", ":"))
                                        + "\n").encode())
    yield bytes_entry("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
    if repositories:
        yield bytes_entry("repositories", (json.dumps(repositories, separators=(",", ":"))
                                           + "\n").encode())
    yield end_of_archive()


# -- load -------------------------------------------------------------------------
@dataclass
class Blob:
    """A file of the archive: kept bytes (JSON) or an extracted layer."""
    sha256: str
    size: int
    data: bytes | None = None
    staged: StagedLayer | None = None
    spooled: str | None = None      # a temporary file (drivers that need parents)


@dataclass
class LoadedImage:
    raw_config: bytes
    config: dict[str, Any]
    layer_blobs: list[str]          # archive names of the layers, bottom first
    tags: list[refs.Reference] = field(default_factory=list)
    parent: str = ""


class _HashingReader:
    """Counts and hashes what the consumer reads from a member's payload."""

    def __init__(self, reader: TarReader) -> None:
        self._reader = reader
        self.sha = hashlib.sha256()
        self.size = 0
        self._head = b""

    def peek(self, n: int) -> bytes:
        while len(self._head) < n:
            chunk = self._reader.read_payload(n - len(self._head))
            if not chunk:
                break
            self._head += chunk
        return self._head[:n]

    def read(self, n: int = -1) -> bytes:
        if n <= 0:
            n = 1 << 20
        if self._head:
            data, self._head = self._head[:n], self._head[n:]
        else:
            data = self._reader.read_payload(n)
        self.sha.update(data)
        self.size += len(data)
        return data

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


def _is_layer(head: bytes) -> bool:
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00" \
            or head[:4] == b"\x28\xb5\x2f\xfd":
        return True
    return len(head) >= 262 and head[257:262] == b"ustar" or head[:1024] == b"\0" * 1024


def _clean_name(name: str) -> str:
    if name.startswith("/") or ".." in name.split("/"):
        raise ArchiveError(f"invalid archive: member {name!r} escapes the archive")
    return "/".join(p for p in name.split("/") if p not in ("", "."))


class Loader:
    """One `docker load`: read, check, then register."""

    def __init__(self, store: LayerStore, spool_dir: str) -> None:
        self.store = store
        self.spool_dir = spool_dir
        self.blobs: dict[str, Blob] = {}
        self.aliases: dict[str, str] = {}
        self._committed: dict[int, str] = {}  # id(blob) -> chain it was committed as

    # -- reading ----------------------------------------------------------------
    def read(self, stream: BinaryIO) -> None:
        reader = TarReader(stream)
        for entry in reader:
            name = _clean_name(entry.name)
            if entry.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                target = entry.linkname
                if entry.type == tarfile.SYMTYPE:
                    target = os.path.normpath(os.path.join(os.path.dirname(name), target))
                self.aliases[name] = _clean_name(target)
                continue
            if not entry.is_reg:
                continue
            self._member(name, _HashingReader(reader), entry.size)

    def _member(self, name: str, payload: _HashingReader, size: int) -> None:
        head = payload.peek(1024)
        base = os.path.basename(name)
        json_like = base.endswith(".json") or base in ("repositories", "oci-layout", "json",
                                                       "VERSION")
        if not json_like and _is_layer(head) and (base == "layer.tar" or name.startswith("blobs/")):
            blob = Blob("", 0)
            if self.store.driver.independent_layers:
                blob.staged = self.store.stage(payload, None)
            else:
                blob.spooled = self._spool(payload)
            payload.drain()
            blob.sha256, blob.size = payload.sha.hexdigest(), payload.size
            self._keep(name, blob)
            return
        if size > MAX_JSON:
            raise ArchiveError(f"invalid archive: {name} is larger than {MAX_JSON >> 20}MiB")
        chunks = []
        while True:
            data = payload.read(1 << 20)
            if not data:
                break
            chunks.append(data)
        data = b"".join(chunks)
        self._keep(name, Blob(payload.sha.hexdigest(), len(data), data=data))

    def _keep(self, name: str, blob: Blob) -> None:
        old = self.blobs.pop(name, None)
        if old is not None:
            self._discard(old)
        self.blobs[name] = blob

    def _spool(self, payload: _HashingReader) -> str:
        fd, path = tempfile.mkstemp(dir=self.spool_dir)
        with os.fdopen(fd, "wb") as f:
            while True:
                data = payload.read(1 << 20)
                if not data:
                    break
                f.write(data)
        return path

    def _discard(self, blob: Blob) -> None:
        if blob.staged is not None:
            self.store.discard(blob.staged)
            blob.staged = None
        if blob.spooled is not None:
            try:
                os.unlink(blob.spooled)
            except FileNotFoundError:
                pass
            blob.spooled = None

    def discard_all(self) -> None:
        for blob in self.blobs.values():
            self._discard(blob)

    # -- interpreting -------------------------------------------------------------
    def _blob(self, name: str) -> Blob:
        name = _clean_name(name)
        for _ in range(16):
            if name in self.blobs:
                return self.blobs[name]
            if name not in self.aliases:
                break
            name = self.aliases[name]
        raise ArchiveError(f"invalid archive: {name} is missing")

    def _json(self, name: str) -> Any:
        blob = self._blob(name)
        if blob.data is None:
            raise ArchiveError(f"invalid archive: {name} is not a JSON document")
        try:
            return json.loads(blob.data)
        except ValueError as exc:
            raise ArchiveError(f"invalid archive: {name} is not valid JSON: {exc}") from None

    def _by_digest(self, digest: Any, what: str) -> tuple[str, Blob]:
        if not isinstance(digest, str) or not refs.is_digest(digest):
            raise ArchiveError(f"invalid {what} digest {digest!r}")
        name = f"blobs/sha256/{digest.split(':')[1]}"
        blob = self._blob(name)
        if blob.sha256 != digest.split(":")[1]:
            raise ArchiveError(f"invalid archive: {name} does not match its digest")
        return name, blob

    def images(self) -> list[LoadedImage]:
        if "manifest.json" in self.blobs:
            return self._docker_manifest()
        if "index.json" in self.blobs:
            return self._oci_index()
        raise ArchiveError("invalid archive: no manifest.json or index.json found")

    def _docker_manifest(self) -> list[LoadedImage]:
        doc = self._json("manifest.json")
        if not isinstance(doc, list):
            raise ArchiveError("invalid archive: manifest.json is not a list")
        out = []
        for item in doc:
            if not isinstance(item, dict) or not isinstance(item.get("Config"), str) \
                    or not isinstance(item.get("Layers"), list) \
                    or not all(isinstance(x, str) for x in item["Layers"]):
                raise ArchiveError("invalid archive: malformed manifest.json entry")
            config_name = _clean_name(item["Config"])
            blob = self._blob(config_name)
            expected = os.path.basename(config_name).removesuffix(".json")
            if _HEX.match(expected) and blob.sha256 != expected:
                raise ArchiveError(f"invalid archive: config {config_name} does not match "
                                   "its digest")
            if blob.data is None:
                raise ArchiveError(f"invalid archive: {config_name} is not a JSON document")
            tags = []
            for tag in item.get("RepoTags") or []:
                try:
                    tags.append(refs.parse_normalized_named(tag))
                except refs.ReferenceError as exc:
                    raise ArchiveError(f"invalid tag {tag!r} in manifest.json: {exc}") from None
            for layer_name in item["Layers"]:
                layer_blob = self._blob(layer_name)
                stem = os.path.basename(_clean_name(layer_name))
                if _HEX.match(stem) and layer_blob.sha256 != stem:
                    raise ArchiveError(f"invalid archive: {layer_name} does not match its digest")
            parent = item.get("Parent") or ""
            if parent and not refs.is_digest(parent):
                parent = ""
            out.append(LoadedImage(blob.data, _config(blob.data), list(item["Layers"]), tags,
                                   parent))
        return out

    def _oci_index(self) -> list[LoadedImage]:
        index = self._json("index.json")
        out: dict[str, LoadedImage] = {}
        for desc in _manifests_of(index):
            _, blob = self._by_digest(desc.get("digest"), "manifest")
            if blob.data is None:
                raise ArchiveError("invalid archive: a manifest is not a JSON document")
            manifest = _parse_json(blob.data, "manifest")
            if "manifests" in manifest:
                if "layers" in manifest or "config" in manifest:
                    raise ArchiveError("invalid archive: a document is both a manifest and "
                                       "an index")
                for inner in _manifests_of(manifest):
                    out.update(self._oci_image(inner, {}))
                continue
            out.update(self._oci_image(desc, manifest))
        return list(out.values())

    def _oci_image(self, desc: dict[str, Any], manifest: dict[str, Any]) -> dict[str, LoadedImage]:
        if not manifest:
            _, blob = self._by_digest(desc.get("digest"), "manifest")
            manifest = _parse_json(blob.data or b"", "manifest")
        if "manifests" in manifest and ("layers" in manifest or "config" in manifest):
            raise ArchiveError("invalid archive: a document is both a manifest and an index")
        config = manifest.get("config")
        layers = manifest.get("layers")
        if not isinstance(config, dict) or not isinstance(layers, list):
            raise ArchiveError("invalid archive: malformed image manifest")
        _, cblob = self._by_digest(config.get("digest"), "config")
        layer_names = [self._by_digest(layer.get("digest") if isinstance(layer, dict) else None,
                                       "layer")[0] for layer in layers]
        tags = []
        annotations = desc.get("annotations") or {}
        name = annotations.get(ANNOTATION_IMAGE_NAME)
        if isinstance(name, str):
            try:
                tags.append(refs.parse_normalized_named(name))
            except refs.ReferenceError:
                pass
        image = LoadedImage(cblob.data or b"", _config(cblob.data or b""), layer_names, tags)
        return {cblob.sha256: image}

    # -- registering -------------------------------------------------------------------
    def check(self, images: list[LoadedImage]) -> None:
        """Every layer's diff ID is the one its config names, before anything is kept."""
        for image in images:
            diff_ids = image.config["rootfs"]["diff_ids"]
            if len(diff_ids) != len(image.layer_blobs):
                raise ArchiveError(f"invalid manifest, layers length mismatch: expected "
                                   f"{len(diff_ids)}, got {len(image.layer_blobs)}")
            for i, name in enumerate(image.layer_blobs):
                blob = self._blob(name)
                got = self._diff_id(blob)
                if got != diff_ids[i]:
                    raise ArchiveError(f"invalid diffID for layer {i}: expected "
                                       f"{diff_ids[i]!r}, got {got!r}")

    def _diff_id(self, blob: Blob) -> str:
        if blob.staged is not None:
            return blob.staged.result.digest
        if blob.spooled is not None:
            with open(blob.spooled, "rb") as f:
                reader = TarReader(f)
                reader.drain()
                return "sha256:" + reader.digest.hexdigest()
        raise ArchiveError("invalid archive: a layer is not a tar stream")

    def register(self, image: LoadedImage) -> str | None:
        """Commit the image's layers (bottom up); returns the top chain ID, holding
        one reference for the image."""
        parent: str | None = None
        taken: list[str] = []
        chains = chain_ids(image.config["rootfs"]["diff_ids"])
        try:
            for name, existing in zip(image.layer_blobs, chains, strict=True):
                blob = self._blob(name)
                if existing in self.store:
                    self.store.acquire(existing)
                    layer_chain = existing
                elif blob.staged is not None and self.store.driver.independent_layers:
                    staged, blob.staged = blob.staged, None
                    layer_chain = self.store.commit(staged, parent).chain_id
                    self._committed[id(blob)] = layer_chain
                else:
                    layer_chain = self._register_again(blob, parent)
                if parent is not None:
                    self.store.release(parent)  # the child holds it now
                    taken.remove(parent)
                taken.append(layer_chain)
                parent = layer_chain
        except BaseException:
            for chain in taken:
                self.store.release(chain)
            raise
        return parent

    def _register_again(self, blob: Blob, parent: str | None) -> str:
        """A layer from its spooled file, or (a blob used at two depths) from the
        copy already committed."""
        if blob.spooled is not None:
            with open(blob.spooled, "rb") as f:
                return self.store.register(f, parent).chain_id
        first = self._committed.get(id(blob))
        if first is None or first not in self.store:
            raise ArchiveError("invalid archive: a layer is not a tar stream")
        fd, path = tempfile.mkstemp(dir=self.spool_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in self.store.tar_stream(first):
                    f.write(chunk)
            with open(path, "rb") as f:
                return self.store.register(f, parent).chain_id
        finally:
            os.unlink(path)


def _parse_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ArchiveError(f"invalid archive: the {what} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ArchiveError(f"invalid archive: the {what} is not a JSON object")
    return doc


def _manifests_of(index: Any) -> list[dict[str, Any]]:
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise ArchiveError("invalid archive: index.json has no manifests")
    out = []
    for desc in index["manifests"]:
        if not isinstance(desc, dict):
            raise ArchiveError("invalid archive: malformed manifest descriptor")
        platform = desc.get("platform") or {}
        if platform and platform.get("os") not in (None, "linux"):
            continue
        out.append(desc)
    return out


def _config(raw: bytes) -> dict[str, Any]:
    try:
        return parse_image_config(raw)
    except InvalidParameter as exc:
        raise ArchiveError(exc.message) from None


def new_spool_dir(root: str) -> str:
    os.makedirs(root, mode=0o700, exist_ok=True)
    return tempfile.mkdtemp(prefix="load-", dir=root)


def remove_spool_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)

