"""Containers: create, start, stop, kill, wait, remove, list, inspect, logs, and
the bookkeeping that keeps them right across daemon restarts.

Each container runs under its own conmon; the daemon watches conmon through a
pidfd and never keeps a task per container.
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
import secrets
import shutil
import signal as signal_mod
import stat
from typing import Any, AsyncIterator, Callable, Iterator

from shared.api import ENGINE_VERSION
from shared.filters import Filters
from shared.timeutil import ZERO_TIME, now_rfc3339, parse_rfc3339

from ..builder.dockerfile import apply_change
from ..config import DaemonConfig
from ..errors import (
    Conflict,
    DockerError,
    InvalidParameter,
    NameConflict,
    NoSuchContainer,
    NotFound,
    NotModified,
)
from ..logging import k8sfile, rotation
from ..runtime import attach, cgroups, conmon, seccomp, spec, users
from ..runtime.attach import AttachSocket
from ..runtime.oci import OCIRuntime, run_command
from ..storage import containerfs
from ..storage.confined import Root
from ..storage.drivers.base import remove_tree
from ..storage.layers import Layer, LayerStore
from ..storage.tarwriter import tar_tree
from . import mounts as mounts_mod
from . import names as names_mod
from . import validate
from .container import Container, Waiter, network_settings_shape, new_state
from .events import Events
from .images import ImageService, container_config_shape, repository_tag
from .networks import NetworkService
from .store import Store, dumps, loads
from .streams import IteratorReader, feed_blocking, iterate_blocking
from .system import mem_total as system_mem_total

log = logging.getLogger(__name__)

CONFIG_KEYS = {"Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
               "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck",
               "ArgsEscaped", "Image", "Volumes", "WorkingDir", "Entrypoint", "NetworkDisabled",
               "MacAddress", "OnBuild", "Labels", "StopSignal", "StopTimeout", "Shell"}
LIST_FILTERS = {"ancestor", "before", "expose", "exited", "health", "id", "isolation",
                "is-task", "label", "label!", "name", "network", "publish", "since", "status",
                "volume"}
DEFAULT_STOP_TIMEOUT = 10
ROTATE_EVERY = 0.05  # seconds between looks at logs with a max-size
LOG_BATCH = 256 * 1024  # bytes of encoded log messages sent together
SIGNALS = {name[3:]: int(sig) for name, sig in signal_mod.Signals.__members__.items()
           if name.startswith("SIG") and not name.startswith("SIG_")}


def parse_signal(value: str | int | None, default: int = signal_mod.SIGKILL) -> int:
    """`KILL`, `SIGKILL` or `9`; dockerd's message for anything else."""
    if value in (None, ""):
        return int(default)
    text = str(value).upper()
    if text.isdigit():
        number = int(text)
        if number == 0 or number > 64:
            raise InvalidParameter(f"Invalid signal: {value}")
        return number
    name = text[3:] if text.startswith("SIG") else text
    if name in SIGNALS:
        return SIGNALS[name]
    if name.startswith("RTMIN") or name.startswith("RTMAX"):
        base = signal_mod.SIGRTMIN if name.startswith("RTMIN") else signal_mod.SIGRTMAX
        rest = name[5:]
        try:
            return int(base) + (int(rest) if rest else 0)
        except ValueError:
            pass
    raise InvalidParameter(f"Invalid signal: {value}")


def merge_image_config(user: dict[str, Any], image: dict[str, Any]) -> None:
    """dockerd's merge(): the image fills what the request left out."""
    if not user.get("User"):
        user["User"] = image.get("User", "")
    ports = dict(image.get("ExposedPorts") or {})
    ports.update(user.get("ExposedPorts") or {})
    user["ExposedPorts"] = ports or None
    env = list(user.get("Env") or [])
    keys = {e.split("=", 1)[0] for e in env}
    for item in image.get("Env") or []:
        if item.split("=", 1)[0] not in keys:
            env.append(item)
    user["Env"] = env
    labels = dict(image.get("Labels") or {})
    labels.update(user.get("Labels") or {})
    user["Labels"] = labels
    if not user.get("Entrypoint"):
        if not user.get("Cmd"):
            user["Cmd"] = image.get("Cmd")
        if user.get("Entrypoint") is None:
            user["Entrypoint"] = image.get("Entrypoint")
    if image.get("Healthcheck"):
        merged = dict(image["Healthcheck"])
        merged.update({k: v for k, v in (user.get("Healthcheck") or {}).items() if v})
        user["Healthcheck"] = merged
    if not user.get("WorkingDir"):
        user["WorkingDir"] = image.get("WorkingDir", "")
    volumes = dict(image.get("Volumes") or {})
    volumes.update(user.get("Volumes") or {})
    user["Volumes"] = volumes or None
    if not user.get("StopSignal"):
        user["StopSignal"] = image.get("StopSignal") or None
    if user.get("StopSignal") is None:
        user.pop("StopSignal", None)


def require_running(ctr: Container) -> None:
    """dockerd's errors for acting on a container that has no process now."""
    if ctr.restarting:
        raise Conflict(f"Container {ctr.id} is restarting, wait until the container is running")
    if not ctr.running:
        raise Conflict(f"Container {ctr.id} is not running")


def start_error(message: str) -> tuple[DockerError, int]:
    """setExitCodeFromError: the status and exit code of a failed start."""
    low = message.lower()
    if "permission denied" in low:
        return InvalidParameter(message), 126
    if "is a directory" in low:
        return InvalidParameter(message + ": permission denied"), 126
    if "not a directory" in low:
        return InvalidParameter(message + ": Are you trying to mount a directory onto a file "
                                "(or vice-versa)? Check if the specified host path exists and "
                                "is the expected type"), 127
    if any(s in low for s in ("executable file not found", "no such file or directory",
                              "system cannot find the file specified")):
        return InvalidParameter(message), 127
    return DockerError(message), 128


