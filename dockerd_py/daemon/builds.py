"""Builds: the classic builder (`dockerd_py.builder`) run against this daemon's
images and containers. BuildService is the builder's Backend (every RUN is a
container made, started and committed by the same services as `docker run`)
and runs one `POST /build` from its context to its tags."""
from __future__ import annotations

import asyncio
import email.utils
import json
import os
import posixpath
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import aiohttp

from shared import reference as refs
from shared import stdcopy
from shared.filters import Filters
from shared.timeutil import now_rfc3339

from ..builder import context as ctx_mod
from ..builder.backend import BaseImage, Commit, RunOptions
from ..builder.build import Builder
from ..builder.parser import parse as parse_dockerfile
from ..builder.step import BuildOptions
from ..distribution.auth import Credentials
from ..distribution.progress import Progress
from ..errors import DockerError, InvalidParameter, NoSuchImage
from ..runtime import users
from ..storage import containerfs
from ..storage.confined import Root
from ..streams import IteratorReader, feed_blocking
from ..userns import IDENTITY, IdMap
from .containers.archive import image_config
from .containers.service import Containers
from .distribution import DistributionService
from .images.catalog import ImageCatalog
from .images.removal import ImageRemoval
from .images.repository import Image
from .images.shapes import go_arch

MAX_DOWNLOAD = 1 << 30


@dataclass
class BuildRequest:
    options: BuildOptions
    dockerfile: str | None
    remote: str | None
    auth: dict[str, Credentials]


