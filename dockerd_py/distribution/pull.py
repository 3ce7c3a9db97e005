"""`docker pull` over the registry API v2.

The manifest (an index resolves to the host's platform) and the config come
first; layers the store already has are skipped; the rest download at most
`max-concurrent-downloads` at a time. Each blob is hashed as it streams and,
with a driver whose layers do not need their parents (overlay2), extracted as
it arrives; other drivers spool it to a file. A dropped connection is resumed
with a Range request (or the repeated bytes skipped) up to five times. Layers
are committed bottom up only when every byte matched its digest and every
diff ID its config, so a failed pull leaves nothing behind.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import aiohttp

from shared import reference as refs

from ..crashpoints import crashpoint
from ..errors import InvalidParameter
from ..storage.imageconfig import parse_image_config
from ..storage.layers import LayerStore, StagedLayer, chain_ids
from ..storage.tarstream import ArchiveError
from ..streams import feed_blocking
from . import manifests as mf
from .archive import MAX_JSON
from .client import CHUNK, RegistryError, Repository, TransportError
from .progress import Progress, short_id

log = logging.getLogger(__name__)


@dataclass
class Platform:
    os: str
    arch: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.arch, self.variant) if p)


@dataclass
class _Fetched:
    staged: StagedLayer | None = None
    spooled: str | None = None


class Puller:
    """One image from one endpoint's repository."""

    def __init__(self, repo: Repository, store: LayerStore, progress: Progress,
                 max_downloads: int, spool_dir: str, attempts: int = 5,
                 retry_delay: float = 1.0) -> None:
        self.repo = repo
        self.store = store
        self.progress = progress
        self.max_downloads = max(1, max_downloads)
        self.spool_dir = spool_dir
        self.retry_delay = retry_delay
        self.attempts = attempts

    async def resolve(self, ref: refs.Reference, platform: Platform) -> tuple[str, mf.ImageManifest]:
        """The manifest digest to record and the image manifest for the platform."""
        wanted = ref.digest or ref.tag or refs.DEFAULT_TAG
        data, media = await self.repo.manifest(wanted, mf.ACCEPT)
        digest = mf.digest_of(data)
        if ref.digest and digest != ref.digest:
            raise RegistryError(f"manifest verification failed for digest {ref.digest}")
        kind, doc = self._parse(data, media, ref)
        if kind == "index":
            chosen = mf.choose_platform(doc, platform.os, platform.arch, platform.variant)
            if chosen is None:
                raise RegistryError(f"no matching manifest for {platform} in the manifest "
                                    "list entries", 404, "MANIFEST_UNKNOWN_PLATFORM")
            inner, inner_media = await self.repo.manifest(chosen.digest, mf.ACCEPT)
            if mf.digest_of(inner) != chosen.digest:
                raise RegistryError(f"manifest verification failed for digest {chosen.digest}")
            kind, doc = self._parse(inner, inner_media, ref)
            if kind != "image":
                raise RegistryError("invalid manifest: an index inside an index")
        return digest, doc

    @staticmethod
    def _parse(data: bytes, media: str, ref: refs.Reference) -> tuple[str, Any]:
        try:
            kind, doc = mf.parse(data, media)
        except mf.ManifestError as exc:
            raise RegistryError(str(exc)) from None
        if kind == "schema1":
            raise InvalidParameter(mf.schema1_message(ref))
        return kind, doc

    async def config(self, manifest: mf.ImageManifest) -> tuple[bytes, dict[str, Any]]:
        desc = manifest.config
        raw = await self.repo.blob_bytes(desc.digest, MAX_JSON)
        if mf.digest_of(raw) != desc.digest:
            raise RegistryError(f"image config verification failed for digest {desc.digest}")
        try:
            config = parse_image_config(raw)
        except InvalidParameter as exc:
            raise RegistryError(f"invalid image config: {exc.message}") from None
        diff_ids = config["rootfs"]["diff_ids"]
        if len(diff_ids) != len(manifest.layers):
            raise RegistryError(f"invalid manifest, layers length mismatch: expected "
                                f"{len(diff_ids)}, got {len(manifest.layers)}")
        return raw, config

    async def layers(self, manifest: mf.ImageManifest, diff_ids: list[str]) -> tuple[str | None, bool]:
        """Fetch what is missing and commit bottom up; the top chain is held once."""
        chains = chain_ids(diff_ids)
        present = [chain in self.store for chain in chains]
        for desc, have in zip(manifest.layers, present, strict=True):
            await self.progress.action(short_id(desc.digest),
                                       "Already exists" if have else "Pulling fs layer")
        missing = [i for i, have in enumerate(present) if not have]
        for i in missing[self.max_downloads:]:
            await self.progress.action(short_id(manifest.layers[i].digest), "Waiting")
        gate = asyncio.Semaphore(self.max_downloads)
        tasks = {i: asyncio.create_task(self._download(gate, manifest.layers[i]))
                 for i in missing}
        taken: list[str] = []
        try:
            parent: str | None = None
            for i, chain in enumerate(chains):
                if present[i] and chain in self.store:
                    await asyncio.to_thread(self.store.acquire, chain)
                    layer_chain = chain
                else:
                    task = tasks.get(i) or asyncio.create_task(
                        self._download(gate, manifest.layers[i]))  # removed meanwhile
                    tasks[i] = task
                    fetched = await task
                    layer_chain = await self._commit(fetched, manifest.layers[i],
                                                     diff_ids[i], parent)
                if parent is not None:
                    await asyncio.to_thread(self.store.release, parent)
                    taken.remove(parent)
                taken.append(layer_chain)
                parent = layer_chain
                crashpoint("pull:layer-committed")
        except BaseException:
            for task in tasks.values():
                task.cancel()
            for task in tasks.values():
                try:
                    fetched = await task
                except BaseException:
                    continue
                await asyncio.to_thread(self._discard, fetched)
            for chain in taken:
                await asyncio.to_thread(self.store.release, chain)
            raise
        return parent, bool(tasks)

    # -- one layer -------------------------------------------------------------------
    async def _download(self, gate: asyncio.Semaphore, desc: mf.Descriptor) -> _Fetched:
        async with gate:
            ident = short_id(desc.digest)
            hasher = hashlib.sha256()
            counter = [0]
            chunks = self._chunks(desc, hasher, counter)
            fetched = _Fetched()
            try:
                try:
                    if self.store.driver.independent_layers:
                        fetched.staged = await feed_blocking(
                            chunks, lambda f: self.store.stage(f, None), self.store.discard)
                    else:
                        fetched.spooled = await feed_blocking(chunks, self._spool, _unlink)
                except ArchiveError:
                    # bytes that are not the blob fail as such, not as a broken tar
                    async for _ in chunks:
                        pass
                    self._verify(hasher, desc)
                    raise
                async for _ in chunks:  # what extraction left unread still counts
                    pass
                await self.progress.action(ident, "Verifying Checksum")
                self._verify(hasher, desc)
            except BaseException:
                await asyncio.to_thread(self._discard, fetched)
                raise
            await self.progress.action(ident, "Download complete")
            return fetched

    @staticmethod
    def _verify(hasher: Any, desc: mf.Descriptor) -> None:
        if "sha256:" + hasher.hexdigest() != desc.digest:
            raise RegistryError(f"filesystem layer verification failed for digest {desc.digest}")

    async def _chunks(self, desc: mf.Descriptor, hasher: Any,
                      counter: list[int]) -> AsyncIterator[bytes]:
        """The blob's bytes, once each, across reconnections."""
        ident = short_id(desc.digest)
        failures = 0
        while True:
            try:
                resp, start = await self.repo.blob_stream(desc.digest, counter[0])
                skip = counter[0] - start
                async with resp:
                    async for chunk in resp.content.iter_chunked(CHUNK):
                        if skip:
                            cut = min(skip, len(chunk))
                            chunk, skip = chunk[cut:], skip - cut
                            if not chunk:
                                continue
                        if counter[0] + len(chunk) > desc.size:
                            raise RegistryError(f"layer {desc.digest} is larger than its "
                                                f"manifest says ({desc.size} bytes)")
                        hasher.update(chunk)
                        counter[0] += len(chunk)
                        await self.progress.bytes(ident, "Downloading", counter[0], desc.size)
                        yield chunk
                if counter[0] < desc.size:  # a whole answer, and short: the manifest lies
                    raise RegistryError(f"layer {desc.digest} is shorter than its manifest "
                                        f"says ({counter[0]} of {desc.size} bytes)")
                return
            except (TimeoutError, TransportError, aiohttp.ClientPayloadError,
                    aiohttp.ClientConnectionError, ConnectionError) as exc:
                failures += 1
                if failures >= self.attempts:
                    raise TransportError(f"failed to fetch {desc.digest} after "
                                         f"{failures} attempts: {exc}") from None
                delay = self.retry_delay * failures
                log.info("layer %s: %s; retrying in %.1fs", ident, exc, delay)
                await self.progress.action(
                    ident, f"Retrying in {max(1, round(delay))} second"
                    + ("s" if max(1, round(delay)) > 1 else ""))
                await asyncio.sleep(delay)

    def _spool(self, stream: BinaryIO) -> str:
        os.makedirs(self.spool_dir, mode=0o700, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=self.spool_dir, prefix="pull-")
        with os.fdopen(fd, "wb") as f:
            while True:
                data = stream.read(CHUNK)
                if not data:
                    return path
                f.write(data)

    async def _commit(self, fetched: _Fetched, desc: mf.Descriptor, diff_id: str,
                      parent: str | None) -> str:
        ident = short_id(desc.digest)
        await self.progress.bytes(ident, "Extracting", desc.size, desc.size, force=True)
        try:
            chain = await asyncio.to_thread(self._register, fetched, diff_id, parent)
        except BaseException:
            await asyncio.to_thread(self._discard, fetched)
            raise
        await self.progress.action(ident, "Pull complete")
        return chain

    def _register(self, fetched: _Fetched, diff_id: str, parent: str | None) -> str:
        staged: StagedLayer | None
        if fetched.spooled is not None:
            with open(fetched.spooled, "rb") as f:
                staged = self.store.stage(f, parent)
            _unlink(fetched.spooled)
            fetched.spooled = None
        else:
            staged, fetched.staged = fetched.staged, None
        assert staged is not None
        if staged.result.digest != diff_id:
            self.store.discard(staged)
            raise RegistryError(f"invalid diffID for layer: expected {diff_id!r}, got "
                                f"{staged.result.digest!r}")
        return self.store.commit(staged, parent).chain_id

    def _discard(self, fetched: _Fetched) -> None:
        if fetched.staged is not None:
            self.store.discard(fetched.staged)
            fetched.staged = None
        if fetched.spooled is not None:
            _unlink(fetched.spooled)
            fetched.spooled = None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