class ContainerService:
    def __init__(self, cfg: DaemonConfig, db: Store, layers: LayerStore, images: ImageService,
                 networks: NetworkService, events: Events,
                 runtimes: dict[str, OCIRuntime]) -> None:
        self.cfg = cfg
        self.db = db
        self.layers = layers
        self.images = images
        self.networks = networks
        self.events = events
        self.runtimes = runtimes
        self.containers: dict[str, Container] = {}
        self.names: dict[str, str] = {}
        self.root = os.path.join(cfg.data_root, "containers")
        self.run_root = os.path.join(cfg.exec_root, "containers")
        self.exit_dir = os.path.join(cfg.exec_root, "exits")
        for path in (self.root, self.run_root, self.exit_dir):
            os.makedirs(path, mode=0o700, exist_ok=True)
        self.conmon = conmon.conmon_path(cfg.conmon)
        self.health: Any = None  # the HealthMonitor, set once execs exist
        self._rotating: dict[str, tuple[Container, rotation.Policy]] = {}
        self._rotator: asyncio.Task | None = None
        self.init_binary = self._find_init()
        self._tasks: set[asyncio.Task] = set()

    def _find_init(self) -> str | None:
        for candidate in (self.cfg.init_path, "docker-init", "tini-static", "catatonit", "tini"):
            if candidate:
                found = shutil.which(candidate) or (candidate if os.path.isabs(candidate)
                                                    and os.path.exists(candidate) else None)
                if found:
                    return found
        return None

    def start_rotator(self) -> None:
        """One task for all containers whose logs have a max-size."""
        async def run() -> None:
            while True:
                await asyncio.sleep(ROTATE_EVERY)
                if self._rotating:
                    items = [(c.doc["LogPath"], p) for c, p in self._rotating.values()]
                    await asyncio.to_thread(lambda: [rotation.check(*i) for i in items])
        self._rotator = asyncio.ensure_future(run())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- lookup ----------------------------------------------------------------
    def get(self, name_or_id: str) -> Container:
        if not name_or_id:
            raise InvalidParameter(f'invalid name or ID supplied: "{name_or_id}"')
        ctr = self.containers.get(name_or_id)
        if ctr is not None:
            return ctr
        cid = self.names.get(name_or_id.lstrip("/"))
        if cid is not None:
            return self.containers[cid]
        matches = [c for i, c in self.containers.items() if i.startswith(name_or_id)]
        if len(matches) > 1:
            raise InvalidParameter(f"multiple IDs found with provided prefix: {name_or_id}")
        if not matches:
            raise NoSuchContainer(name_or_id)
        return matches[0]

    def using_image(self, image_id: str) -> list[Container]:
        return [c for c in self.containers.values() if c.image_id == image_id]

    # -- paths -------------------------------------------------------------------
    def _dir(self, cid: str) -> str:
        return os.path.join(self.root, cid)

    def _bundle(self, cid: str) -> str:
        return os.path.join(self.run_root, cid)

    # -- persistence ---------------------------------------------------------------
    async def _save(self, ctr: Container) -> None:
        doc, internal = dumps(ctr.doc), dumps(ctr.internal)
        await self.db.run(lambda c: c.execute(
            "INSERT INTO containers(id, name, image_id, doc, internal) VALUES (?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET name=excluded.name, doc=excluded.doc, "
            "internal=excluded.internal", (ctr.id, ctr.name, ctr.image_id, doc, internal)))

    # -- create --------------------------------------------------------------------
    async def create(self, body: dict[str, Any], name: str | None,
                     api_version: tuple[int, ...]) -> tuple[str, list[str]]:
        if not any(k in body for k in CONFIG_KEYS):
            raise InvalidParameter("config cannot be empty in order to create a container")
        config = {k: v for k, v in body.items() if k in CONFIG_KEYS}
        hc = dict(body.get("HostConfig") or {})
        image_ref = config.get("Image") or ""
        image = self.images.get(image_ref)
        warnings = validate.host_config(hc)
        hc.setdefault("PortBindings", {})
        if not (hc.get("LogConfig") or {}).get("Type"):
            hc["LogConfig"] = {"Type": self.cfg.log_driver,
                               "Config": dict(self.cfg.log_opts, **((hc.get("LogConfig") or {})
                                                                    .get("Config") or {}))}
        rotation.policy(hc["LogConfig"])  # an unknown driver or option is refused now
        runtime_name = hc.get("Runtime") or self.cfg.default_runtime
        runtime = self.runtimes.get(runtime_name)
        if runtime is None:
            raise InvalidParameter(f"unknown or invalid runtime name: {runtime_name}")
        hc["Runtime"] = runtime_name
        self.networks.validate_mode(hc["NetworkMode"])
        spec.capabilities(hc)  # unknown capabilities are refused now, not at start
        mount_list = mounts_mod.from_host_config(hc)
        for path in config.get("Volumes") or {}:
            mounts_mod.check_volume(path)
        if hc.get("Sysctls"):
            spec.validate_sysctls(hc["Sysctls"], hc)
        merge_image_config(config, image.container_config)
        entrypoint = list(config.get("Entrypoint") or [])
        cmd = list(config.get("Cmd") or [])
        if not entrypoint and not cmd:
            raise InvalidParameter("no command specified")
        path, args = (entrypoint[0], entrypoint[1:] + cmd) if entrypoint else (cmd[0], cmd[1:])
        cid = secrets.token_hex(32)
        if name:
            name = names_mod.validate(name)
            owner = self.names.get(name)
            if owner is not None:
                raise NameConflict(name, owner)
        else:
            name = names_mod.generate(self.names)
        self.names[name] = cid  # reserved before the first await: one winner per name
        try:
            if hc["NetworkMode"] == "host":
                config.setdefault("Hostname", os.uname().nodename)
            if not config.get("Hostname"):
                config["Hostname"] = cid[:12]
            config["Image"] = image_ref
            top = image.top_layer
            await asyncio.to_thread(self._create_layers, cid, top)
            cdir = self._dir(cid)
            settings = network_settings_shape()
            settings["Networks"] = self.networks.initial_settings(hc["NetworkMode"])
            doc = {
                "Id": cid, "Created": now_rfc3339(), "Path": path, "Args": args,
                "State": new_state(), "Image": image.id,
                "ResolvConfPath": os.path.join(cdir, "resolv.conf"),
                "HostnamePath": os.path.join(cdir, "hostname"),
                "HostsPath": os.path.join(cdir, "hosts"),
                "LogPath": os.path.join(cdir, f"{cid}-json.log"),
                "Name": "/" + name, "RestartCount": 0, "Driver": self.layers.driver.name,
                "Platform": "linux", "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
                "ExecIDs": None, "HostConfig": hc,
                "Mounts": mounts_mod.inspect_shape(mount_list), "Config": config,
                "NetworkSettings": settings,
            }
            internal = {"rw_layer": cid, "top_layer": top, "runtime": runtime_name,
                        "mounts": mount_list}
            ctr = Container(cid, name, doc, internal)
            await self._save(ctr)
        except BaseException:
            self.names.pop(name, None)
            await asyncio.to_thread(self._remove_layers, cid, image.top_layer, missing_ok=True)
            raise
        self.containers[cid] = ctr
        self.events.publish("container", "create", cid, self._event_attrs(ctr))
        return cid, warnings

    def _create_layers(self, cid: str, top: str | None) -> None:
        self.layers.acquire(top)
        try:
            init_id = self.layers.ensure_init(top, setup_init_layer)
            self.layers.create_rw(cid, init_id)
            os.makedirs(self._dir(cid), mode=0o700, exist_ok=True)
        except BaseException:
            self.layers.release(top)
            raise

    def _remove_layers(self, cid: str, top: str | None, missing_ok: bool = False) -> None:
        driver = self.layers.driver
        if driver.exists(cid):
            driver.remove(cid)
        elif not missing_ok:
            log.warning("container %s had no layer", cid)
        if not missing_ok or top is not None:
            try:
                self.layers.release(top)
            except KeyError:
                pass
        remove_tree(self._dir(cid))
        remove_tree(self._bundle(cid))

    def _event_attrs(self, ctr: Container, **extra: str) -> dict[str, str]:
        attrs = dict(ctr.config.get("Labels") or {})
        attrs.update(image=ctr.config.get("Image", ""), name=ctr.name)
        attrs.update(extra)
        return attrs

    # -- start ---------------------------------------------------------------------
    async def start(self, ctr: Container, by_policy: bool = False) -> None:
        """Start; a start that is not a restart policy's begins its count anew."""
        async with ctr.lock:
            if ctr.paused:
                raise Conflict("cannot start a paused container, try unpause instead")
            if ctr.running or ctr.restarting:
                raise NotModified("container already started")
            if ctr.removing or ctr.state.get("Dead"):
                raise Conflict("container is marked for removal and cannot be started")
            if not by_policy:
                ctr.doc["RestartCount"] = 0
                ctr.internal["restart_backoff"] = 0
            try:
                await self._start_locked(ctr)
            except DockerError as exc:
                await self._start_failed(ctr, exc)
                raise
            except Exception as exc:
                log.exception("starting %s failed", ctr.id)
                wrapped = DockerError(str(exc))
                await self._start_failed(ctr, wrapped)
                raise wrapped from exc
        if self.health is not None:
            self.health.start(ctr)
        self.events.publish("container", "start", ctr.id, self._event_attrs(ctr))

    async def _start_failed(self, ctr: Container, exc: DockerError) -> None:
        code = getattr(exc, "exit_code", None) or 128
        ctr.state.update(Error=exc.message, ExitCode=code)
        ctr.set_status("created" if ctr.state["StartedAt"] == ZERO_TIME else "exited")
        await self._save(ctr)
        for waiter in list(ctr.waiters):
            if waiter.condition != "removed":
                ctr.waiters.remove(waiter)
                if not waiter.future.done():
                    waiter.future.set_result((code, exc.message))
        if ctr.host_config.get("AutoRemove"):
            self._spawn(self._auto_remove(ctr))

    async def _start_locked(self, ctr: Container) -> None:
        runtime = self.runtimes[ctr.internal.get("runtime") or self.cfg.default_runtime]
        if not runtime.available:
            raise DockerError(f"runtime {runtime.name} is not available: {runtime.reason}")
        bundle = self._bundle(ctr.id)
        mode = ctr.host_config.get("NetworkMode", "bridge")
        netns_path = None
        if mode.startswith("container:"):
            other = self.get(mode.split(":", 1)[1])
            if not other.running or other.state["Pid"] <= 0:
                raise Conflict(f"cannot join network of a non running container: {other.id}")
            netns_path = f"/proc/{other.state['Pid']}/ns/net"
        self.networks.allocate(ctr)
        rootfs = ""
        spawned = None
        try:
            rootfs = await asyncio.to_thread(self._prepare, ctr, bundle, runtime, netns_path)
            log_policy = rotation.policy(ctr.host_config.get("LogConfig"))
            no_log = (ctr.host_config.get("LogConfig") or {}).get("Type") == "none"
            try:
                spawned, sync = await conmon.spawn(self.conmon, runtime, conmon.ConmonOptions(
                    container_id=ctr.id, name=ctr.name, bundle=bundle,
                    log_path=None if no_log else ctr.doc["LogPath"], exit_dir=self.exit_dir,
                    tty=ctr.tty, stdin=bool(ctr.config.get("OpenStdin")),
                    stdin_once=bool(ctr.config.get("StdinOnce")),
                    log_size_max=log_policy.max_size))
                sync.close()
            except DockerError as exc:
                err, code = start_error(exc.message)
                err.exit_code = code  # type: ignore[attr-defined]
                raise err from None
            if log_policy.max_size:
                await asyncio.to_thread(rotation.hold, ctr.doc["LogPath"])
                self._rotating[ctr.id] = (ctr, log_policy)
            if mode not in ("host", "none") and netns_path is None:
                await self.networks.attach(ctr, spawned.pid)
            elif netns_path is not None:
                ctr.doc["NetworkSettings"]["SandboxKey"] = netns_path
            await self._connect_attachers(ctr, bundle)
            await runtime.start(ctr.id)
        except BaseException:
            if spawned is not None:
                await runtime.delete(ctr.id)
            self.networks.release(ctr)
            await self.networks.detach(ctr)
            self._fail_attachers(ctr)
            if rootfs:
                await asyncio.to_thread(self.layers.driver.put, ctr.internal["rw_layer"])
            raise
        st = ctr.state
        st.update(Pid=spawned.pid, ExitCode=0, Error="", StartedAt=now_rfc3339(),
                  FinishedAt=ZERO_TIME, OOMKilled=False)
        ctr.set_status("running")
        ctr.internal.update(conmon_pid=spawned.conmon_pid, pid_start=spawned.start_time,
                            started_once=True, user_stopped=False)
        ctr.stop_requested = False
        ctr.stopped_event.clear()
        ctr.exit_handled = asyncio.Event()
        await self._save(ctr)
        self._watch(ctr, spawned.conmon_pid, spawned.pid)

    def _prepare(self, ctr: Container, bundle: str, runtime: OCIRuntime,
                 netns_path: str | None) -> str:
        """Blocking part of start: mount, files, user, config.json."""
        remove_tree(bundle)
        os.makedirs(bundle, mode=0o700)
        driver = self.layers.driver
        rootfs = driver.get(ctr.internal["rw_layer"])
        try:
            config = ctr.config
            hc = ctr.host_config
            workdir = config.get("WorkingDir") or "/"
            with Root(rootfs) as root:
                os.close(root.open_dir(workdir, create=True))
                for path in self._volume_dirs(ctr):
                    os.close(root.open_dir(path, create=True))
            user = users.resolve(rootfs, config.get("User", ""), hc.get("GroupAdd"))
            self._write_network_files(ctr)
            rotation.before_start(ctr.doc["LogPath"], rotation.policy(hc.get("LogConfig")))
            profile = self._seccomp_profile(hc)
            inputs = spec.SpecInputs(
                rootfs=rootfs, user=user, hostname_path=ctr.doc["HostnamePath"],
                hosts_path=ctr.doc["HostsPath"], resolv_conf_path=ctr.doc["ResolvConfPath"],
                cgroups_path=f"/{self.cfg.effective_cgroup_parent}/{ctr.id}",
                netns_path=netns_path, host_network=hc.get("NetworkMode") == "host",
                seccomp_profile=profile, init_binary=self.init_binary,
                extra_mounts=mounts_mod.oci_mounts(ctr.internal.get("mounts") or []))
            oci = spec.build(ctr.doc, inputs)
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(oci, f)
        except BaseException:
            driver.put(ctr.internal["rw_layer"])
            raise
        return rootfs

    @staticmethod
    def _volume_dirs(ctr: Container) -> list[str]:
        """Paths the config declares as volumes and no mount covers: until named and
        anonymous volumes exist, they are directories of the container's layer."""
        mounted = {m["Destination"] for m in ctr.internal.get("mounts") or []}
        return [p for p in (ctr.config.get("Volumes") or {}) if p not in mounted]

    def _seccomp_profile(self, hc: dict[str, Any]) -> dict[str, Any] | None:
        for opt in hc.get("SecurityOpt") or []:
            key, _, value = opt.replace(":", "=", 1).partition("=")
            if key == "seccomp":
                if value == "unconfined":
                    return None
                return seccomp.parse_profile(value)
        try:
            return seccomp.load_profile(self.cfg.seccomp_profile)
        except OSError:
            log.warning("seccomp profile %s is missing: containers run without one",
                        self.cfg.seccomp_profile)
            return None

    def _write_network_files(self, ctr: Container) -> None:
        config, hc = ctr.config, ctr.host_config
        hostname = config.get("Hostname", "")
        host_mode = hc.get("NetworkMode") == "host"
        _write(ctr.doc["HostnamePath"], hostname + "\n")
        _write(ctr.doc["HostsPath"], hosts_file(ctr, host_mode))
        _write(ctr.doc["ResolvConfPath"], resolv_conf(self.cfg, hc, host_mode))

    async def _connect_attachers(self, ctr: Container, bundle: str) -> None:
        """Attach requests that arrived before start get their socket now, before
        the process runs, so no output is lost."""
        queue, ctr.attach_queue = ctr.attach_queue, []
        for future in queue:
            if future.done():
                continue
            try:
                future.set_result(await AttachSocket.connect(bundle))
            except OSError as exc:
                future.set_exception(DockerError(f"attach failed: {exc}"))

    def _fail_attachers(self, ctr: Container) -> None:
        queue, ctr.attach_queue = ctr.attach_queue, []
        for future in queue:
            if not future.done():
                future.set_result(None)

    def _watch(self, ctr: Container, conmon_pid: int, pid: int) -> None:
        try:
            ctr.pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            ctr.pidfd = -1
        ctr.watcher = conmon.ExitWatcher(conmon_pid, lambda: self._spawn(self._on_exit(ctr)))

    # -- exit ------------------------------------------------------------------------
    async def _on_exit(self, ctr: Container) -> None:
        async with ctr.lock:
            if not ctr.running:
                return
            code, oom = conmon.read_exit_file(self._bundle(ctr.id))
            if code is None:
                code = 255
                ctr.state["Error"] = "the container monitor exited unexpectedly"
            await self._cleanup_after_exit(ctr)
            st = ctr.state
            st.update(ExitCode=code, OOMKilled=oom, Pid=0, FinishedAt=now_rfc3339())
            ctr.set_status("exited")
            await self._save(ctr)
            if oom:
                self.events.publish("container", "oom", ctr.id, self._event_attrs(ctr))
            self.events.publish("container", "die", ctr.id,
                                self._event_attrs(ctr, exitCode=str(code)))
            self._notify_exit(ctr, code)
        if ctr.host_config.get("AutoRemove"):
            await self._auto_remove(ctr)
        else:
            await self._maybe_restart(ctr, code)

    def _notify_exit(self, ctr: Container, code: int) -> None:
        ctr.stopped_event.set()
        if ctr.exit_handled is not None:
            ctr.exit_handled.set()
        for waiter in list(ctr.waiters):
            if waiter.condition in ("not-running", "next-exit"):
                ctr.waiters.remove(waiter)
                if not waiter.future.done():
                    waiter.future.set_result((code, None))

    async def _cleanup_after_exit(self, ctr: Container) -> None:
        entry = self._rotating.pop(ctr.id, None)
        if entry is not None:  # a last look: conmon may have replaced the file at the end
            await asyncio.to_thread(rotation.check, ctr.doc["LogPath"], entry[1])
        if self.health is not None:
            self.health.stop(ctr)
        if ctr.watcher is not None:
            ctr.watcher.close()
            ctr.watcher = None
        if ctr.pidfd >= 0:
            os.close(ctr.pidfd)
            ctr.pidfd = -1
        runtime = self.runtimes.get(ctr.internal.get("runtime") or self.cfg.default_runtime)
        if runtime is not None:
            await runtime.delete(ctr.id)
        await self.networks.detach(ctr)
        self.networks.release(ctr)
        await asyncio.to_thread(self.layers.driver.put, ctr.internal["rw_layer"])

    async def _auto_remove(self, ctr: Container) -> None:
        try:
            await self.remove(ctr, force=True)
        except DockerError as exc:
            log.error("auto-removing %s failed: %s", ctr.id, exc.message)

    async def _maybe_restart(self, ctr: Container, code: int) -> None:
        """Restart policies: applied after an exit the user did not ask for."""
        policy = ctr.host_config.get("RestartPolicy") or {}
        name = policy.get("Name", "no")
        if ctr.stop_requested or ctr.removing or name == "no":
            return
        if name == "on-failure":
            if code == 0:
                return
            limit = policy.get("MaximumRetryCount") or 0
            if limit and ctr.doc["RestartCount"] >= limit:
                return
        ran = (parse_rfc3339(ctr.state["FinishedAt"]) - parse_rfc3339(ctr.state["StartedAt"])) / 1e9
        if ran >= 10:  # as dockerd: a container that ran a while starts its backoff anew
            ctr.internal["restart_backoff"] = 0
        backoff = ctr.internal.get("restart_backoff", 0)
        delay = min(0.1 * 2 ** min(backoff, 10), 60)
        ctr.internal["restart_backoff"] = backoff + 1
        ctr.set_status("restarting")
        await self._save(ctr)
        await asyncio.sleep(delay)
        if not ctr.restarting or ctr.removing or ctr.id not in self.containers:
            return  # stopped, killed or removed meanwhile
        ctr.doc["RestartCount"] += 1
        ctr.set_status("exited")
        try:
            await self.start(ctr, by_policy=True)
            self.events.publish("container", "restart", ctr.id, self._event_attrs(ctr))
        except DockerError as exc:
            log.warning("restarting %s failed: %s", ctr.id, exc.message)

    # -- signals ------------------------------------------------------------------------
    def _signal(self, ctr: Container, sig: int) -> None:
        if ctr.pidfd >= 0:
            try:
                signal_mod.pidfd_send_signal(ctr.pidfd, sig)
            except ProcessLookupError:
                pass
            return
        pid = ctr.state.get("Pid") or 0
        if pid > 0 and conmon.pid_alive(pid, ctr.internal.get("pid_start", 0)):
            os.kill(pid, sig)

    async def _cancel_restart(self, ctr: Container) -> None:
        """`docker stop`/`kill` of a container waiting for its restart: it stays down."""
        async with ctr.lock:
            ctr.stop_requested = True
            ctr.set_status("exited")
            await self._save(ctr)

    async def kill(self, ctr: Container, sig_text: str | None) -> None:
        sig = parse_signal(sig_text)
        if ctr.restarting:
            await self._cancel_restart(ctr)
            self.events.publish("container", "kill", ctr.id,
                                self._event_attrs(ctr, signal=str(sig)))
            return
        async with ctr.lock:
            if not ctr.running:
                raise Conflict(f"Cannot kill container: {ctr.id}: container {ctr.id} "
                               "is not running")
            if ctr.paused and sig != signal_mod.SIGKILL:
                raise Conflict(f"Cannot kill container: {ctr.id}: container {ctr.id} is paused. "
                               "Unpause the container before stopping or killing")
            stop_signal = ctr.config.get("StopSignal")
            if sig == signal_mod.SIGKILL or not stop_signal or parse_signal(stop_signal) == sig:
                ctr.stop_requested = True  # as dockerd: the exit this causes is not restarted
            ctr.internal["user_stopped"] = True
            self._signal(ctr, sig)
            done = ctr.exit_handled
        self.events.publish("container", "kill", ctr.id,
                            self._event_attrs(ctr, signal=str(sig)))
        if sig == signal_mod.SIGKILL and done is not None:
            # as dockerd: a SIGKILL returns once the container is down
            try:
                await asyncio.wait_for(done.wait(), 10)
            except asyncio.TimeoutError:
                log.warning("container %s did not exit 10s after SIGKILL", ctr.id)

    async def stop(self, ctr: Container, timeout: int | None = None,
                   sig_text: str | None = None) -> None:
        if ctr.restarting:
            ctr.internal["user_stopped"] = True
            await self._cancel_restart(ctr)
            self.events.publish("container", "stop", ctr.id, self._event_attrs(ctr))
            return
        if not ctr.running:
            raise NotModified("container already stopped")
        sig = parse_signal(sig_text or ctr.config.get("StopSignal"), signal_mod.SIGTERM)
        if timeout is None:
            timeout = ctr.config.get("StopTimeout")
            if timeout is None:
                timeout = DEFAULT_STOP_TIMEOUT
        ctr.stop_requested = True
        ctr.internal["user_stopped"] = True
        done = ctr.exit_handled
        async with ctr.lock:
            if not ctr.running:
                return
            if ctr.paused:
                await self._unpause_for_kill(ctr)
            self._signal(ctr, sig)
        self.events.publish("container", "kill", ctr.id, self._event_attrs(ctr, signal=str(sig)))
        if done is not None and timeout >= 0:
            try:
                await asyncio.wait_for(done.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        if ctr.running:
            async with ctr.lock:
                if ctr.running:
                    self._signal(ctr, signal_mod.SIGKILL)
            self.events.publish("container", "kill", ctr.id,
                                self._event_attrs(ctr, signal=str(int(signal_mod.SIGKILL))))
            if done is not None:
                await done.wait()
        self.events.publish("container", "stop", ctr.id, self._event_attrs(ctr))

    async def restart(self, ctr: Container, timeout: int | None = None,
                      sig_text: str | None = None) -> None:
        if ctr.running:
            await self.stop(ctr, timeout, sig_text)
        await self.start(ctr)
        self.events.publish("container", "restart", ctr.id, self._event_attrs(ctr))

    async def _unpause_for_kill(self, ctr: Container) -> None:
        await self._runtime(ctr).resume(ctr.id)
        ctr.set_status("running")

    # -- wait ----------------------------------------------------------------------------
    def register_wait(self, ctr: Container, condition: str) -> asyncio.Future:
        """A future of (exit code, error) for the condition, registered at once so
        that an exit right after this call is not missed (`docker run` sends its
        wait before its start)."""
        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidParameter(f"invalid condition: \"{condition}\"")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        if condition == "not-running" and not ctr.running and ctr.status != "restarting":
            future.set_result((ctr.state["ExitCode"], ctr.state.get("Error") or None))
        else:
            ctr.waiters.append(Waiter(condition, future))
        return future

    def cancel_wait(self, ctr: Container, future: asyncio.Future) -> None:
        ctr.waiters = [w for w in ctr.waiters if w.future is not future]

    async def wait(self, ctr: Container, condition: str) -> tuple[int, str | None]:
        future = self.register_wait(ctr, condition)
        try:
            return await future
        finally:
            self.cancel_wait(ctr, future)

    # -- remove ---------------------------------------------------------------------------
    async def remove(self, ctr: Container, force: bool = False, volumes: bool = False) -> None:
        if ctr.removing:
            if ctr.id not in self.containers:
                return
            raise Conflict(f"removal of container {ctr.name} is already in progress")
        if ctr.restarting and not force:
            raise Conflict(f"You cannot remove a restarting container {ctr.id}. Stop the "
                           "container before attempting removal or force remove")
        if ctr.running and not force:
            if ctr.paused:
                raise Conflict(f'cannot remove container "/{ctr.name}": container is paused '
                               "and must be unpaused first")
            raise Conflict(f'cannot remove container "/{ctr.name}": container is running: '
                           "stop the container before removing or force remove")
        ctr.removing = True
        try:
            if ctr.running:
                ctr.stop_requested = True
                await self.stop(ctr, timeout=0, sig_text="KILL")
            async with ctr.lock:
                ctr.set_status("removing")
                await self.db.run(lambda c: c.execute("DELETE FROM containers WHERE id=?",
                                                      (ctr.id,)))
                self.containers.pop(ctr.id, None)
                if self.names.get(ctr.name) == ctr.id:
                    self.names.pop(ctr.name, None)
                await asyncio.to_thread(self._remove_layers, ctr.id, ctr.internal.get("top_layer"))
                ctr.set_status("dead")
        except BaseException:
            ctr.removing = False
            raise
        self.events.publish("container", "destroy", ctr.id, self._event_attrs(ctr))
        ctr.stopped_event.set()
        for waiter in ctr.waiters:
            if not waiter.future.done():
                waiter.future.set_result((ctr.state["ExitCode"], None))
        ctr.waiters.clear()

    # -- views ------------------------------------------------------------------------------
    def inspect(self, ctr: Container, api_version: tuple[int, ...], size: bool = False) -> dict:
        driver = self.layers.driver
        graph = {"Name": driver.name, "Data": driver.metadata(ctr.internal["rw_layer"]) or None}
        sizes = None
        if size:
            sizes = {"rw": driver.size(ctr.internal["rw_layer"]),
                     "rootfs": self._image_size(ctr) + driver.size(ctr.internal["rw_layer"])}
        return ctr.inspect(graph, api_version, sizes)

    def _image_size(self, ctr: Container) -> int:
        return sum(layer.size for layer in self.layers.chain(ctr.internal.get("top_layer")))

    def list(self, show_all: bool, limit: int, size: bool, filters: Filters) -> list[dict]:
        filters.validate(LIST_FILTERS)
        containers = sorted(self.containers.values(), key=lambda c: c.doc["Created"],
                            reverse=True)
        if limit > 0:
            show_all = True
        before = self._bound(filters, "before")
        since = self._bound(filters, "since")
        out = []
        for ctr in containers:
            if before is not None and ctr.doc["Created"] >= before:
                continue
            if since is not None and ctr.doc["Created"] <= since:
                continue
            if not show_all and not ctr.running and "status" not in filters \
                    and "exited" not in filters:
                continue
            if not self._match(ctr, filters):
                continue
            out.append(self.summary(ctr, size))
            if limit > 0 and len(out) >= limit:
                break
        return out

    def _bound(self, filters: Filters, key: str) -> str | None:
        if key not in filters:
            return None
        values = [self.get(v).doc["Created"] for v in filters.get(key)]
        return min(values) if key == "before" else max(values)

    def _match(self, ctr: Container, filters: Filters) -> bool:
        if "id" in filters and not any(ctr.id.startswith(v) for v in filters.get("id")):
            return False
        if "name" in filters:
            if not any(re.search(v.lstrip("/") if v.startswith("/") else v, ctr.name)
                       or re.search(v, "/" + ctr.name) for v in filters.get("name")):
                return False
        if "status" in filters:
            for value in filters.get("status"):
                if value not in ("created", "restarting", "running", "removing", "paused",
                                 "exited", "dead"):
                    raise InvalidParameter(f"invalid filter 'status={value}'")
            if ctr.status not in filters.get("status"):
                return False
        if "exited" in filters:
            codes = set()
            for value in filters.get("exited"):
                try:
                    codes.add(int(value))
                except ValueError:
                    raise InvalidParameter(f"invalid filter 'exited={value}'") from None
            if ctr.running or ctr.status != "exited" or ctr.state["ExitCode"] not in codes:
                return False
        labels = ctr.config.get("Labels") or {}
        if not filters.match_all_labels(labels):
            return False
        if "ancestor" in filters and not self._match_ancestor(ctr, filters.get("ancestor")):
            return False
        if "network" in filters:
            nets = ctr.doc["NetworkSettings"].get("Networks") or {}
            ids = {ep.get("NetworkID", "") for ep in nets.values()}
            if not any(v in nets or any(i.startswith(v) for i in ids if i)
                       for v in filters.get("network")):
                return False
        if "health" in filters:
            health = (ctr.state.get("Health") or {}).get("Status", "none")
            if health not in filters.get("health"):
                return False
        if "volume" in filters:
            mounts = ctr.doc.get("Mounts") or []
            if not any(m.get("Name") == v or m.get("Destination") == v or m.get("Source") == v
                       for m in mounts for v in filters.get("volume")):
                return False
        if "is-task" in filters and filters.match_bool("is-task", True):
            return False
        return True

    def _match_ancestor(self, ctr: Container, values: set[str]) -> bool:
        for value in values:
            try:
                image = self.images.get(value)
            except DockerError:
                continue
            if ctr.image_id == image.id:
                return True
            # an image built on top of the asked one also matches
            parent = self.images.store.images.get(ctr.image_id)
            while parent is not None and parent.meta.get("Parent"):
                if parent.meta["Parent"] == image.id:
                    return True
                parent = self.images.store.images.get(parent.meta["Parent"])
        return False

    def summary(self, ctr: Container, size: bool) -> dict[str, Any]:
        image_name = ctr.config.get("Image") or ctr.image_id
        image = self.images.store.images.get(ctr.image_id)
        if image is None or image_name == ctr.image_id:
            image_name = ctr.image_id
        else:
            try:
                if self.images.get(image_name).id != ctr.image_id:
                    image_name = ctr.image_id
            except DockerError:
                image_name = ctr.image_id
        networks = {}
        for net_name, ep in (ctr.doc["NetworkSettings"].get("Networks") or {}).items():
            networks[net_name] = dict(ep)
        doc: dict[str, Any] = {
            "Id": ctr.id, "Names": ["/" + ctr.name], "Image": image_name,
            "ImageID": ctr.image_id,
            "Command": " ".join([ctr.doc["Path"]] + list(ctr.doc["Args"])),
            "Created": ctr.created_ns // 1_000_000_000, "Ports": [],
            "Labels": ctr.config.get("Labels") or {}, "State": ctr.status,
            "Status": ctr.status_text(),
            "HostConfig": {"NetworkMode": ctr.host_config.get("NetworkMode", "bridge")},
            "NetworkSettings": {"Networks": networks}, "Mounts": ctr.doc.get("Mounts") or [],
        }
        if size:
            rw = self.layers.driver.size(ctr.internal["rw_layer"])
            doc["SizeRw"] = rw
            doc["SizeRootFs"] = rw + self._image_size(ctr)
        return doc

    # -- filesystem -------------------------------------------------------------------------------
    async def changes(self, ctr: Container) -> list[dict[str, Any]] | None:
        found = await asyncio.to_thread(self.layers.driver.changes, ctr.internal["rw_layer"])
        return [c.doc() for c in found] or None

    def export(self, ctr: Container) -> AsyncIterator[bytes]:
        """The container's whole filesystem as a tar stream."""
        driver = self.layers.driver
        rw = ctr.internal["rw_layer"]

        def produce():  # type: ignore[no-untyped-def]
            root = driver.get(rw)
            try:
                yield from tar_tree(root)
            finally:
                driver.put(rw)
        self.events.publish("container", "export", ctr.id, self._event_attrs(ctr))
        return iterate_blocking(produce)

    async def commit(self, ctr: Container, repo: str | None, tag: str | None, author: str,
                     comment: str, changes: list[str], config: dict[str, Any] | None,
                     pause: bool) -> str:
        """A new image: the container's image plus its changes as one layer."""
        ref = repository_tag(repo, tag) if repo else None
        image = self.images.store.images.get(ctr.image_id)
        if image is None:
            raise Conflict(f"the image of container {ctr.id} is gone")
        paused_here = False
        if pause and ctr.running and not ctr.paused:
            await self.pause(ctr)
            paused_here = True
        try:
            layer = await asyncio.to_thread(self._commit_layer, ctr, image.top_layer)
        finally:
            if paused_here:
                await self.unpause(ctr)
        try:
            raw = commit_config(image.config, ctr, author, comment, changes, config, layer)
            new = await self.images.add_image(raw, [ref] if ref else [], {"Parent": image.id},
                                              acquired_top=layer is not None)
        except BaseException:
            if layer is not None:
                await asyncio.to_thread(self.layers.release, layer.chain_id)
            raise
        self.events.publish("container", "commit", ctr.id,
                            self._event_attrs(ctr, comment=comment))
        return new.id

    def _commit_layer(self, ctr: Container, top: str | None) -> Layer | None:
        """Register the container's changes; None when there are none (an empty
        layer, which Docker records only in the history)."""
        layer = self.layers.register(IteratorReader(self.layers.driver.diff(
            ctr.internal["rw_layer"])), top)
        if layer.diff_id == EMPTY_LAYER_DIFF_ID:
            self.layers.release(layer.chain_id)
            if top is not None:
                self.layers.acquire(top)  # the image's top stands in for the empty layer
            return None
        return layer

    # -- top, stats, rename, update, prune ------------------------------------------------------
    def cgroup(self, ctr: Container) -> cgroups.Cgroup:
        return cgroups.Cgroup(f"/{self.cfg.effective_cgroup_parent}/{ctr.id}")

    async def top(self, ctr: Container, ps_args: str) -> dict[str, Any]:
        """The host's `ps` over the container's processes (never a binary of the
        container's, CVE-2022-1227)."""
        require_running(ctr)
        pids = set(await asyncio.to_thread(self.cgroup(ctr).pids))
        args = (ps_args or "-ef").split()
        code, out, err = await run_command("ps", *args)
        if code != 0:
            raise DockerError(f"Error running ps: {err.strip() or out.strip()}")
        lines = out.splitlines()
        titles = lines[0].split() if lines else []
        if "PID" not in titles:
            raise DockerError("Couldn't find PID field in ps output")
        col = titles.index("PID")
        processes = []
        for line in lines[1:]:
            fields = line.split(None, len(titles) - 1)
            if len(fields) > col and fields[col].isdigit() and int(fields[col]) in pids:
                processes.append(fields)
        return {"Titles": titles, "Processes": processes}

    async def stats_sample(self, ctr: Container) -> dict[str, Any]:
        sample = await asyncio.to_thread(cgroups.sample, self.cgroup(ctr), ctr.state.get("Pid", 0),
                                         system_mem_total())
        sample.update(name="/" + ctr.name, id=ctr.id)
        return sample

    async def rename(self, ctr: Container, new_name: str) -> None:
        if not new_name:
            raise InvalidParameter("Neither old nor new names may be empty")
        new = names_mod.validate(new_name)
        old = ctr.name
        if new == old:
            raise InvalidParameter("Renaming a container with the same name as its current "
                                   "name")
        owner = self.names.get(new)
        if owner is not None:
            raise NameConflict(new, owner)
        self.names[new] = ctr.id
        try:
            ctr.name = new
            ctr.doc["Name"] = "/" + new
            await self._save(ctr)
        except BaseException:
            ctr.name = old
            ctr.doc["Name"] = "/" + old
            self.names.pop(new, None)
            raise
        self.names.pop(old, None)
        self.events.publish("container", "rename", ctr.id,
                            self._event_attrs(ctr, oldName="/" + old))

    async def update(self, ctr: Container, body: dict[str, Any]) -> list[str]:
        """New resource limits and restart policy, applied at once if it runs."""
        merged, warnings = validate.updated_host_config(ctr.host_config, body)
        changes = {k for k in merged if merged[k] != ctr.host_config.get(k)} - {"RestartPolicy"}
        async with ctr.lock:
            if ctr.running and changes:
                resources = spec.resources_of(merged, bool(merged.get("Privileged")))
                resources.pop("devices", None)
                await self._runtime(ctr).update(ctr.id, resources)
            ctr.doc["HostConfig"] = merged
            await self._save(ctr)
        self.events.publish("container", "update", ctr.id, self._event_attrs(ctr))
        return warnings

    async def prune(self, filters: Filters) -> dict[str, Any]:
        filters.validate({"until", "label", "label!"})
        until = filters.until_ns()
        deleted, reclaimed = [], 0
        for ctr in list(self.containers.values()):
            if ctr.running or ctr.status in ("removing", "restarting"):
                continue
            labels = ctr.config.get("Labels") or {}
            if not filters.match_all_labels(labels):
                continue
            if until is not None and ctr.created_ns >= until:
                continue
            size = await asyncio.to_thread(self.layers.driver.size, ctr.internal["rw_layer"])
            try:
                await self.remove(ctr)
            except DockerError:
                continue
            deleted.append(ctr.id)
            reclaimed += size
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # -- docker cp ----------------------------------------------------------------------------
    async def _open_fs(self, ctr: Container) -> tuple[str, Any]:
        """The container's filesystem as it sees it: /proc/<pid>/root while it runs
        (mounts included), else its mounted layers. Returns (path, release)."""
        pid = ctr.state.get("Pid") or 0
        if ctr.running and pid > 0 and conmon.pid_alive(pid, ctr.internal.get("pid_start", 0)):
            return f"/proc/{pid}/root", None
        rw = ctr.internal["rw_layer"]
        return await asyncio.to_thread(self.layers.driver.get, rw), rw

    async def _close_fs(self, release: Any) -> None:
        if release is not None:
            await asyncio.to_thread(self.layers.driver.put, release)

    async def stat_path(self, ctr: Container, path: str) -> dict[str, Any]:
        root, release = await self._open_fs(ctr)
        try:
            return await asyncio.to_thread(containerfs.path_stat, root, path)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"Could not find the file {path} in container {ctr.name}") from None
        finally:
            await self._close_fs(release)

    async def archive_path(self, ctr: Container,
                           path: str) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        """(stat, tar stream) of a path, for `docker cp CONTAINER:PATH`."""
        root, release = await self._open_fs(ctr)
        try:
            info = await asyncio.to_thread(containerfs.path_stat, root, path)
        except (FileNotFoundError, NotADirectoryError):
            await self._close_fs(release)
            raise NotFound(f"Could not find the file {path} in container {ctr.name}") from None

        def produce():  # type: ignore[no-untyped-def]
            try:
                yield from containerfs.tar_path(root, path)
            finally:
                if release is not None:
                    self.layers.driver.put(release)
        self.events.publish("container", "archive-path", ctr.id, self._event_attrs(ctr))
        return info, iterate_blocking(produce)

    async def extract_to(self, ctr: Container, path: str, source: AsyncIterator[bytes],
                         copy_uid_gid: bool, no_overwrite_dir_non_dir: bool) -> None:
        """`docker cp SRC CONTAINER:PATH`: unpack a tar into the directory path."""
        if ctr.host_config.get("ReadonlyRootfs"):
            raise InvalidParameter("container rootfs is marked read-only")
        root, release = await self._open_fs(ctr)
        try:
            try:
                is_dir = await asyncio.to_thread(containerfs.is_directory, root, path)
            except (FileNotFoundError, NotADirectoryError):
                raise NotFound(f"Could not find the file {path} in container {ctr.name}") from None
            if not is_dir:
                raise InvalidParameter("extraction point is not a directory")
            owner: tuple[int, int] | None = (0, 0)
            if copy_uid_gid:
                user = await asyncio.to_thread(users.resolve, root, ctr.config.get("User", ""),
                                               ctr.host_config.get("GroupAdd"))
                owner = (user.uid, user.gid)
            await feed_blocking(source, lambda f: containerfs.extract_into(
                root, path, f, owner, no_overwrite_dir_non_dir))
        finally:
            await self._close_fs(release)
        self.events.publish("container", "extract-to-dir", ctr.id, self._event_attrs(ctr))

    async def pause(self, ctr: Container) -> None:
        async with ctr.lock:
            require_running(ctr)
            if ctr.paused:
                raise Conflict(f"Container {ctr.id} is already paused")
            await self._runtime(ctr).pause(ctr.id)
            ctr.set_status("paused")
            await self._save(ctr)
        self.events.publish("container", "pause", ctr.id, self._event_attrs(ctr))

    async def unpause(self, ctr: Container) -> None:
        async with ctr.lock:
            if not ctr.paused:
                raise Conflict(f"Container {ctr.id} is not paused")
            await self._runtime(ctr).resume(ctr.id)
            ctr.set_status("running")
            await self._save(ctr)
        self.events.publish("container", "unpause", ctr.id, self._event_attrs(ctr))

    def _runtime(self, ctr: Container) -> OCIRuntime:
        return self.runtimes[ctr.internal.get("runtime") or self.cfg.default_runtime]

    # -- logs and attach ------------------------------------------------------------------------
    def logs(self, ctr: Container, stdout: bool, stderr: bool, follow: bool, since: float,
             until: float | None, tail: int | None,
             encode: Callable[[k8sfile.Message], bytes]) -> AsyncIterator[bytes]:
        """The container's log, each message encoded for the wire, in batches (one
        hop between threads per message would cap the rate at a few MB/s)."""
        if not (stdout or stderr):
            raise InvalidParameter("Bad parameters: you must choose at least one stream")
        log_type = (ctr.host_config.get("LogConfig") or {}).get("Type", "json-file")
        if log_type == "none":
            raise InvalidParameter('configured logging driver does not support reading')
        wanted = {k8sfile.STDOUT} if stdout else set()
        if stderr:
            wanted.add(k8sfile.STDERR)
        path = ctr.doc["LogPath"]
        stop = ctr.stopped_event if follow and ctr.running else None

        def generate() -> Iterator[bytes]:
            batch: list[bytes] = []
            size = 0
            for msg in k8sfile.read_files(rotation.files_oldest_first(path),
                                          since_ns=int(since * 1e9),
                                          until_ns=int(until * 1e9) if until else None,
                                          tail=tail, follow=stop):
                if msg is not None and msg.stream in wanted:
                    data = encode(msg)
                    batch.append(data)
                    size += len(data)
                if batch and (msg is None or size >= LOG_BATCH):
                    yield b"".join(batch)
                    batch, size = [], 0
            if batch:
                yield b"".join(batch)
        return iterate_blocking(generate, depth=16)

    async def attach_socket(self, ctr: Container) -> AttachSocket | None:
        """A connection to the container's stdio: now if it runs, else at its start.
        None if it stopped (or failed to start) without one."""
        if ctr.running:
            try:
                return await AttachSocket.connect(self._bundle(ctr.id))
            except OSError:
                return None
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        ctr.attach_queue.append(future)
        return await future

    def resize(self, ctr: Container, height: int, width: int) -> None:
        if not ctr.running:
            raise Conflict(f"Container {ctr.id} is not running")
        attach.resize(self._bundle(ctr.id), height, width)

    # -- daemon start and stop ------------------------------------------------------------------
    async def load(self) -> list[Container]:
        rows = await self.db.run(lambda c: c.execute(
            "SELECT id, name, doc, internal FROM containers").fetchall())
        for cid, name, doc, internal in rows:
            try:
                ctr = Container(cid, name, loads(doc), loads(internal))
            except ValueError:
                log.error("container %s has a corrupt record; skipping it", cid)
                continue
            self.containers[cid] = ctr
            self.names[name] = cid
            try:
                self.layers.acquire(ctr.internal.get("top_layer"))
            except KeyError:
                log.error("container %s lost its image layers", cid)
        return list(self.containers.values())

    async def restore(self) -> None:
        """Reconcile with what really runs: adopt live conmons, record exits that
        happened while the daemon was down, then apply restart policies. Without
        live restore, containers that outlived the daemon are stopped first."""
        adopted = []
        for ctr in list(self.containers.values()):
            if ctr.restarting:  # its process was already gone and cleaned up
                ctr.set_status("exited")
                await self._save(ctr)
            if ctr.status in ("running", "paused") and self._adopt(ctr):
                adopted.append(ctr)
            elif ctr.status in ("running", "paused"):
                await self._record_exit_while_down(ctr)
            elif ctr.status == "removing":
                self._spawn(self.remove(ctr, force=True))
        if not self.cfg.live_restore:
            await asyncio.gather(*(self._stop_quietly(c) for c in adopted))
        for ctr in list(self.containers.values()):
            if ctr.status == "exited" and ctr.internal.get("started_once") and \
                    not ctr.host_config.get("AutoRemove") and self._restarts_on_boot(ctr):
                self._spawn(self._restart_on_boot(ctr))

    def _adopt(self, ctr: Container) -> bool:
        """Watch a container whose process and conmon still live."""
        conmon_pid = ctr.internal.get("conmon_pid", 0)
        pid = ctr.state.get("Pid", 0)
        alive = pid > 0 and conmon.pid_alive(pid, ctr.internal.get("pid_start", -1))
        if not (alive and conmon_pid > 0 and _is_conmon(conmon_pid, ctr.id)):
            return False
        if self.layers.driver.name == "overlay2":
            self.layers.driver.adopt_mount(ctr.internal["rw_layer"])  # type: ignore[attr-defined]
        ctr.exit_handled = asyncio.Event()
        self._watch(ctr, conmon_pid, pid)
        log_policy = rotation.policy(ctr.host_config.get("LogConfig"))
        if log_policy.max_size:
            self._rotating[ctr.id] = (ctr, log_policy)
        if self.health is not None:
            self.health.start(ctr)
        return True

    async def _record_exit_while_down(self, ctr: Container) -> None:
        pid = ctr.state.get("Pid", 0)
        code, oom = conmon.read_exit_file(self._bundle(ctr.id))
        if pid > 0 and conmon.pid_alive(pid, ctr.internal.get("pid_start", -1)):
            os.kill(pid, signal_mod.SIGKILL)  # the process lives but its monitor is gone
            code = 137
        await self._cleanup_after_exit(ctr)
        ctr.state.update(ExitCode=code if code is not None else 255, OOMKilled=oom, Pid=0,
                         FinishedAt=now_rfc3339())
        ctr.set_status("exited")
        await self._save(ctr)
        self.events.publish("container", "die", ctr.id,
                            self._event_attrs(ctr, exitCode=str(ctr.state["ExitCode"])))
        if ctr.host_config.get("AutoRemove"):
            self._spawn(self._auto_remove(ctr))

    @staticmethod
    def _restarts_on_boot(ctr: Container) -> bool:
        """dockerd's ShouldRestart with a fresh restart manager."""
        policy = (ctr.host_config.get("RestartPolicy") or {}).get("Name", "no")
        if policy == "on-failure":
            return ctr.state["ExitCode"] != 0
        return policy == "always" or (policy == "unless-stopped"
                                      and not ctr.internal.get("user_stopped"))

    async def _restart_on_boot(self, ctr: Container) -> None:
        try:
            await self.start(ctr)
        except DockerError as exc:
            log.warning("restarting %s at daemon start failed: %s", ctr.id, exc.message)

    async def shutdown(self, live_restore: bool) -> None:
        """Stop watching; with live restore off, stop the containers first."""
        if not live_restore:
            running = [c for c in self.containers.values() if c.running]
            await asyncio.gather(*(self._stop_quietly(c) for c in running))
        for ctr in self.containers.values():
            if ctr.watcher is not None:
                ctr.watcher.close()
                ctr.watcher = None
            if ctr.pidfd >= 0:
                os.close(ctr.pidfd)
                ctr.pidfd = -1
        if self.health is not None:
            self.health.stop_all()
        if self._rotator is not None:
            self._rotator.cancel()
        for task in list(self._tasks):
            task.cancel()

    async def _stop_quietly(self, ctr: Container) -> None:
        """The daemon's own stop: restart policies apply again afterwards."""
        user_stopped = ctr.internal.get("user_stopped", False)
        try:
            await self.stop(ctr)
        except DockerError:
            pass
        ctr.stop_requested = False
        ctr.internal["user_stopped"] = user_stopped
        await self._save(ctr)

    def counts(self) -> dict[str, int]:
        running = sum(1 for c in self.containers.values() if c.status == "running")
        paused = sum(1 for c in self.containers.values() if c.status == "paused")
        total = len(self.containers)
        return {"Containers": total, "ContainersRunning": running,
                "ContainersPaused": paused, "ContainersStopped": total - running - paused}