class BuildService:
    def __init__(self, containers: Containers, images: ImageCatalog, removal: ImageRemoval,
                 distribution: DistributionService, tmp_root: str,
                 idmap: IdMap = IDENTITY) -> None:
        self.containers = containers
        self.idmap = idmap  # COPY's owners are container IDs; files get the host's
        self.images = images
        self.removal = removal  # the build cache's prune deletes through Docker's rules
        self.distribution = distribution
        self.tmp_root = tmp_root

    # -- one build ---------------------------------------------------------------------
    async def build(self, request: BuildRequest, body: AsyncIterator[bytes],
                    sink: Callable[[bytes], Awaitable[None]]) -> str:
        for name in request.options.tags:
            _tag_ref(name)  # a bad tag fails before any work
        os.makedirs(self.tmp_root, mode=0o700, exist_ok=True)
        work = tempfile.mkdtemp(prefix="build-", dir=self.tmp_root)
        context = os.path.join(work, "context")
        os.mkdir(context, 0o700)
        try:
            if request.remote:
                name = await self._remote_context(request.remote, context, request.dockerfile)
                request.dockerfile = request.dockerfile or name
            else:
                await feed_blocking(body, lambda f: ctx_mod.unpack(f, context))
            data, name = await asyncio.to_thread(ctx_mod.read_dockerfile, context,
                                                 request.dockerfile)
            dockerfile = parse_dockerfile(data, request.dockerfile or name)
            await asyncio.to_thread(ctx_mod.drop_ignored_specials, context, name)
            builder = Builder(BuildSession(self, request.auth), context, dockerfile,
                              request.options, sink, os.path.join(work, "downloads"))
            if request.options.cache_from:
                builder.cache_sources = self._cache_sources(request.options.cache_from)
            return await builder.build()
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    async def _remote_context(self, url: str, context: str, dockerfile: str | None) -> str:
        """A remote tarball (unpacked) or a remote Dockerfile (the whole context)."""
        if not url.startswith(("http://", "https://")):
            raise InvalidParameter(f"unsupported remote context {url!r}: only http(s) "
                                   "URLs of a tarball or a Dockerfile are (git is not)")
        path, _, _ = await self.download(url, os.path.dirname(context))
        with open(path, "rb") as f:
            head = f.read(512)
        if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")) or \
                head[257:262] == b"ustar":
            await asyncio.to_thread(_unpack_file, path, context)
            os.unlink(path)
            return dockerfile or ctx_mod.DEFAULT_DOCKERFILE
        name = dockerfile or ctx_mod.DEFAULT_DOCKERFILE
        os.replace(path, os.path.join(context, os.path.basename(name)))
        return os.path.basename(name)

    # -- the builder's Backend (BuildSession adds what one request brought) ----------
    async def image(self, name: str, pull: bool, platform: str | None, progress: Any,
                    auth: dict[str, Credentials] | None = None) -> BaseImage:
        """A build's base image; pulled with the build request's own credentials."""
        auth = auth or {}
        if not pull:
            try:
                found = self.images.get(name)
                return BaseImage(found.id, found.config)
            except NoSuchImage:
                pass
        try:
            ref = refs.parse_normalized_named(name)
        except refs.ReferenceError as exc:
            raise InvalidParameter(str(exc)) from None
        creds = auth.get(ref.domain) or auth.get(
            "https://index.docker.io/v1/" if ref.domain == refs.DEFAULT_DOMAIN else "") \
            or Credentials()
        await self.distribution.pull(ref.familiar_name, ref.digest or ref.tag or "",
                                     platform, creds, Progress(progress.raw))
        found = self.images.get(name)
        return BaseImage(found.id, found.config)

    def _cache_sources(self, names: list[str]) -> set[str]:
        """cachefrom: only those images and the images they were built from may be
        reused (names that are not here are skipped, as dockerd skips them)."""
        out: set[str] = set()
        for name in names:
            try:
                image: Image | None = self.images.get(name)
            except DockerError:
                continue
            while image is not None and image.id not in out:
                out.add(image.id)
                image = self.images.by_id(image.meta.get("Parent") or "")
        return out

    def cached(self, parent: str | None, probe: dict[str, Any],
               sources: set[str] | None) -> BaseImage | None:
        if parent is None:
            return None
        want = _cache_key(probe)
        best = None
        for image in self.images.children(parent):
            if sources is not None and image.id not in sources:
                continue
            if _cache_key(image.config.get("container_config") or {}) != want:
                continue
            if best is None or image.created_ns > best.created_ns:
                best = image
        return BaseImage(best.id, best.config) if best else None

    async def create(self, image: BaseImage | None, config: dict[str, Any],
                     options: RunOptions) -> str:
        base = image or await self._empty_image()
        body = {k: v for k, v in config.items() if v is not None}
        body.update({"Image": base.id, "AttachStdout": True, "AttachStderr": True,
                     "Tty": False, "OpenStdin": False})
        host: dict[str, Any] = {"LogConfig": {"Type": "json-file", "Config": {}},
                                "NetworkMode": options.network_mode or "default",
                                "ExtraHosts": options.extra_hosts or None}
        host.update(options.resources)
        body["HostConfig"] = host
        cid, _ = await self.containers.creator.create(body, None)
        return cid

    async def run(self, container_id: str, output: Callable[[str], Awaitable[None]]) -> int:
        ctr = self.containers.repo.get(container_id)
        life = self.containers.lifecycle
        exited = life.monitor.register_wait(ctr, "next-exit")
        try:
            await life.start(ctr)
            frames = stdcopy.Demuxer()
            async for chunk in self.containers.logs.read(ctr, True, True, True, 0, None, None,
                                                         raw=False, timestamps=False):
                for stream, payload in frames.feed(chunk):  # (none: the follower waits)
                    text = payload.decode("utf-8", "replace")
                    # as dockerd's stderr writer: in red (ANSI), so a terminal shows it
                    await output(f"\033[91m{text}\033[0m" if stream == stdcopy.STDERR else text)
            code, _ = await exited
        finally:
            life.monitor.cancel_wait(ctr, exited)
        return int(code)

    async def mount(self, container_id: str) -> tuple[str, Callable[[], Awaitable[None]]]:
        ctr = self.containers.repo.get(container_id)
        rw = self.containers.files.deps.layers.rw_layer(ctr.internal.rw_layer)
        path = await asyncio.to_thread(rw.mount)

        async def release() -> None:
            await asyncio.to_thread(rw.unmount)
        return path, release

    async def _in_rootfs(self, container_id: str, work: Callable[[str], Any]) -> Any:
        path, release = await self.mount(container_id)
        try:
            return await asyncio.to_thread(work, path)
        finally:
            await release()

    async def copy_in(self, container_id: str, tar: Callable[[], Iterator[bytes]],
                      owner: tuple[int, int] | None, base: str = "/") -> None:
        def work(root: str) -> None:
            with Root(root) as confined:
                os.close(confined.open_dir(base, create=True, owner=self.idmap.owner))
            containerfs.extract_into(root, base, IteratorReader(tar()), owner, False,
                                     self.idmap)
        await self._in_rootfs(container_id, work)

    async def is_dir(self, container_id: str, path: str) -> bool:
        def work(root: str) -> bool:
            try:
                return containerfs.is_directory(root, path)
            except (FileNotFoundError, NotADirectoryError):
                return False
        return await self._in_rootfs(container_id, work)

    async def mkdir(self, container_id: str, path: str, owner: tuple[int, int] | None) -> None:
        def work(root: str) -> None:
            with Root(root) as confined:
                os.close(confined.open_dir(path, create=True, owner=self.idmap.owner))
        await self._in_rootfs(container_id, work)

    async def resolve_owner(self, container_id: str, spec: str) -> tuple[int, int]:
        def work(root: str) -> tuple[int, int]:
            user = users.resolve(root, spec)
            return user.uid, user.gid
        try:
            return await self._in_rootfs(container_id, work)
        except DockerError as exc:
            raise InvalidParameter(f"unable to convert uid/gid chown string to host mapping: "
                                   f"{exc.message}") from None

    async def commit(self, container_id: str | None, commit: Commit) -> BaseImage:
        parent = self.images.by_id(commit.parent.id) if commit.parent else None
        base = parent.config if parent else _empty_config()
        layer = None
        if container_id is not None:
            ctr = self.containers.repo.get(container_id)
            layer = await asyncio.to_thread(self.containers.files._commit_layer, ctr,
                                            parent.top_layer if parent else None)
        raw = image_config(base, commit.config, commit.container_config, container_id or "",
                           commit.created_by, commit.author, "", layer)
        try:
            image = await self.images.add_image(
                raw, [], {"Parent": parent.id, "Build": True} if parent else {"Build": True},
                acquired_top=layer is not None)
        except BaseException:
            if layer is not None:
                await asyncio.to_thread(self.images.layers.release, layer.chain_id)
            raise
        return BaseImage(image.id, image.config)

    async def remove(self, container_id: str) -> None:
        try:
            ctr = self.containers.repo.get(container_id)
        except DockerError:
            return
        await self.containers.lifecycle.remove(ctr, force=True, volumes=True)

    async def download(self, url: str, dest_dir: str) -> tuple[str, str, float]:
        """(file, name, mtime) of a URL fetched into dest_dir."""
        name = posixpath.basename(urlparse(url).path)
        if not name:
            raise InvalidParameter(f"cannot determine filename from url: {url}")
        os.makedirs(dest_dir, mode=0o700, exist_ok=True)
        path = os.path.join(dest_dir, name)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(url) as resp:
                    if resp.status != 200:
                        raise InvalidParameter(f"failed to GET {url} with status {resp.status}: "
                                               f"{resp.reason}")
                    size = 0
                    with open(path, "wb") as f:
                        async for chunk in resp.content.iter_chunked(1 << 20):
                            size += len(chunk)
                            if size > MAX_DOWNLOAD:
                                raise InvalidParameter(f"{url} is larger than 1 GiB")
                            await asyncio.to_thread(f.write, chunk)
                    modified = resp.headers.get("Last-Modified")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise InvalidParameter(f"error downloading {url}: {exc}") from None
        mtime = 0.0
        if modified:
            try:
                mtime = email.utils.parsedate_to_datetime(modified).timestamp()
            except (TypeError, ValueError):
                pass
        os.chmod(path, 0o600)
        return path, name, mtime

    async def tag(self, image_id: str, names: list[str]) -> list[str]:
        out = []
        for name in names:
            ref = _tag_ref(name)
            await self.images.tag(image_id, ref.name, ref.tag)
            out.append(ref.familiar())
        return out

    # -- the build cache: the untagged images that steps made ------------------------------
    def _cache_images(self) -> list[Image]:
        return [img for img in self.images.all()
                if img.meta.get("Build") and not self.images.references(img.id)]

    def _own_size(self, image: Image) -> int:
        chain = self.images.layer_chain(image)
        parent = self.images.by_id(image.meta.get("Parent") or "")
        if chain and (parent is None or len(parent.diff_ids) < len(image.diff_ids)):
            return chain[-1].size
        return 0

    def cache_records(self) -> list[dict[str, Any]]:
        """BuildCache of /system/df."""
        out = []
        for image in self._cache_images():
            history = image.config.get("history") or [{}]
            parent = image.meta.get("Parent")
            out.append({"ID": image.id.split(":", 1)[1][:25], "Parent": parent or "",
                        "Parents": [parent] if parent else None, "Type": "regular",
                        "Description": history[-1].get("created_by", ""),
                        "InUse": self.images.in_use(image.id),
                        "Shared": False, "Size": self._own_size(image),
                        "CreatedAt": image.config.get("created") or "",
                        "LastUsedAt": None, "UsageCount": 0})
        return out

    async def prune(self, keep_storage: int, filters: Filters) -> dict[str, Any]:
        """POST /build/prune: cache images nothing builds on, leaves first."""
        filters.validate({"until", "id", "parent", "type", "description", "inuse", "shared",
                          "private"})
        until = filters.until_ns()
        deleted: list[str] = []
        reclaimed = 0
        while True:
            parents = {img.meta.get("Parent") for img in self.images.all()}
            leaves = [img for img in self._cache_images() if img.id not in parents
                      and not self.images.in_use(img.id)
                      and (until is None or img.created_ns < until)]
            total = sum(self._own_size(img) for img in self._cache_images())
            if not leaves or (keep_storage and total <= keep_storage):
                break
            progressed = False
            for image in sorted(leaves, key=lambda i: i.created_ns):
                size = self._own_size(image)
                try:
                    await self.removal.delete(image.id, force=False, prune=False)
                except DockerError:
                    continue
                progressed = True
                deleted.append(image.id.split(":", 1)[1][:25])
                reclaimed += size
                total -= size
                if keep_storage and total <= keep_storage:
                    break
            if not progressed:
                break
        return {"CachesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    async def _empty_image(self) -> BaseImage:
        """What FROM scratch stands on: an image with no layers."""
        raw = json.dumps(_empty_config(), separators=(",", ":")).encode()
        image = await self.images.add_image(raw, [])
        return BaseImage(image.id, image.config)


def _empty_config() -> dict[str, Any]:
    return {"architecture": go_arch(), "os": "linux", "config": {}, "created": now_rfc3339(),
            "rootfs": {"type": "layers", "diff_ids": []}, "history": []}


def _cache_key(config: dict[str, Any]) -> str:
    keys = ("Cmd", "Entrypoint", "Env", "Labels", "ExposedPorts", "Volumes", "User",
            "WorkingDir", "OnBuild", "Healthcheck", "Shell", "StopSignal", "Tty", "OpenStdin")
    return json.dumps({k: config.get(k) or None for k in keys}, sort_keys=True)


def _tag_ref(name: str) -> refs.Reference:
    try:
        ref = refs.parse_normalized_named(name)
    except refs.ReferenceError as exc:
        raise InvalidParameter(f"invalid tag {name!r}: {exc}") from None
    if ref.digest is not None:
        raise InvalidParameter(f"invalid tag {name!r}: a tag cannot be a digest")
    return ref


def _unpack_file(path: str, dest: str) -> None:
    with open(path, "rb") as f:
        ctx_mod.unpack(f, dest)


class BuildSession:
    """One build's Backend: the shared service, plus what the build's request
    brought (its registry credentials). Per-request state lives here, never on
    the service, so two builds at once pull with their own credentials."""

    def __init__(self, service: BuildService, auth: dict[str, Credentials]) -> None:
        self.service = service
        self.auth = auth

    async def image(self, name: str, pull: bool, platform: str | None,
                    progress: Any) -> BaseImage:
        return await self.service.image(name, pull, platform, progress, self.auth)

    def cached(self, parent: str | None, probe: dict[str, Any],
               sources: set[str] | None) -> BaseImage | None:
        return self.service.cached(parent, probe, sources)

    async def create(self, image: BaseImage | None, config: dict[str, Any],
                     options: RunOptions) -> str:
        return await self.service.create(image, config, options)

    async def run(self, container_id: str, output: Callable[[str], Awaitable[None]]) -> int:
        return await self.service.run(container_id, output)

    async def mount(self, container_id: str) -> tuple[str, Callable[[], Awaitable[None]]]:
        return await self.service.mount(container_id)

    async def copy_in(self, container_id: str, tar: Callable[[], Iterator[bytes]],
                      owner: tuple[int, int] | None, base: str = "/") -> None:
        await self.service.copy_in(container_id, tar, owner, base)

    async def is_dir(self, container_id: str, path: str) -> bool:
        return await self.service.is_dir(container_id, path)

    async def mkdir(self, container_id: str, path: str, owner: tuple[int, int] | None) -> None:
        await self.service.mkdir(container_id, path, owner)

    async def resolve_owner(self, container_id: str, spec: str) -> tuple[int, int]:
        return await self.service.resolve_owner(container_id, spec)

    async def commit(self, container_id: str | None, commit: Commit) -> BaseImage:
        return await self.service.commit(container_id, commit)

    async def remove(self, container_id: str) -> None:
        await self.service.remove(container_id)

    async def download(self, url: str, dest_dir: str) -> tuple[str, str, float]:
        return await self.service.download(url, dest_dir)

    async def tag(self, image_id: str, names: list[str]) -> list[str]:
        return await self.service.tag(image_id, names)
