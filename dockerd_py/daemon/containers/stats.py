"""`docker top` (the host's ps over the container's cgroup) and `docker stats`
(cgroup samples, one or a stream, in Docker's JSON)."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from shared.timeutil import ZERO_TIME, rfc3339_nano

from ...config import DaemonConfig
from ...errors import InvalidParameter
from ...runtime import cgroups
from ...runtime.oci import run_command
from ..system import mem_total
from .record import Container
from .rules import require_running

STATS_ORDER = ("read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats",
               "cpu_stats", "precpu_stats", "memory_stats", "name", "id")
STATS_INTERVAL = 1.0  # seconds between samples of a stream, as dockerd


def empty_stats() -> dict[str, Any]:
    cpu = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
           "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    return {"read": ZERO_TIME, "preread": ZERO_TIME, "pids_stats": {}, "blkio_stats": {},
            "num_procs": 0, "storage_stats": {}, "cpu_stats": cpu, "precpu_stats": cpu,
            "memory_stats": {}}


def stats_doc(sample: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
    """Docker's stats JSON: this sample, and the previous one as pre* fields."""
    doc = dict(sample)
    doc["read"] = rfc3339_nano(sample["read"])
    doc["preread"] = rfc3339_nano(prev["read"]) if prev else ZERO_TIME
    doc["precpu_stats"] = prev["cpu_stats"] if prev else empty_stats()["precpu_stats"]
    ordered = {k: doc[k] for k in STATS_ORDER if k in doc}
    if doc.get("networks"):
        ordered["networks"] = doc["networks"]
    return ordered


class ContainerStats:
    def __init__(self, cfg: DaemonConfig) -> None:
        self.cfg = cfg

    def cgroup(self, ctr: Container) -> cgroups.Cgroup:
        return cgroups.Cgroup(f"/{self.cfg.effective_cgroup_parent}/{ctr.id}")

    async def top(self, ctr: Container, ps_args: str) -> dict[str, Any]:
        """The host's `ps` over the container's processes (never a binary of the
        container's, CVE-2022-1227)."""
        require_running(ctr)
        pids = set(await asyncio.to_thread(self.cgroup(ctr).pids))
        code, out, err = await run_command("ps", *(ps_args or "-ef").split())
        if code != 0:  # the client's ps_args (dockerd answers 500 with the same text)
            raise InvalidParameter(f"Error running ps: {err.strip() or out.strip()}")
        lines = out.splitlines()
        titles = lines[0].split() if lines else []
        if "PID" not in titles:
            raise InvalidParameter("Couldn't find PID field in ps output")  # ps_args chose it
        col = titles.index("PID")
        processes = []
        for line in lines[1:]:
            fields = line.split(None, len(titles) - 1)
            if len(fields) > col and fields[col].isdigit() and int(fields[col]) in pids:
                processes.append(fields)
        return {"Titles": titles, "Processes": processes}

    async def sample(self, ctr: Container) -> dict[str, Any]:
        sample = await asyncio.to_thread(cgroups.sample, self.cgroup(ctr),
                                         ctr.state.get("Pid", 0), mem_total())
        sample.update(name="/" + ctr.name, id=ctr.id)
        return sample

    async def stream(self, ctr: Container, stream: bool,
                     one_shot: bool) -> AsyncGenerator[dict[str, Any], None]:
        """The stats documents: one (after a second, for precpu, unless one-shot),
        or one a second while the container runs."""
        if not stream and (not ctr.running or ctr.status == "restarting"):
            yield {"name": "/" + ctr.name, "id": ctr.id, **empty_stats()}
            return
        prev = None
        if not stream and not one_shot:
            prev = await self.sample(ctr)
            await asyncio.sleep(STATS_INTERVAL)
        while ctr.running:
            sample = await self.sample(ctr)
            yield stats_doc(sample, prev)
            if not stream:
                return
            prev = sample
            await asyncio.sleep(STATS_INTERVAL)
