"""The daemon: configuration, stores, drivers and services wired together, with
start-up reconciliation and shutdown."""
from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import uuid
from typing import Any

from .. import userns
from ..config import DaemonConfig
from ..errors import DockerError
from ..logdrivers.registry import LogDrivers
from ..network.drivers import NETWORK_DRIVERS
from ..network.firewall import choose_backend, new_firewall
from ..network.links import ipv6_on_host
from ..runtime import conmon
from ..runtime.oci import run_command
from ..runtime.registry import Runtimes
from ..storage.drivers import new_driver
from ..storage.layers import LayerStore
from . import system
from .builds import BuildService
from .containers.deps import ContainerDeps
from .containers.repository import ContainerPaths, ContainerRepository
from .containers.service import Containers
from .distribution import DistributionService
from .events import Events
from .execs import ExecService
from .health import HealthMonitor
from .images import Images
from .networking.endpoints import Endpoints
from .networking.names import EmbeddedDns
from .networking.networks import NetworkService
from .networking.ports import Ports
from .schema import SchemaTooNew
from .store import Store
from .volumes import VolumeService

log = logging.getLogger(__name__)


class DaemonStartError(Exception):
    pass


class Daemon:
    def __init__(self, cfg: DaemonConfig) -> None:
        self.cfg = cfg
        self._lock_fd = -1
        self.store: Store | None = None
        self._services_up = False
        self.conmon_version = ""
        self.instance_id = ""
        self.warnings: list[str] = []
        self.idmap = userns.IDENTITY

    # -- start-up -----------------------------------------------------------------
    def _lock_data_root(self) -> None:
        os.makedirs(self.cfg.data_root, mode=0o710, exist_ok=True)
        os.chmod(self.cfg.data_root, 0o710)
        path = os.path.join(self.cfg.data_root, "dockerd-py.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise DaemonStartError(f"data root {self.cfg.data_root} is in use by another "
                                   f"dockerd-py (pid {holder or 'unknown'}); stop it first or "
                                   "use another --data-root") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _write_pidfile(self) -> None:
        """dockerd's rule: a pidfile naming a live process other than us is another
        daemon's, and this one does not start."""
        path = self.cfg.effective_pidfile
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid > 0 and pid != os.getpid() and os.path.exists(f"/proc/{pid}"):
            raise DaemonStartError(f"pid file found, ensure docker is not running or "
                                   f"delete {path}")
        with open(path + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(path + ".tmp", path)

    async def _remap_root(self) -> None:
        """--userns-remap: the ID map, and the data root moved to <root>/<uid>.<gid>."""
        try:
            self.idmap = await userns.setup(self.cfg.userns_remap)
            self.cfg.data_root = await asyncio.to_thread(userns.prepare_root,
                                                         self.cfg.data_root, self.idmap)
        except (userns.UsernsError, OSError) as exc:
            raise DaemonStartError(f"userns-remap: {exc}") from None

    async def start(self) -> None:
        cfg = self.cfg
        self._lock_data_root()
        if cfg.userns_remap:
            await self._remap_root()
        os.makedirs(cfg.exec_root, mode=0o700, exist_ok=True)
        os.chmod(cfg.exec_root, 0o700)
        self._write_pidfile()
        await asyncio.to_thread(_clear_scratch, os.path.join(cfg.data_root, "tmp"))
        try:
            self.store = Store(os.path.join(cfg.data_root, "metadata.db"))
        except SchemaTooNew as exc:
            raise DaemonStartError(str(exc)) from None
        self.instance_id = await self.store.run(_instance_id)
        try:
            self.driver = new_driver(cfg.storage_driver, cfg.data_root, self.idmap)
        except Exception as exc:
            raise DaemonStartError(f"error initializing graphdriver: {exc}") from None
        self.layers = LayerStore(os.path.join(cfg.data_root, "image", cfg.storage_driver,
                                              "layerdb"), self.driver)
        await asyncio.to_thread(self.layers.load)
        self.events = Events()
        self.runtimes = await self._runtimes()
        self.conmon_version = await _conmon_version(cfg.conmon)
        backend = await choose_backend(cfg.firewall_backend) if cfg.iptables else "recorder"
        self.firewall = new_firewall(backend, cfg.chain_prefix,
                                     loopback_nat=not cfg.userland_proxy,
                                     ipv6=cfg.ip6tables and ipv6_on_host())
        self.log_drivers = LogDrivers()
        repo = ContainerRepository(self.store)
        self.networks = NetworkService(cfg, self.store, self.firewall, self.events, repo.all)
        self.ports = Ports(cfg, self.firewall)
        self.dns = EmbeddedDns(cfg, self.networks)
        self.volumes = VolumeService(cfg, self.store, self.events, repo.all, self.idmap.owner)
        self.endpoints = Endpoints(cfg, self.networks, self.events, self.ports, self.dns)
        self.images = Images(self.store, self.layers, self.events, repo.using_image,
                             os.path.join(cfg.data_root, "tmp"))
        catalog = self.images.catalog
        self.distribution = DistributionService(cfg, self.store, catalog, self.events)
        deps = ContainerDeps(cfg=cfg, repo=repo, paths=ContainerPaths.of(cfg, self.idmap),
                             layers=self.layers, images=catalog, networks=self.endpoints,
                             events=self.events, runtimes=self.runtimes,
                             log_drivers=self.log_drivers, conmon=conmon.conmon_path(cfg.conmon),
                             volumes=self.volumes, idmap=self.idmap)
        self.execs = ExecService(deps.paths, self.runtimes, deps.conmon, self.events)
        self.health = HealthMonitor(self.execs, self.events, repo.save)
        self.containers = Containers(deps, self.health)
        self.builds = BuildService(self.containers, catalog, self.images.removal,
                                   self.distribution, os.path.join(cfg.data_root, "tmp"),
                                   self.idmap)
        self._services_up = True
        await asyncio.to_thread(catalog.load)
        await self.volumes.load()
        containers = await self.containers.restore.load()
        await self.networks.load()
        await self.endpoints.restore(containers)
        in_use = {c.internal.rw_layer for c in containers}
        await asyncio.to_thread(self.layers.collect_garbage, in_use)
        await self.containers.restore.restore()
        self.containers.logs.start_ticker()
        for rt in self.runtimes.values():
            message = rt.security_warning()
            if message:
                log.warning("%s", message)
        log.info("daemon ready: data root %s, driver %s, runtime %s, firewall %s", cfg.data_root,
                 self.driver.name, cfg.default_runtime, backend)

    async def _runtimes(self) -> Runtimes:
        runtimes = Runtimes(self.cfg.runtimes, self.cfg.default_runtime, self.cfg.exec_root)
        await runtimes.probe()
        if self.cfg.default_runtime not in runtimes:
            raise DaemonStartError(f"default runtime {self.cfg.default_runtime} is not configured")
        default = runtimes.get(self.cfg.default_runtime)
        if not default.available:
            raise DaemonStartError(f"default runtime {default.name} cannot run containers "
                                   f"here: {default.reason}")
        return runtimes

    # -- views -----------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        plugins = {"Volume": ["local"] + self.volumes.plugin_names(),
                   "Network": sorted(NETWORK_DRIVERS),
                   "Log": self.log_drivers.names()}
        doc = system.info_doc(self.cfg, self.containers.views.counts(), self.images.catalog.count(),
                              self.driver.name, self.driver.status(), self.runtimes.by_name,
                              self.conmon_version, self.instance_id, self.warnings, plugins)
        doc["RegistryConfig"] = self.distribution.registry_config()
        return doc

    async def disk_usage(self, kinds: set[str], api_version: tuple[int, ...]) -> dict[str, Any]:
        """`/system/df`: what each kind of object holds on disk."""
        doc: dict[str, Any] = {}
        if "image" in kinds:
            doc["LayersSize"], doc["Images"] = self.images.views.disk_usage(api_version)
        if "container" in kinds:
            doc["Containers"] = self.containers.views.disk_usage()
        if "volume" in kinds:
            doc["Volumes"] = await self.volumes.disk_usage()
        if "build-cache" in kinds:
            doc["BuildCache"] = self.builds.cache_records()
        return doc

    def version(self) -> dict[str, Any]:
        return system.version_doc(self.runtimes.by_name, self.cfg.default_runtime)

    # -- shutdown ---------------------------------------------------------------------
    async def shutdown(self) -> None:
        """Stop what this instance started; a daemon that failed to start (another
        holds the data root) touches nothing of the running one's."""
        log.info("shutting down (live restore %s)", "on" if self.cfg.live_restore else "off")
        if self._services_up:
            try:
                await self.containers.restore.shutdown(self.cfg.live_restore)
                await self.ports.close()
                self.dns.close()
                await self.networks.close()
            except DockerError as exc:
                log.error("shutdown: %s", exc.message)
        if self.store is not None:
            self.store.close()
        # the data-root lock and the pidfile stay until the process is gone (main
        # removes the pidfile just before it exits): a second daemon is refused
        # for as long as this one lives, whatever state it is in


def _instance_id(conn: Any) -> str:
    row = conn.execute("SELECT value FROM meta WHERE key='id'").fetchone()
    if row:
        return row[0]
    value = str(uuid.uuid4())
    conn.execute("INSERT INTO meta(key, value) VALUES ('id', ?)", (value,))
    return value


async def _conmon_version(binary: str) -> str:
    try:
        code, out, _ = await run_command(binary, "--version")
    except (OSError, DockerError):
        return ""
    for line in out.splitlines():
        if line.startswith("conmon version"):
            return line.split()[-1]
    return ""


def _clear_scratch(path: str) -> None:
    """What loads, pulls and builds left half-done when the daemon died (spools,
    contexts): nothing references it once the daemon is down."""
    if os.path.isdir(path):
        for name in os.listdir(path):
            target = os.path.join(path, name)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target, ignore_errors=True)
            else:
                try:
                    os.unlink(target)
                except OSError:
                    pass
