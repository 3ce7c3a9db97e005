"""Daemon start and stop for containers: load the records, adopt the conmons
that kept running (live restore), record exits that happened while the daemon
was down, apply restart policies, and let go at shutdown."""
from __future__ import annotations

import asyncio
import logging
import os
import signal as signal_mod

from shared.timeutil import now_rfc3339

from ...errors import DockerError
from ...runtime import conmon
from ..health import HealthMonitor
from . import rules
from .deps import ContainerDeps
from .lifecycle import Lifecycle
from .logs import ContainerLogs
from .record import Container

log = logging.getLogger(__name__)


class ContainerRestore:
    def __init__(self, deps: ContainerDeps, lifecycle: Lifecycle, logs: ContainerLogs,
                 health: HealthMonitor) -> None:
        self.deps = deps
        self.lifecycle = lifecycle
        self.monitor = lifecycle.monitor
        self.logs = logs
        self.health = health

    async def load(self) -> list[Container]:
        containers = await self.deps.repo.load()
        for ctr in containers:
            try:
                self.deps.layers.acquire(ctr.internal.top_layer)
            except KeyError:
                log.error("container %s lost its image layers", ctr.id)
        return containers

    async def restore(self) -> None:
        """Reconcile with what really runs: adopt live conmons, record exits that
        happened while the daemon was down, then apply restart policies. Without
        live restore, containers that outlived the daemon are stopped first."""
        adopted = []
        for ctr in self.deps.repo.all():
            if ctr.restarting:  # its process was already gone and cleaned up
                ctr.set_status("exited")
                await self.deps.repo.save(ctr)
            if ctr.status in ("running", "paused") and await self._adopt(ctr):
                adopted.append(ctr)
            elif ctr.status in ("running", "paused"):
                await self._record_exit_while_down(ctr)
            elif ctr.status == "removing":
                self.monitor.spawn(self.lifecycle.remove(ctr, force=True))
        await self._forget_stray_runtime_state(adopted)
        if not self.deps.cfg.live_restore:
            await asyncio.gather(*(self.lifecycle.stop_quietly(c) for c in adopted))
        for ctr in self.deps.repo.all():
            if ctr.status == "exited" and ctr.internal.started_once and \
                    not ctr.host_config.get("AutoRemove") and rules.restarts_on_boot(
                        ctr.host_config.get("RestartPolicy") or {}, ctr.state["ExitCode"],
                        ctr.internal.user_stopped):
                self.monitor.spawn(self._restart_on_boot(ctr))

    async def _forget_stray_runtime_state(self, adopted: list[Container]) -> None:
        """Runtime containers that nothing runs any more: those a crash cut off
        between `runtime create` and the record (or before `start`). Deleting
        them also ends their `init` process, their conmon and their cgroups."""
        live = {c.id for c in adopted}
        for name, runtime in self.deps.runtimes.items():
            for cid in runtime.state_ids():
                if cid in live or cid.startswith("dpy-probe"):
                    continue
                log.info("removing %s state of %s, which nothing runs", name, cid[:12])
                await runtime.delete(cid)

    async def _adopt(self, ctr: Container) -> bool:
        """Watch a container whose process and conmon still live."""
        conmon_pid = ctr.internal.conmon_pid
        pid = ctr.state.get("Pid", 0)
        alive = pid > 0 and conmon.pid_alive(pid, ctr.internal.pid_start or -1)
        if not (alive and conmon_pid > 0 and _is_conmon(conmon_pid, ctr.id)):
            return False
        self.deps.layers.rw_layer(ctr.internal.rw_layer).adopt_mount()
        self.deps.volumes.adopt(ctr)
        ctr.exit_handled = asyncio.Event()
        self.monitor.watch(ctr, conmon_pid, pid)
        await self.logs.watch(ctr, fresh=False)
        self.health.start(ctr)
        return True

    async def _record_exit_while_down(self, ctr: Container) -> None:
        pid = ctr.state.get("Pid", 0)
        code, oom = conmon.read_exit_file(self.deps.paths.bundle(ctr.id))
        if pid > 0 and conmon.pid_alive(pid, ctr.internal.pid_start or -1):
            os.kill(pid, signal_mod.SIGKILL)  # the process lives but its monitor is gone
            code = 137
        await self.monitor.release(ctr)
        ctr.state.update(ExitCode=code if code is not None else 255, OOMKilled=oom, Pid=0,
                         FinishedAt=now_rfc3339())
        ctr.set_status("exited")
        await self.deps.repo.save(ctr)
        self.deps.events.publish("container", "die", ctr.id,
                                 ctr.event_attrs(exitCode=str(ctr.state["ExitCode"])))
        if ctr.host_config.get("AutoRemove"):
            self.monitor.spawn(self.lifecycle.auto_remove(ctr))

    async def _restart_on_boot(self, ctr: Container) -> None:
        try:
            await self.lifecycle.start(ctr)
        except DockerError as exc:
            log.warning("restarting %s at daemon start failed: %s", ctr.id, exc.message)

    async def shutdown(self, live_restore: bool) -> None:
        """Stop watching; with live restore off, stop the containers first."""
        if not live_restore:
            running = [c for c in self.deps.repo.all() if c.running]
            await asyncio.gather(*(self.lifecycle.stop_quietly(c) for c in running))
        self.monitor.close()
        self.logs.close()


def _is_conmon(pid: int, cid: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    return bool(args) and os.path.basename(args[0]).startswith(b"conmon") and cid.encode() in args
