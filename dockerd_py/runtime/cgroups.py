"""A container's cgroups (v1, v2 or hybrid): its processes and its statistics
in the shape of Docker's stats API."""
from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")


@lru_cache(maxsize=1)
def _mounts() -> tuple[dict[str, str], str | None]:
    """(v1 controller -> mount point, the cgroup2 mount point or None)."""
    v1: dict[str, str] = {}
    v2 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields = pre.split()
            fstype, _, options = post.split()[:3]
            point = fields[4]
            if fstype == "cgroup2":
                if v2 is None or point == "/sys/fs/cgroup":
                    v2 = point
            elif fstype == "cgroup":
                for opt in options.split(","):
                    if opt in ("rw", "ro") or opt.startswith("name="):
                        continue
                    v1.setdefault(opt, point)
    return v1, v2


def unified() -> bool:
    v1, v2 = _mounts()
    return not v1 and v2 is not None


class Cgroup:
    """The cgroup of one container (its cgroupsPath, as runc made it)."""

    def __init__(self, path: str) -> None:
        self.path = path.lstrip("/")

    def dir(self, controller: str) -> str | None:
        v1, v2 = _mounts()
        if v1:
            point = v1.get(controller)
            return os.path.join(point, self.path) if point else None
        return os.path.join(v2, self.path) if v2 else None

    def _read(self, controller: str, name: str) -> str | None:
        d = self.dir(controller)
        if d is None:
            return None
        try:
            with open(os.path.join(d, name)) as f:
                return f.read()
        except OSError:
            return None

    def _int(self, controller: str, name: str) -> int:
        text = self._read(controller, name)
        try:
            return int(text.split()[0]) if text and text.split()[0] != "max" else 0
        except (ValueError, IndexError):
            return 0

    def _keyed(self, controller: str, name: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in (self._read(controller, name) or "").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].lstrip("-").isdigit():
                out[parts[0]] = int(parts[1])
        return out

    def pids(self) -> list[int]:
        for controller in ("pids", "memory", "cpu", "freezer"):
            text = self._read(controller, "cgroup.procs")
            if text is not None:
                return [int(p) for p in text.split()]
        return []

    # -- stats ------------------------------------------------------------------
    def cpu(self) -> dict[str, Any]:
        if unified():
            stat = self._keyed("cpu", "cpu.stat")
            usage: dict[str, Any] = {"total_usage": stat.get("usage_usec", 0) * 1000,
                     "usage_in_kernelmode": stat.get("system_usec", 0) * 1000,
                     "usage_in_usermode": stat.get("user_usec", 0) * 1000}
            throttling = {"periods": stat.get("nr_periods", 0),
                          "throttled_periods": stat.get("nr_throttled", 0),
                          "throttled_time": stat.get("throttled_usec", 0) * 1000}
        else:
            percpu = [int(x) for x in (self._read("cpuacct", "cpuacct.usage_percpu") or "").split()]
            ticks = self._keyed("cpuacct", "cpuacct.stat")
            usage = {"total_usage": self._int("cpuacct", "cpuacct.usage"), "percpu_usage": percpu,
                     "usage_in_kernelmode": ticks.get("system", 0) * 10**9 // CLK_TCK,
                     "usage_in_usermode": ticks.get("user", 0) * 10**9 // CLK_TCK}
            stat = self._keyed("cpu", "cpu.stat")
            throttling = {"periods": stat.get("nr_periods", 0),
                          "throttled_periods": stat.get("nr_throttled", 0),
                          "throttled_time": stat.get("throttled_time", 0)}
        return {"cpu_usage": usage, "system_cpu_usage": system_cpu_usage(),
                "online_cpus": os.cpu_count() or 1, "throttling_data": throttling}

    def memory(self, host_total: int) -> dict[str, Any]:
        if unified():
            stats = self._keyed("memory", "memory.stat")
            limit = self._int("memory", "memory.max") or host_total
            return {"usage": self._int("memory", "memory.current"), "stats": stats,
                    "limit": min(limit, host_total)}
        stats = self._keyed("memory", "memory.stat")
        limit = self._int("memory", "memory.limit_in_bytes")
        return {"usage": self._int("memory", "memory.usage_in_bytes"),
                "max_usage": self._int("memory", "memory.max_usage_in_bytes"),
                "failcnt": self._int("memory", "memory.failcnt"), "stats": stats,
                "limit": min(limit, host_total) if limit else host_total}

    def pids_stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"current": self._int("pids", "pids.current")}
        limit = self._read("pids", "pids.max")
        if limit and limit.strip() != "max":
            out["limit"] = int(limit)
        return out

    def blkio(self) -> dict[str, Any]:
        entries: list[dict[str, Any]] = []
        if unified():
            for line in (self._read("io", "io.stat") or "").splitlines():
                dev, *pairs = line.split()
                major, _, minor = dev.partition(":")
                values = dict(p.split("=", 1) for p in pairs if "=" in p)
                for key, op in (("rbytes", "read"), ("wbytes", "write")):
                    entries.append({"major": int(major), "minor": int(minor), "op": op,
                                    "value": int(values.get(key, 0))})
        else:
            for line in (self._read("blkio", "blkio.throttle.io_service_bytes_recursive")
                         or self._read("blkio", "blkio.throttle.io_service_bytes") or "").splitlines():
                parts = line.split()
                if len(parts) == 3 and ":" in parts[0]:
                    major, _, minor = parts[0].partition(":")
                    entries.append({"major": int(major), "minor": int(minor),
                                    "op": parts[1].lower(), "value": int(parts[2])})
        return {"io_service_bytes_recursive": entries or None, "io_serviced_recursive": None,
                "io_queue_recursive": None, "io_service_time_recursive": None,
                "io_wait_time_recursive": None, "io_merged_recursive": None,
                "io_time_recursive": None, "sectors_recursive": None}


def system_cpu_usage() -> int:
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:8]
    return sum(int(x) for x in fields) * 10**9 // CLK_TCK


def network_stats(pid: int) -> dict[str, dict[str, int]] | None:
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.readlines()[2:]
    except OSError:
        return None
    out = {}
    for line in lines:
        name, _, data = line.partition(":")
        name = name.strip()
        if name == "lo":
            continue
        v = [int(x) for x in data.split()]
        out[name] = {"rx_bytes": v[0], "rx_packets": v[1], "rx_errors": v[2], "rx_dropped": v[3],
                     "tx_bytes": v[8], "tx_packets": v[9], "tx_errors": v[10],
                     "tx_dropped": v[11]}
    return out


def sample(cg: Cgroup, pid: int, host_total: int) -> dict[str, Any]:
    """One stats sample in Docker's shape (without the preread/precpu part)."""
    return {"read": time.time_ns(), "pids_stats": cg.pids_stats(), "blkio_stats": cg.blkio(),
            "num_procs": 0, "storage_stats": {}, "cpu_stats": cg.cpu(),
            "memory_stats": cg.memory(host_total), "networks": network_stats(pid)}
