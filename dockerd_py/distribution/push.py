"""`docker push`: the layers (gzip-compressed as they stream out of the layer
store), then the config, then a Docker v2 schema 2 manifest under the tag.

A layer the registry already holds is not sent again: what this daemon last
pulled or pushed for a diff ID (its compressed digest, on which registry and
repository) is asked for with HEAD, or mounted from its other repository on the
same registry.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

from ..storage.layers import Layer, LayerStore
from ..streams import iterate_steps
from . import manifests as mf
from .client import RegistryError, Repository
from .progress import Progress, short_id

GZIP_LEVEL = 1   # the registry stores what we send; speed matters more than a few %


@dataclass(frozen=True)
class BlobSource:
    """Where a diff ID's compressed blob is known to live."""
    digest: str
    registry: str
    repository: str
    size: int
    media_type: str = mf.DOCKER_LAYER_GZIP


Known = Callable[[str], Awaitable[list[BlobSource]]]      # diff ID -> sources
Remember = Callable[[str, BlobSource], Awaitable[None]]


@dataclass
class Pushed:
    digest: str
    size: int


class Pusher:
    def __init__(self, repo: Repository, store: LayerStore, progress: Progress,
                 known: Known, remember: Remember, max_uploads: int) -> None:
        self.repo = repo
        self.store = store
        self.progress = progress
        self.known = known
        self.remember = remember
        self.max_uploads = max(1, max_uploads)

    @property
    def registry(self) -> str:
        return self.repo.endpoint.host

    async def push(self, raw_config: bytes, chain: list[Layer], tag: str) -> Pushed:
        for layer in reversed(chain):
            await self.progress.action(short_id(layer.diff_id), "Preparing")
        for layer in list(reversed(chain))[self.max_uploads:]:
            await self.progress.action(short_id(layer.diff_id), "Waiting")
        gate = asyncio.Semaphore(self.max_uploads)
        tasks = [asyncio.create_task(self._layer(gate, layer)) for layer in chain]
        try:
            descriptors = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        config_digest = mf.digest_of(raw_config)
        if not await self.repo.has_blob(config_digest):
            location = await self.repo.start_upload()
            assert location is not None
            await self.repo.finish_upload(location, config_digest, raw_config)
        manifest = {
            "schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST,
            "config": {"mediaType": mf.DOCKER_CONFIG, "size": len(raw_config),
                       "digest": config_digest},
            "layers": [{"mediaType": d.media_type, "size": d.size, "digest": d.digest}
                       for d in descriptors]}
        data = json.dumps(manifest, indent=3).encode()
        await self.repo.put_manifest(tag, mf.DOCKER_MANIFEST, data)
        return Pushed(mf.digest_of(data), len(data))

    async def _layer(self, gate: asyncio.Semaphore, layer: Layer) -> BlobSource:
        ident = short_id(layer.diff_id)
        async with gate:
            for source in await self.known(layer.diff_id):
                if source.registry != self.registry:
                    continue
                if source.repository == self.repo.path:
                    if await self.repo.has_blob(source.digest):
                        await self.progress.action(ident, "Layer already exists")
                        return source
                    continue
                mounted = await self._mount(layer.diff_id, source)
                if mounted is not None:
                    await self.progress.action(ident, f"Mounted from {source.repository}")
                    return mounted
            source = await self._upload(layer, ident)
            await self.progress.action(ident, "Pushed")
            return source

    async def _mount(self, diff_id: str, source: BlobSource) -> BlobSource | None:
        self.repo.scopes.append(f"repository:{source.repository}:pull")
        try:
            location = await self.repo.start_upload(source.digest, source.repository)
        except RegistryError:
            return None
        if location is not None:  # the registry would not mount; a plain upload follows
            return None
        mounted = BlobSource(source.digest, self.registry, self.repo.path, source.size,
                             source.media_type)
        await self.remember(diff_id, mounted)
        return mounted

    async def _upload(self, layer: Layer, ident: str) -> BlobSource:
        location = await self.repo.start_upload()
        assert location is not None
        hasher = hashlib.sha256()
        sent = [0, 0]   # compressed bytes, uncompressed bytes

        async def body() -> AsyncIterator[bytes]:
            async for raw, packed in iterate_steps(lambda: _gzip(self.store, layer), (0, b"")):
                sent[1] += raw
                if packed:
                    hasher.update(packed)
                    sent[0] += len(packed)
                    await self.progress.bytes(ident, "Pushing", sent[1], layer.tar_size)
                    yield packed

        location = await self.repo.upload_chunks(location, body())
        digest = "sha256:" + hasher.hexdigest()
        await self.repo.finish_upload(location, digest)
        source = BlobSource(digest, self.registry, self.repo.path, sent[0])
        await self.remember(layer.diff_id, source)
        return source


def _gzip(store: LayerStore, layer: Layer) -> Iterator[tuple[int, bytes]]:
    """(uncompressed bytes consumed, compressed bytes) pairs of the layer tar."""
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    for chunk in store.tar_stream(layer.chain_id):
        yield len(chunk), packer.compress(chunk)
    yield 0, packer.flush()