EMPTY_LAYER_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


def commit_config(base: dict[str, Any], ctr: Container, author: str, comment: str,
                  changes: list[str], overrides: dict[str, Any] | None,
                  layer: Layer | None) -> bytes:
    """The committed image's config: the container's config (with the request's
    overrides and changes), the parent's layers plus the new one, a history line."""
    config = copy.deepcopy(ctr.config)
    if overrides:
        merged = dict(overrides)
        merge_image_config(merged, config)
        for key, value in config.items():
            merged.setdefault(key, value)
        config = merged
    for change in changes:
        apply_change(config, change)
    created = now_rfc3339()
    doc = copy.deepcopy(base)
    for key in ("author", "comment", "container", "container_config"):
        doc.pop(key, None)
    doc.update({"config": container_config_shape(config), "container": ctr.id,
                "container_config": container_config_shape(ctr.config), "created": created,
                "docker_version": ENGINE_VERSION})
    if author:
        doc["author"] = author
    if comment:
        doc["comment"] = comment
    history = list(doc.get("history") or [])
    entry: dict[str, Any] = {"created": created,
                             "created_by": " ".join(ctr.config.get("Cmd") or [])}
    if author:
        entry["author"] = author
    if comment:
        entry["comment"] = comment
    if layer is None:
        entry["empty_layer"] = True
    history.append(entry)
    doc["history"] = history
    rootfs = dict(doc.get("rootfs") or {"type": "layers"})
    rootfs["diff_ids"] = list(rootfs.get("diff_ids") or []) + ([layer.diff_id] if layer else [])
    doc["rootfs"] = rootfs
    return json.dumps(doc, separators=(",", ":")).encode()


