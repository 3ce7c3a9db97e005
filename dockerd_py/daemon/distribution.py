"""Pull, push, login and distribution inspect: the rules around the registry
client (which endpoint, which credentials, what the daemon records, Docker's
error texts). The wire work is in `dockerd_py.distribution`."""
from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from shared import reference as refs
from shared.filters import Filters

from ..config import DaemonConfig
from ..distribution import manifests as mf
from ..distribution.auth import Credentials, TokenCache
from ..distribution.client import RegistryError, Repository, TransportError, new_session, ping, search_index
from ..distribution.hosts import DOCKER_HUB_HOST, Endpoint, RegistryHosts
from ..distribution.progress import Progress
from ..distribution.pull import Platform, Puller
from ..distribution.push import BlobSource, Pusher
from ..errors import DockerError, InvalidParameter, NotFound, Unauthorized
from .events import Events
from .images.catalog import ImageCatalog
from .images.repository import Image
from .images.shapes import linux_platform
from .store import Store

log = logging.getLogger(__name__)


def _pull_error(exc: RegistryError, ref: refs.Reference) -> DockerError:
    """Docker's translatePullError: what the CLI prints after a failed pull."""
    if exc.code == "MANIFEST_UNKNOWN":
        return NotFound(f"manifest for {ref.familiar()} not found: {exc.message}")
    if exc.code == "NAME_UNKNOWN":
        return NotFound(f"repository {ref.familiar_name} not found: {exc.message}")
    if exc.code == "DENIED":
        return NotFound(f"pull access denied for {ref.familiar_name}, repository does not "
                        f"exist or may require 'docker login': {exc.message}")
    if exc.code == "MANIFEST_UNKNOWN_PLATFORM":
        return NotFound(exc.message)
    if exc.unauthorized:
        return Unauthorized(exc.message)
    return DockerError(exc.message)


