"""A container's life: start, stop, kill, restart, pause, remove, and the
restart policy applied to the exits the monitor reports."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal as signal_mod

from shared.filters import Filters
from shared.timeutil import ZERO_TIME, now_rfc3339, parse_rfc3339

from ...crashpoints import crashpoint
from ...errors import Conflict, DiskFull, DockerError, NotModified
from ...runtime import conmon
from ...runtime.oci import OCIRuntime
from ..health import HealthMonitor
from ..networking.sandbox import SandboxPlan
from ..volumes import ANONYMOUS
from . import ipc, rules
from .attach import Attacher
from .bundle import BundleWriter, Prepared
from .deps import ContainerDeps
from .logs import ContainerLogs
from .monitor import ExitMonitor, logged_failure
from .record import Container
from .storage import remove_filesystem

log = logging.getLogger(__name__)


class Lifecycle:
    def __init__(self, deps: ContainerDeps, logs: ContainerLogs, health: HealthMonitor,
                 attacher: Attacher) -> None:
        self.deps = deps
        self.logs = logs
        self.health = health
        self.attacher = attacher
        self.bundles = BundleWriter(deps)
        self.monitor = ExitMonitor(deps, logs, health, after_exit=self._after_exit,
                                   will_restart=self._will_restart)

    def runtime(self, ctr: Container) -> OCIRuntime:
        return self.deps.runtimes.get(ctr.internal.runtime)

    # -- start --------------------------------------------------------------------
    async def start(self, ctr: Container) -> None:
        """A user's start: the restart count begins anew."""
        async with ctr.lock:
            rules.check_startable(ctr)
            ctr.doc["RestartCount"] = 0
            ctr.internal.restart_backoff = 0
            await self._start_or_fail(ctr)
        self._started(ctr)

    async def _start_or_fail(self, ctr: Container) -> None:
        """Under the container's lock."""
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

    def _started(self, ctr: Container) -> None:
        self.health.start(ctr)
        self.deps.events.publish("container", "start", ctr.id, ctr.event_attrs())

    async def _start_failed(self, ctr: Container, exc: DockerError) -> None:
        code = getattr(exc, "exit_code", None) or 128
        ctr.state.update(Error=exc.message, ExitCode=code)
        ctr.set_status("created" if ctr.state["StartedAt"] == ZERO_TIME else "exited")
        await self.deps.repo.save(ctr)
        self.monitor.notify_start_failed(ctr, code, exc.message)
        if ctr.host_config.get("AutoRemove"):
            self.monitor.spawn(self.auto_remove(ctr))

    def _joined_namespace(self, ctr: Container) -> str | None:
        """`--network container:<other>`: the other's namespace, which must run."""
        mode = ctr.host_config.get("NetworkMode", "bridge")
        if not mode.startswith("container:"):
            return None
        other = self.deps.repo.get(mode.split(":", 1)[1])
        if not other.running or other.state["Pid"] <= 0:
            raise Conflict(f"cannot join network of a non running container: {other.id}")
        # as dockerd's initializeNetworkingPaths: the other's name files and names
        for key in ("HostnamePath", "HostsPath", "ResolvConfPath"):
            ctr.doc[key] = other.doc[key]
        for key in ("Hostname", "Domainname"):
            ctr.config[key] = other.config.get(key, "")
        return f"/proc/{other.state['Pid']}/ns/net"

    async def _start_locked(self, ctr: Container) -> None:
        d = self.deps
        runtime = self.runtime(ctr)
        if not runtime.available:
            raise DockerError(f"runtime {runtime.name} is not available: {runtime.reason}")
        netns_path = self._joined_namespace(ctr)
        ipc_plan = ipc.plan(ctr, d.repo, d.paths)
        try:
            sandbox = d.networks.sandbox(ctr)
            plan = sandbox.prepare()  # addresses, name files, links: or nothing
        except BaseException:
            self.attacher.fail_waiting(ctr)
            raise
        rootfs = ""
        spawned = None
        try:
            prepared = await asyncio.to_thread(self._prepare, ctr.snapshot(), netns_path, plan,
                                               ipc_plan)
            rootfs = prepared.rootfs
            prepared.record(ctr)
            spawned = await self._spawn_conmon(ctr, runtime)
            await self.logs.watch(ctr, fresh=True)
            if netns_path is None:
                await sandbox.plug(spawned.pid)
            else:
                ctr.doc["NetworkSettings"]["SandboxKey"] = netns_path
            await self.attacher.connect_waiting(ctr)
            await runtime.start(ctr.id)
        except BaseException as exc:
            if spawned is not None:
                await runtime.delete(ctr.id)
                await self.logs.finish(ctr)
            await sandbox.unplug()
            sandbox.release()
            self.attacher.fail_waiting(ctr)
            if rootfs:
                await asyncio.to_thread(d.layers.rw_layer(ctr.internal.rw_layer).unmount)
            if ipc_plan.make_shm:
                await asyncio.to_thread(ipc.unmount_shm, d.paths, ctr.id)
            if isinstance(exc, DockerError):
                ipc.explain_start_failure(ctr, ipc_plan)  # the donor exited meanwhile
            raise
        # as dockerd's SetRunning: FinishedAt keeps the last stop's time
        ctr.state.update(Pid=spawned.pid, ExitCode=0, Error="", StartedAt=now_rfc3339(),
                         OOMKilled=False)
        ctr.set_status("running")
        ctr.internal.conmon_pid = spawned.conmon_pid
        ctr.internal.pid_start = spawned.start_time
        ctr.internal.started_once = True
        ctr.internal.user_stopped = False
        ctr.stop_requested = False
        ctr.stopped_event.clear()
        ctr.exit_handled = asyncio.Event()
        crashpoint("container-start:running")
        self.monitor.watch(ctr, spawned.conmon_pid, spawned.pid)
        with logged_failure(ctr, "saving its start"):  # it runs, watched, whatever the disk says
            await d.repo.save(ctr)
        for m in ctr.internal.mounts:
            if m.type == "volume":
                d.events.publish("volume", "mount", m.name, {
                    "container": ctr.id, "destination": m.destination,
                    "driver": m.driver or "local", "propagation": "",
                    "read/write": str(m.rw).lower()})

    def _prepare(self, ctr: Container, netns_path: str | None, plan: SandboxPlan,
                 ipc_plan: ipc.IpcPlan) -> Prepared:
        self.logs.before_start(ctr)
        return self.bundles.prepare(ctr, netns_path, plan, ipc_plan)

    async def _spawn_conmon(self, ctr: Container, runtime: OCIRuntime) -> conmon.Spawned:
        target, size_max = self.logs.conmon_target(ctr)
        try:
            spawned, sync = await conmon.spawn(self.deps.conmon, runtime, conmon.ConmonOptions(
                container_id=ctr.id, name=ctr.name, bundle=self.deps.paths.bundle(ctr.id),
                log_target=target, exit_dir=self.deps.paths.exit_dir, tty=ctr.tty,
                stdin=bool(ctr.config.get("OpenStdin")),
                stdin_once=bool(ctr.config.get("StdinOnce")), log_size_max=size_max))
        except DockerError as exc:
            err, code = rules.start_error(exc.message)
            err.exit_code = code  # type: ignore[attr-defined]
            raise err from None
        sync.close()
        return spawned

    # -- after an exit: auto-remove or the restart policy --------------------------------
    def _will_restart(self, ctr: Container, code: int) -> bool:
        """At the exit, under the container's lock: does its policy restart it?"""
        if ctr.host_config.get("AutoRemove"):
            return False
        return rules.should_restart(ctr.host_config.get("RestartPolicy") or {}, code,
                                    ctr.doc["RestartCount"], ctr.stop_requested, ctr.removing)

    async def _after_exit(self, ctr: Container, code: int) -> None:
        if ctr.host_config.get("AutoRemove"):
            await self.auto_remove(ctr)
            return
        if not ctr.restarting:  # the exit's decision (record_exit): it stays down
            return
        ran = (parse_rfc3339(ctr.state["FinishedAt"]) - parse_rfc3339(ctr.state["StartedAt"])) / 1e9
        delay, ctr.internal.restart_backoff = rules.next_backoff(ctr.internal.restart_backoff, ran)
        await self.deps.repo.save(ctr)
        await asyncio.sleep(delay)
        # the check and the start under one lock, the state "restarting" until the
        # process runs: a stop or kill at any moment cancels the restart
        async with ctr.lock:
            if not ctr.restarting or ctr.removing or ctr.id not in self.deps.repo:
                return  # stopped, killed or removed meanwhile
            try:
                await self._start_or_fail(ctr)
            except DockerError as exc:
                log.warning("restarting %s failed: %s", ctr.id, exc.message)
                return
        self._started(ctr)
        self.deps.events.publish("container", "restart", ctr.id, ctr.event_attrs())

    async def auto_remove(self, ctr: Container) -> None:
        try:
            await self.remove(ctr, force=True)
        except DockerError as exc:
            log.error("auto-removing %s failed: %s", ctr.id, exc.message)

    # -- stop and kill ----------------------------------------------------------------
    async def _cancel_restart(self, ctr: Container) -> None:
        """`docker stop`/`kill` of a container waiting for its restart: it stays
        down. Under the container's lock (the exit that set "restarting" and the
        restart itself hold it too, so a stop at any moment wins or waits)."""
        ctr.stop_requested = True
        ctr.internal.user_stopped = True
        ctr.set_status("exited")
        await self.deps.repo.save(ctr)

    async def kill(self, ctr: Container, sig_text: str | None) -> None:
        sig = rules.parse_signal(sig_text)
        events = self.deps.events
        async with ctr.lock:
            if ctr.restarting:
                await self._cancel_restart(ctr)
                events.publish("container", "kill", ctr.id, ctr.event_attrs(signal=str(sig)))
                return
            if not ctr.running:
                raise Conflict(f"Cannot kill container: {ctr.id}: container {ctr.id} "
                               "is not running")
            if ctr.paused and sig != signal_mod.SIGKILL:
                raise Conflict(f"Cannot kill container: {ctr.id}: container {ctr.id} is paused. "
                               "Unpause the container before stopping or killing")
            stop_signal = ctr.config.get("StopSignal")
            if sig == signal_mod.SIGKILL or not stop_signal or \
                    rules.parse_signal(stop_signal) == sig:
                ctr.stop_requested = True  # as dockerd: the exit this causes is not restarted
            ctr.internal.user_stopped = True
            self.monitor.signal(ctr, sig)
            done = ctr.exit_handled
        events.publish("container", "kill", ctr.id, ctr.event_attrs(signal=str(sig)))
        if sig == signal_mod.SIGKILL and done is not None:
            # as dockerd: a SIGKILL returns once the container is down
            try:
                await asyncio.wait_for(done.wait(), 10)
            except TimeoutError:
                log.warning("container %s did not exit 10s after SIGKILL", ctr.id)

    async def stop(self, ctr: Container, timeout: int | None = None,
                   sig_text: str | None = None) -> None:
        events = self.deps.events
        sig = rules.parse_signal(sig_text or ctr.config.get("StopSignal"), signal_mod.SIGTERM)
        timeout = rules.stop_timeout(ctr, timeout)
        async with ctr.lock:  # an exit being handled decides first: restart or not
            if ctr.restarting:
                await self._cancel_restart(ctr)
                events.publish("container", "stop", ctr.id, ctr.event_attrs())
                return
            if not ctr.running:
                raise NotModified("container already stopped")
            ctr.stop_requested = True
            ctr.internal.user_stopped = True
            done = ctr.exit_handled
            if ctr.paused:
                await self.runtime(ctr).resume(ctr.id)
                ctr.set_status("running")
            self.monitor.signal(ctr, sig)
        events.publish("container", "kill", ctr.id, ctr.event_attrs(signal=str(sig)))
        if done is not None and timeout < 0:  # dockerd: -1 waits as long as it takes
            await done.wait()
        elif done is not None:
            try:
                await asyncio.wait_for(done.wait(), timeout)
            except TimeoutError:
                pass
        if ctr.running:
            async with ctr.lock:
                if ctr.running:
                    self.monitor.signal(ctr, signal_mod.SIGKILL)
            events.publish("container", "kill", ctr.id,
                           ctr.event_attrs(signal=str(int(signal_mod.SIGKILL))))
            if done is not None:
                await done.wait()
        events.publish("container", "stop", ctr.id, ctr.event_attrs())

    async def restart(self, ctr: Container, timeout: int | None = None,
                      sig_text: str | None = None) -> None:
        if ctr.running:
            with contextlib.suppress(NotModified):  # it exited meanwhile
                await self.stop(ctr, timeout, sig_text)
        await self.start(ctr)
        self.deps.events.publish("container", "restart", ctr.id, ctr.event_attrs())

    async def stop_quietly(self, ctr: Container) -> None:
        """The daemon's own stop: restart policies apply again afterwards."""
        user_stopped = ctr.internal.user_stopped
        try:
            await self.stop(ctr)
        except DockerError:
            pass
        ctr.stop_requested = False
        ctr.internal.user_stopped = user_stopped
        await self.deps.repo.save(ctr)

    # -- pause ----------------------------------------------------------------------------
    async def pause(self, ctr: Container) -> None:
        async with ctr.lock:
            rules.require_running(ctr)
            if ctr.paused:
                raise Conflict(f"Container {ctr.id} is already paused")
            try:
                await self.runtime(ctr).pause(ctr.id)
            except DockerError:
                if ctr.process_gone():  # it exited; the exit is not recorded yet
                    raise Conflict(f"Container {ctr.id} is not running") from None
                raise
            ctr.set_status("paused")
            await self.deps.repo.save(ctr)
        self.deps.events.publish("container", "pause", ctr.id, ctr.event_attrs())

    async def unpause(self, ctr: Container) -> None:
        async with ctr.lock:
            if not ctr.paused:
                raise Conflict(f"Container {ctr.id} is not paused")
            await self.runtime(ctr).resume(ctr.id)
            ctr.set_status("running")
            await self.deps.repo.save(ctr)
        self.deps.events.publish("container", "unpause", ctr.id, ctr.event_attrs())

    # -- remove ---------------------------------------------------------------------------
    async def remove(self, ctr: Container, force: bool = False, volumes: bool = False) -> None:
        d = self.deps
        if ctr.removing:
            if ctr.id not in d.repo:
                return
            raise Conflict(f"removal of container {ctr.name} is already in progress")
        rules.check_removable(ctr, force)
        ctr.removing = True
        try:
            while True:
                if ctr.running:
                    ctr.stop_requested = True
                    with contextlib.suppress(NotModified):  # it exited meanwhile
                        await self.stop(ctr, timeout=0, sig_text="KILL")
                async with ctr.lock:
                    if ctr.running:
                        continue  # a start that held the lock finished meanwhile: stop it too
                    runtime = d.runtimes.by_name.get(ctr.internal.runtime or d.runtimes.default)
                    if runtime is not None and runtime.has_state(ctr.id):
                        await runtime.delete(ctr.id)  # left by a start a crash cut short
                    ctr.set_status("removing")
                    await self._delete_record_and_files(ctr)
                    ctr.set_status("dead")
                    break
        except BaseException:
            ctr.removing = False
            raise
        d.events.publish("container", "destroy", ctr.id, ctr.event_attrs())
        if volumes or ctr.host_config.get("AutoRemove"):
            await self._remove_anonymous_volumes(ctr)
        self.monitor.notify_removed(ctr)

    async def _delete_record_and_files(self, ctr: Container) -> None:
        """The record first (a crash between the two leaves files a restart can
        still remove); on a full disk the files first, to make the room the
        record's deletion needs."""
        d = self.deps
        remove_files = functools.partial(remove_filesystem, d.layers, d.paths, ctr.id,
                                         ctr.internal.top_layer)
        try:
            await d.repo.delete(ctr)
        except DiskFull:
            log.warning("disk full: removing the files of %s before its record", ctr.id[:12])
            await asyncio.to_thread(remove_files)
            await d.repo.delete(ctr)
            return
        crashpoint("container-remove:record-deleted")
        await asyncio.to_thread(remove_files)

    async def _remove_anonymous_volumes(self, ctr: Container) -> None:
        """`rm -v` and `--rm`: the container's anonymous volumes that nothing else
        uses go; named ones stay."""
        for m in ctr.internal.mounts:
            if m.type != "volume":
                continue
            doc = self.deps.volumes.volumes.get(m.name)
            if doc is None or ANONYMOUS not in (doc.get("Labels") or {}):
                continue
            try:
                await self.deps.volumes.remove(m.name)
            except DockerError as exc:
                log.info("keeping volume %s: %s", m.name, exc.message)

    async def prune(self, filters: Filters) -> dict:
        filters.validate({"until", "label", "label!"})
        until = filters.until_ns()
        deleted, reclaimed = [], 0
        for ctr in self.deps.repo.all():
            if ctr.running or ctr.status in ("removing", "restarting"):
                continue
            if not filters.match_all_labels(ctr.config.get("Labels") or {}):
                continue
            if until is not None and ctr.created_ns >= until:
                continue
            size = await asyncio.to_thread(self.deps.layers.rw_layer(ctr.internal.rw_layer).size)
            try:
                await self.remove(ctr)
            except DockerError:
                continue
            deleted.append(ctr.id)
            reclaimed += size
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}