def _is_conmon(pid: int, cid: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    return bool(args) and os.path.basename(args[0]).startswith(b"conmon") and cid.encode() in args


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def setup_init_layer(root_path: str) -> None:
    """Docker's init layer: real directories and files where the runtime mounts,
    made inside the root (an image's own symlinks there are removed first)."""
    entries = [("dev/pts", "dir"), ("dev/shm", "dir"), ("proc", "dir"), ("sys", "dir"),
               (".dockerenv", "file"), ("etc/resolv.conf", "file"), ("etc/hosts", "file"),
               ("etc/hostname", "file"), ("dev/console", "file"), ("etc/mtab", "/proc/mounts")]
    with Root(root_path) as root:
        for path, kind in entries:
            parts = path.split("/")
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                try:
                    st = root.lstat(prefix)
                except FileNotFoundError:
                    break
                if stat.S_ISLNK(st.st_mode) or (depth < len(parts)
                                                 and not stat.S_ISDIR(st.st_mode)):
                    pfd, name = root.open_parent(prefix)
                    try:
                        os.unlink(name, dir_fd=pfd)
                    finally:
                        os.close(pfd)
                    break
            try:
                root.lstat(path)
                continue
            except FileNotFoundError:
                pass
            pfd, name = root.open_parent(path, create=True)
            try:
                if kind == "dir":
                    os.mkdir(name, 0o755, dir_fd=pfd)
                elif kind == "file":
                    os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW
                                     | os.O_CLOEXEC, 0o755, dir_fd=pfd))
                else:
                    os.symlink(kind, name, dir_fd=pfd)
            finally:
                os.close(pfd)


