"""Health checks: the image's or container's HEALTHCHECK run as an exec on its
schedule, State.Health kept as Docker keeps it, health_status events."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from shared.timeutil import go_duration, now_rfc3339

from ..errors import DockerError
from .containers.record import Container
from .events import Events
from .execs import ExecService

log = logging.getLogger(__name__)
SECOND = 10**9
DEFAULTS = {"Interval": 30 * SECOND, "Timeout": 30 * SECOND, "StartPeriod": 0,
            "StartInterval": 5 * SECOND, "Retries": 3}
MAX_LOG = 5
MAX_OUTPUT = 4096


def probe_command(test: list[str]) -> list[str] | None:
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return test[1:] or None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return test  # a bare command, as the oldest clients sent it


class HealthMonitor:
    def __init__(self, execs: ExecService, events: Events,
                 save: Callable[[Container], Awaitable[None]]) -> None:
        self.execs = execs
        self.events = events
        self._save = save  # persists a container (its State.Health)
        self._tasks: dict[str, asyncio.Task] = {}

    def start(self, ctr: Container) -> None:
        config = ctr.config.get("Healthcheck") or {}
        cmd = probe_command(list(config.get("Test") or []))
        if cmd is None:
            ctr.state.pop("Health", None)
            return
        ctr.state["Health"] = {"Status": "starting", "FailingStreak": 0, "Log": []}
        self.stop(ctr)
        self._tasks[ctr.id] = asyncio.ensure_future(self._loop(ctr, cmd, config))

    def stop(self, ctr: Container) -> None:
        task = self._tasks.pop(ctr.id, None)
        if task is not None:
            task.cancel()

    def stop_all(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    async def _loop(self, ctr: Container, cmd: list[str], config: dict[str, Any]) -> None:
        settings = {k: (config.get(k) or v) for k, v in DEFAULTS.items()}
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            while ctr.running:
                in_start = loop.time() - started < settings["StartPeriod"] / SECOND
                interval = settings["StartInterval"] if in_start and settings["StartPeriod"] \
                    else settings["Interval"]
                await asyncio.sleep(interval / SECOND)
                if not ctr.running:
                    return
                if ctr.paused:
                    continue
                await self._probe(ctr, cmd, settings, in_start)
        except asyncio.CancelledError:
            pass

    async def _probe(self, ctr: Container, cmd: list[str], settings: dict[str, int],
                     in_start: bool) -> None:
        start = now_rfc3339()
        try:
            code, output = await self.execs.run(ctr, cmd, settings["Timeout"] / SECOND,
                                                MAX_OUTPUT)
            text = output.decode("utf-8", "replace")
        except TimeoutError:
            code = -1
            text = f"Health check exceeded timeout ({go_duration(int(settings['Timeout']))})"
        except DockerError as exc:
            code, text = -1, exc.message
        health = ctr.state.setdefault("Health", {"Status": "starting", "FailingStreak": 0,
                                                 "Log": []})
        entries = list(health.get("Log") or []) + [
            {"Start": start, "End": now_rfc3339(), "ExitCode": code, "Output": text}]
        health["Log"] = entries[-MAX_LOG:]
        old = health["Status"]
        if code == 0:
            health["FailingStreak"] = 0
            health["Status"] = "healthy"
        elif not (in_start and old == "starting"):
            health["FailingStreak"] = health.get("FailingStreak", 0) + 1
            if health["FailingStreak"] >= settings["Retries"]:
                health["Status"] = "unhealthy"
        if health["Status"] != old:
            self.events.publish("container", "health_status: " + health["Status"], ctr.id,
                                ctr.event_attrs())
        try:
            await self._save(ctr)
        except DockerError as exc:
            log.warning("saving the health of %s failed: %s", ctr.id, exc.message)