class DistributionService:
    def __init__(self, cfg: DaemonConfig, db: Store, images: ImageCatalog,
                 events: Events) -> None:
        self.cfg = cfg
        self.db = db
        self.images = images
        self.events = events
        self.tokens = TokenCache()
        self._hosts_key: tuple | None = None
        self._hosts: RegistryHosts | None = None

    @property
    def hosts(self) -> RegistryHosts:
        """Rebuilt when a reload changed mirrors or insecure registries."""
        key = (tuple(self.cfg.registry_mirrors), tuple(self.cfg.insecure_registries),
               self.cfg.registry_certs_dir)
        if key != self._hosts_key or self._hosts is None:
            self._hosts = RegistryHosts(list(self.cfg.registry_mirrors), list(self.cfg.insecure_registries),
                                        self.cfg.registry_certs_dir)
            self._hosts_key = key
        return self._hosts

    def registry_config(self) -> dict[str, Any]:
        """RegistryConfig of /info, as dockerd shows it."""
        hosts = self.hosts
        mirrors = [m + "/" for m in hosts.mirrors]
        indexes: dict[str, Any] = {
            refs.DEFAULT_DOMAIN: {"Name": refs.DEFAULT_DOMAIN, "Mirrors": mirrors,
                                  "Secure": True, "Official": True}}
        for name in sorted(hosts.insecure_names):
            indexes[name] = {"Name": name, "Mirrors": [], "Secure": False, "Official": False}
        return {"AllowNondistributableArtifactsCIDRs": None,
                "AllowNondistributableArtifactsHostnames": None,
                "InsecureRegistryCIDRs": hosts.cidr_strings(), "IndexConfigs": indexes,
                "Mirrors": mirrors}

    # -- endpoints -------------------------------------------------------------------
    async def _each_endpoint(self, domain: str, creds: Credentials, actions: str,
                             path: str, work: Callable[[Repository], Awaitable[Any]],
                             mirrors: bool = True) -> Any:
        """Run work against each endpoint in turn: the next one is tried when a
        connection fails (or, for a mirror, on any registry error)."""
        hosts = self.hosts
        endpoints: list[Endpoint] = await asyncio.to_thread(hosts.endpoints, domain, mirrors)
        last: RegistryError | None = None
        for endpoint in endpoints:
            try:
                ctx = await asyncio.to_thread(hosts.ssl_context, endpoint)
            except (OSError, ValueError) as exc:
                raise DockerError(f"error loading the TLS files of {endpoint.host}: {exc}") \
                    from None
            async with new_session(ctx) as session:
                repo = Repository(session, endpoint, path, creds, self.tokens, actions)
                try:
                    await repo.reachable()
                    return await work(repo)
                except TransportError as exc:
                    log.info("registry endpoint %s: %s", endpoint.url, exc.message)
                    last = exc
                except RegistryError as exc:
                    if not endpoint.mirror:
                        raise
                    log.info("mirror %s failed (%s); trying the next endpoint",
                             endpoint.url, exc.message)
                    last = exc
        assert last is not None
        raise last

    # -- pull ----------------------------------------------------------------------------
    async def pull(self, image: str, tag: str, platform_text: str | None, creds: Credentials,
                   progress: Progress) -> None:
        ref = _pull_reference(image, tag)
        os_name, arch, variant = linux_platform(platform_text)
        platform = Platform(os_name, arch, variant)
        if ref.tag is None and ref.digest is None:
            await self._pull_all_tags(ref, platform, creds, progress)
            return
        try:
            await self._each_endpoint(
                ref.domain, creds, "pull", ref.path,
                lambda repo: self._pull_one(repo, ref, platform, progress))
        except RegistryError as exc:
            raise _pull_error(exc, ref) from None

    async def _pull_all_tags(self, ref: refs.Reference, platform: Platform,
                             creds: Credentials, progress: Progress) -> None:
        async def work(repo: Repository) -> None:
            for tag in await repo.tags():
                await self._pull_one(repo, ref.with_tag(tag), platform, progress)
        try:
            await self._each_endpoint(ref.domain, creds, "pull", ref.path, work)
        except RegistryError as exc:
            raise _pull_error(exc, ref) from None

    async def _pull_one(self, repo: Repository, ref: refs.Reference, platform: Platform,
                        progress: Progress) -> None:
        cfg = self.cfg
        puller = Puller(repo, self.images.layers, progress, cfg.max_concurrent_downloads,
                        self.images.spool_root, cfg.max_download_attempts)
        digest, manifest = await puller.resolve(ref, platform)
        await progress.status(f"Pulling from {ref.path}", ref.tag or ref.digest)
        raw_config, config = await puller.config(manifest)
        previous = self.images.image_id_of(ref) if ref.tag else None
        top, downloaded = await puller.layers(manifest, config["rootfs"]["diff_ids"])
        try:
            await self._remember_sources(config["rootfs"]["diff_ids"], manifest, repo)
        except Exception:  # only an optimisation for later pushes
            log.exception("could not record the layers' registry sources")
        tags = [ref] if ref.tag else []
        tags.append(ref.repository().with_digest(digest))
        pulled = await self.images.add_image(raw_config, tags, acquired_top=True)
        self.events.publish("image", "pull", ref.canonical(), {"name": ref.familiar_name})
        await progress.status(f"Digest: {digest}")
        updated = downloaded or previous != pulled.id
        await progress.status(("Status: Downloaded newer image for " if updated else
                               "Status: Image is up to date for ") + ref.familiar())

    # -- layer sources (what to HEAD or mount on push) --------------------------------------
    async def _remember_sources(self, diff_ids: list[str], manifest: mf.ImageManifest,
                                repo: Repository) -> None:
        rows = [(diff, repo.endpoint.host, repo.path, d.digest, d.size, d.media_type)
                for diff, d in zip(diff_ids, manifest.layers, strict=True)]
        await self.db.run(lambda c: c.executemany(
            "INSERT OR REPLACE INTO layer_sources(diff_id, registry, repository, digest, size,"
            " media_type) VALUES (?,?,?,?,?,?)", rows))

    async def _known(self, diff_id: str) -> list[BlobSource]:
        rows = await self.db.run(lambda c: c.execute(
            "SELECT digest, registry, repository, size, media_type FROM layer_sources "
            "WHERE diff_id=?", (diff_id,)).fetchall())
        return [BlobSource(*row) for row in rows]

    async def _remember(self, diff_id: str, source: BlobSource) -> None:
        await self.db.run(lambda c: c.execute(
            "INSERT OR REPLACE INTO layer_sources(diff_id, registry, repository, digest, size,"
            " media_type) VALUES (?,?,?,?,?,?)", (diff_id, source.registry, source.repository,
                                                 source.digest, source.size,
                                                 source.media_type)))

    # -- push ------------------------------------------------------------------------------
    @staticmethod
    def push_reference(name: str, tag: str | None) -> refs.Reference:
        """The reference to push, checked before any byte is streamed (a 400)."""
        try:
            ref = refs.parse_repository_tag(name, tag) if tag else refs.parse(name)
        except refs.ReferenceError as exc:
            raise InvalidParameter(str(exc)) from None
        if ref.digest is not None:
            raise InvalidParameter("cannot push a digest reference")
        return ref

    def _push_targets(self, ref: refs.Reference) -> list[tuple[refs.Reference, Image]]:
        """The tag, or every tag of the repository."""
        found = []
        for candidate, image in sorted(self.images.tagged(), key=lambda t: t[0].canonical()):
            if candidate == ref or (ref.tag is None and candidate.name == ref.name):
                found.append((candidate, image))
        if not found:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
        return found

    async def push(self, ref: refs.Reference, creds: Credentials, progress: Progress) -> None:
        """As dockerd: the repository line first, then (even for a missing tag,
        which is an error in the stream) each tag."""
        await progress.status(f"The push refers to repository [{ref.name}]")
        for target, image in self._push_targets(ref):
            try:
                await self._each_endpoint(
                    target.domain, creds, "pull,push", target.path,
                    functools.partial(self._push_one, ref=target, image=image, progress=progress),
                    mirrors=False)
            except RegistryError as exc:
                raise (Unauthorized(exc.message) if exc.unauthorized
                       else DockerError(exc.message)) from None

    async def _push_one(self, repo: Repository, ref: refs.Reference, image: Image,
                        progress: Progress) -> None:
        chain = self.images.layer_chain(image)
        if len(chain) != len(image.diff_ids):
            raise DockerError(f"image {image.id} is missing some of its layers")
        for layer in chain:
            self.images.layers.acquire(layer.chain_id)  # a concurrent rmi cannot drop them
        try:
            pusher = Pusher(repo, self.images.layers, progress, self._known, self._remember,
                            self.cfg.max_concurrent_uploads)
            pushed = await pusher.push(image.raw_config, chain, ref.tag or refs.DEFAULT_TAG)
        finally:
            for layer in chain:
                await asyncio.to_thread(self.images.layers.release, layer.chain_id)
        await self.images.add_image(image.raw_config, [ref.repository().with_digest(pushed.digest)])
        self.events.publish("image", "push", ref.familiar(), {"name": ref.familiar_name})
        await progress.status(f"{ref.tag}: digest: {pushed.digest} size: {pushed.size}")
        await progress.aux({"Tag": ref.tag, "Digest": pushed.digest, "Size": pushed.size})

    # -- login and inspect ---------------------------------------------------------------------
    async def login(self, creds: Credentials) -> dict[str, str]:
        """POST /auth: the credentials checked against the registry's /v2/."""
        domain = _login_domain(creds.server_address)

        async def check(repo: Repository) -> None:
            await ping(repo.session, repo.endpoint, creds, self.tokens)
        try:
            await self._each_endpoint(domain, creds, "pull", "", check, mirrors=False)
        except RegistryError as exc:
            if exc.unauthorized:
                raise Unauthorized(exc.message) from None
            raise DockerError(exc.message) from None
        return {"Status": "Login Succeeded", "IdentityToken": ""}

    async def inspect(self, name: str, creds: Credentials) -> dict[str, Any]:
        """GET /distribution/{name}/json: the manifest descriptor and its platforms."""
        try:
            ref = refs.parse_normalized_named(name)
        except refs.ReferenceError as exc:
            raise InvalidParameter(str(exc)) from None

        async def fetch(repo: Repository) -> dict[str, Any]:
            data, media = await repo.manifest(ref.digest or ref.tag or "latest", mf.ACCEPT)
            digest = mf.digest_of(data)
            if ref.digest and digest != ref.digest:
                raise RegistryError(f"manifest verification failed for digest {ref.digest}")
            try:
                kind, doc = mf.parse(data, media)
            except mf.ManifestError as exc:
                raise RegistryError(str(exc)) from None
            platforms = []
            if kind == "index":
                platforms = [_platform_doc(d.platform or {}) for d in doc]
            elif kind == "image":
                cfg_raw = await repo.blob_bytes(doc.config.digest, 32 << 20)
                platforms = [_platform_doc(_json_object(cfg_raw))]
            return {"Descriptor": {"mediaType": media or (mf.OCI_INDEX if kind == "index"
                                                          else mf.DOCKER_MANIFEST),
                                   "digest": digest, "size": len(data)},
                    "Platforms": platforms}
        try:
            return await self._each_endpoint(ref.domain, creds, "pull", ref.path, fetch)
        except RegistryError as exc:
            raise (Unauthorized(exc.message) if exc.unauthorized else
                   NotFound(_pull_error(exc, ref).message) if exc.status == 404 else
                   DockerError(exc.message)) from None


    # -- search -------------------------------------------------------------------------------
    async def search(self, term: str, limit: int, filters: Filters,
                     creds: Credentials) -> list[dict[str, Any]]:
        """GET /images/search: the index's v1 search API, filtered as dockerd filters."""
        filters.validate({"stars", "is-automated", "is-official"})
        if not term:
            raise InvalidParameter("term is required")
        if limit < 1 or limit > 100:
            raise InvalidParameter(f"limit {limit} is outside the range of [1, 100]")
        first, sep, rest = term.partition("/")
        domain, query = refs.DEFAULT_DOMAIN, term
        if sep and ("." in first or ":" in first or first == "localhost"):
            domain, query = first, rest
        min_stars = 0
        for value in filters.get("stars"):
            try:
                min_stars = max(min_stars, int(value))
            except ValueError:
                raise InvalidParameter(f"invalid filter 'stars={value}'") from None

        async def ask(repo: Repository) -> list[dict[str, Any]]:
            url = repo.endpoint.url.replace(f"://{DOCKER_HUB_HOST}", "://index.docker.io")
            return await search_index(repo, f"{url}/v1/search", query, limit)
        try:
            results = await self._each_endpoint(domain, creds, "pull", "", ask, mirrors=False)
        except RegistryError as exc:
            raise DockerError(exc.message) from None
        out = []
        for item in results:
            if item.get("star_count", 0) < min_stars:
                continue
            if not _bool_filter(filters, "is-official", item.get("is_official", False)):
                continue
            if not _bool_filter(filters, "is-automated", item.get("is_automated", False)):
                continue
            out.append(item)
        return out


def _bool_filter(filters: Filters, key: str, value: bool) -> bool:
    for text in filters.get(key):
        if text.lower() not in ("true", "false", "1", "0"):
            raise InvalidParameter(f"invalid filter '{key}={text}'")
        if (text.lower() in ("true", "1")) != bool(value):
            return False
    return True


def _pull_reference(image: str, tag: str) -> refs.Reference:
    try:
        ref = refs.parse(image)
        if tag:
            if refs.is_digest(tag):
                return ref.repository().with_digest(tag)
            return refs.parse(f"{ref.name}:{tag}")
        return ref
    except refs.ReferenceError as exc:
        raise InvalidParameter(str(exc)) from None


def _login_domain(server: str) -> str:
    text = server.strip()
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    text = text.split("/", 1)[0]
    if not text or text in ("index.docker.io", "registry-1.docker.io", "docker.io"):
        return refs.DEFAULT_DOMAIN
    return text


def _platform_doc(p: dict[str, Any]) -> dict[str, Any]:
    doc = {"architecture": p.get("architecture", ""), "os": p.get("os", "")}
    for key in ("os.version", "os.features", "variant", "features"):
        if p.get(key):
            doc[key] = p[key]
    return doc


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