HOSTS_HEADER = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                "ff02::2\tip6-allrouters\n")


def hosts_file(ctr: Container, host_mode: bool) -> str:
    config, hc = ctr.config, ctr.host_config
    if host_mode:
        try:
            with open("/etc/hosts") as f:
                text = f.read()
        except OSError:
            text = HOSTS_HEADER
    else:
        text = HOSTS_HEADER
    if not text.endswith("\n"):
        text += "\n"
    for extra in hc.get("ExtraHosts") or []:
        name, _, addr = extra.partition(":")
        if "=" in extra and not addr:
            name, _, addr = extra.partition("=")
        if addr == "host-gateway":
            addr = _host_gateway(ctr)
        text += f"{addr}\t{name}\n"
    if not host_mode:
        hostname = config.get("Hostname", "")
        if config.get("Domainname"):
            hostname = f"{hostname}.{config['Domainname']} {hostname}"
        for ep in (ctr.doc["NetworkSettings"].get("Networks") or {}).values():
            if ep.get("IPAddress"):
                text += f"{ep['IPAddress']}\t{hostname}\n"
                break
    return text


def _host_gateway(ctr: Container) -> str:
    for ep in (ctr.doc["NetworkSettings"].get("Networks") or {}).values():
        if ep.get("Gateway"):
            return ep["Gateway"]
    return "127.0.0.1"


