"""The exit monitor: watches each running container's conmon through a pidfd
(no task per container), records the exit, releases what the run held, wakes
the waiters, and hands the exit on (to the restart policy)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal as signal_mod
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from shared.timeutil import now_rfc3339

from ... import workers
from ...errors import InvalidParameter
from ...runtime import conmon
from ..health import HealthMonitor
from . import ipc
from .deps import ContainerDeps
from .logs import ContainerLogs
from .record import Container, Waiter

log = logging.getLogger(__name__)
WAIT_CONDITIONS = ("not-running", "next-exit", "removed")
CONMON_GRACE = 2.0  # seconds a container's conmon has to report an exit it saw

AfterExit = Callable[[Container, int], Awaitable[None]]


class ExitMonitor:
    def __init__(self, deps: ContainerDeps, logs: ContainerLogs, health: HealthMonitor,
                 after_exit: AfterExit, will_restart: Callable[[Container, int], bool]) -> None:
        self.deps = deps
        self.logs = logs
        self.health = health
        self.after_exit = after_exit
        self.will_restart = will_restart  # the restart policy's decision, at the exit
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Awaitable[Any]) -> None:
        """A background task the daemon cancels at shutdown."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- watching ---------------------------------------------------------------
    def watch(self, ctr: Container, conmon_pid: int, pid: int) -> None:
        try:
            ctr.pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            ctr.pidfd = -1
        ctr.exit_fallback = None
        watcher = conmon.ExitWatcher(conmon_pid, lambda: self.spawn(self._on_exit(ctr)))
        ctr.watcher = watcher
        if ctr.pidfd >= 0:  # the process's own exit, on the pidfd signals go through
            asyncio.get_running_loop().add_reader(ctr.pidfd, self._process_ended, ctr,
                                                  watcher, pid)

    def _process_ended(self, ctr: Container, watcher: conmon.ExitWatcher, pid: int) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(ctr.pidfd)
        loop.call_later(CONMON_GRACE, self._conmon_overdue, ctr, watcher, pid)

    def _conmon_overdue(self, ctr: Container, watcher: conmon.ExitWatcher, pid: int) -> None:
        """The container's process ended CONMON_GRACE ago and its conmon has not
        reported it (stopped, or wedged): take the exit status from the unreaped
        process and end that conmon, so that stop, rm -f and wait do not hang."""
        if ctr.watcher is not watcher or not watcher.watching:
            return  # reported meanwhile, as it almost always is
        ctr.exit_fallback = conmon.zombie_exit_code(pid)
        log.warning("the monitor of %s did not report its exit in %ss: ending it",
                    ctr.id[:12], CONMON_GRACE)
        watcher.kill()

    def unwatch(self, ctr: Container) -> None:
        if ctr.watcher is not None:
            ctr.watcher.close()
            ctr.watcher = None
        if ctr.pidfd >= 0:
            asyncio.get_running_loop().remove_reader(ctr.pidfd)
            os.close(ctr.pidfd)
            ctr.pidfd = -1

    def signal(self, ctr: Container, sig: int) -> None:
        """Signal the container's process: through its pidfd, never a reused pid."""
        if ctr.pidfd >= 0:
            try:
                signal_mod.pidfd_send_signal(ctr.pidfd, sig)
            except ProcessLookupError:
                pass
            return
        pid = ctr.state.get("Pid") or 0
        if pid > 0 and conmon.pid_alive(pid, ctr.internal.pid_start):
            os.kill(pid, sig)

    # -- an exit ------------------------------------------------------------------
    async def _on_exit(self, ctr: Container) -> None:
        async with ctr.lock:
            if not ctr.running:
                return
            code, oom = conmon.read_exit_file(self.deps.paths.bundle(ctr.id))
            if code is None and ctr.exit_fallback is not None:
                code = ctr.exit_fallback  # seen by the daemon: its monitor was wedged
            if code is None:
                code = 255
                ctr.state["Error"] = "the container monitor exited unexpectedly"
            await self.release(ctr)
            await self.record_exit(ctr, code, oom)
        await self.after_exit(ctr, code)

    async def record_exit(self, ctr: Container, code: int, oom: bool) -> None:
        ctr.state.update(ExitCode=code, OOMKilled=oom, Pid=0, FinishedAt=now_rfc3339())
        if self.will_restart(ctr, code):  # as dockerd: restarting at once, never "exited"
            ctr.doc["RestartCount"] += 1  # between (a client polling for exited waits on)
            ctr.set_status("restarting")
        else:
            ctr.set_status("exited")
        with logged_failure(ctr, f"saving its exit ({code})"):
            # a full disk must not hide the exit from waiters; the state is written
            # at the container's next save, and a restart finds the exit file
            await self.deps.repo.save(ctr)
        if oom:
            self.deps.events.publish("container", "oom", ctr.id, ctr.event_attrs())
        self.deps.events.publish("container", "die", ctr.id,
                                 ctr.event_attrs(exitCode=str(code)))
        self.notify_exit(ctr, code)

    async def release(self, ctr: Container) -> None:
        """Give back what the run held: runtime state, endpoints, the mount. A step
        that fails is logged and the rest still run: an exit must be recorded
        whatever the host did, or waiters (`rm -f`, `wait`) would hang."""
        d = self.deps
        await self.logs.finish(ctr)
        self.health.stop(ctr)
        self.unwatch(ctr)
        runtime = d.runtimes.by_name.get(ctr.internal.runtime or d.runtimes.default)
        with logged_failure(ctr, "deleting the runtime state"):
            if runtime is not None:
                await runtime.delete(ctr.id)
        sandbox = d.networks.sandbox(ctr)
        with logged_failure(ctr, "detaching from its networks"):
            await sandbox.unplug(exited=True)
        sandbox.release()
        with logged_failure(ctr, "unmounting its filesystem"):
            await workers.HOUSEKEEPING.run(d.layers.rw_layer(ctr.internal.rw_layer).unmount)
        with logged_failure(ctr, "unmounting its shared /dev/shm"):
            await workers.HOUSEKEEPING.run(ipc.unmount_shm, d.paths, ctr.id)
        for m in ctr.internal.mounts:
            if m.type == "volume":
                await workers.HOUSEKEEPING.run(d.volumes.unmount, m.name, ctr.id)
                d.events.publish("volume", "unmount", m.name, {
                    "container": ctr.id, "driver": m.driver or "local"})

    # -- waiting --------------------------------------------------------------------
    @staticmethod
    def register_wait(ctr: Container, condition: str) -> asyncio.Future:
        """A future of (exit code, error) for the condition, registered at once so
        that an exit right after this call is not missed (`docker run` sends its
        wait before its start)."""
        if condition not in WAIT_CONDITIONS:
            raise InvalidParameter(f"invalid condition: \"{condition}\"")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        if condition == "not-running" and not ctr.running and ctr.status != "restarting":
            future.set_result((ctr.state["ExitCode"], ctr.state.get("Error") or None))
        else:
            ctr.waiters.append(Waiter(condition, future))
        return future

    @staticmethod
    def cancel_wait(ctr: Container, future: asyncio.Future) -> None:
        ctr.waiters = [w for w in ctr.waiters if w.future is not future]

    @staticmethod
    def notify_exit(ctr: Container, code: int) -> None:
        ctr.stopped_event.set()
        if ctr.exit_handled is not None:
            ctr.exit_handled.set()
        _wake(ctr, ("not-running", "next-exit"), (code, None))

    @staticmethod
    def notify_start_failed(ctr: Container, code: int, message: str) -> None:
        _wake(ctr, ("not-running", "next-exit"), (code, message))

    @staticmethod
    def notify_removed(ctr: Container) -> None:
        ctr.stopped_event.set()
        _wake(ctr, WAIT_CONDITIONS, (ctr.state["ExitCode"], None))

    def close(self) -> None:
        """Daemon shutdown: stop watching (the containers live on) and end tasks."""
        for ctr in self.deps.repo.all():
            self.unwatch(ctr)
        self.health.stop_all()
        for task in list(self._tasks):
            task.cancel()


def _wake(ctr: Container, conditions: tuple[str, ...], result: tuple[int, str | None]) -> None:
    for waiter in list(ctr.waiters):
        if waiter.condition in conditions:
            ctr.waiters.remove(waiter)
            if not waiter.future.done():
                waiter.future.set_result(result)


@contextlib.contextmanager
def logged_failure(ctr: Container, what: str) -> Iterator[None]:
    """A step that may fail without undoing what came before it: logged, then on."""
    try:
        yield
    except Exception:  # noqa: BLE001 - logged; the release goes on
        log.exception("container %s: %s failed", ctr.id[:12], what)