def resolv_conf(cfg: DaemonConfig, hc: dict[str, Any], host_mode: bool) -> str:
    """The host's resolv.conf, minus loopback nameservers on a private network,
    with --dns, --dns-search and --dns-option applied (as dockerd does)."""
    try:
        with open("/etc/resolv.conf") as f:
            host = f.read()
    except OSError:
        host = ""
    servers, search, options, other = [], [], [], []
    for line in host.splitlines():
        words = line.split()
        if not words or words[0].startswith(("#", ";")):
            continue
        if words[0] == "nameserver" and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ("search", "domain"):
            search = words[1:]
        elif words[0] == "options":
            options.extend(words[1:])
        else:
            other.append(line)
    if not host_mode:
        servers = [s for s in servers if not s.startswith("127.") and s != "::1"]
    dns = hc.get("Dns") or cfg.dns
    if dns:
        servers = list(dns)
    if not servers and not host_mode:
        servers = ["8.8.8.8", "8.8.4.4"]  # dockerd's fallback when only loopback was left
    dns_search = hc.get("DnsSearch") or cfg.dns_search
    if dns_search:
        search = [] if dns_search == ["."] else list(dns_search)
    dns_opts = hc.get("DnsOptions") or cfg.dns_opts
    if dns_opts:
        options = list(dns_opts)
    lines = [f"nameserver {s}" for s in servers]
    if search:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"

