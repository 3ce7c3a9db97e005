"""Checks of a create request's Config and HostConfig, with dockerd's messages."""
from __future__ import annotations

import functools
import os
from typing import Any

from ..errors import InvalidParameter
from ..runtime.spec import split_security_opt

MIN_MEMORY = 6 * 1024 * 1024
MAX_CPU_SHARES = 262144  # the kernel's (and runc's) ceiling
RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")


def _parse_cpuset(text: str, limit: int) -> set[int]:
    """`0-3,5` -> {0,1,2,3,5}; refuse absurd ranges before expanding them."""
    out: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ValueError("empty element")
        lo_text, sep, hi_text = part.partition("-")
        if not lo_text.isdigit() or (sep and not hi_text.isdigit()):
            raise ValueError(f"invalid format: {part}")
        lo = int(lo_text)
        hi = int(hi_text) if sep else lo
        if hi < lo:
            raise ValueError(f"invalid range: {part}")
        if hi >= limit:
            raise OverflowError
        out.update(range(lo, hi + 1))
    return out


def restart_policy(policy: dict[str, Any] | None) -> dict[str, Any]:
    policy = dict(policy or {})
    name = policy.get("Name") or "no"
    count = policy.get("MaximumRetryCount") or 0
    if name not in RESTART_POLICIES:
        raise InvalidParameter(f"invalid restart policy: unknown policy '{name}'; use one of "
                               "'no', 'always', 'on-failure', or 'unless-stopped'")
    if count < 0:
        raise InvalidParameter("invalid restart policy: maximum retry count cannot be negative")
    if count > 0 and name != "on-failure":
        raise InvalidParameter("invalid restart policy: maximum retry count can only be used "
                               "with 'on-failure'")
    return {"Name": name, "MaximumRetryCount": count}


def resources(hc: dict[str, Any], update: bool = False) -> list[str]:
    """verifyPlatformContainerResources; returns warnings."""
    warnings: list[str] = []
    memory = hc.get("Memory") or 0
    swap = hc.get("MemorySwap") or 0
    reservation = hc.get("MemoryReservation") or 0
    shares = hc.get("CpuShares") or 0
    if shares < 0:  # refused at create: dockerd 20.10 accepts it and fails the start
        raise InvalidParameter("shares: invalid argument")
    if shares > MAX_CPU_SHARES:
        raise InvalidParameter(f"the maximum allowed cpu-shares is {MAX_CPU_SHARES}")
    if memory != 0 and memory < MIN_MEMORY:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    if memory > 0 and swap > 0 and swap < memory:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, "
                               "see usage")
    if memory == 0 and swap > 0 and not update:
        raise InvalidParameter("You should always set the Memory limit when using Memoryswap "
                               "limit, see usage")
    swappiness = hc.get("MemorySwappiness")
    if swappiness is not None and swappiness != -1 and not 0 <= swappiness <= 100:
        raise InvalidParameter(f"Invalid value: {swappiness}, valid memory swappiness range "
                               "is 0-100")
    if reservation > 0 and reservation < MIN_MEMORY:
        raise InvalidParameter("Minimum memory reservation allowed is 6MB")
    if memory > 0 and reservation > 0 and memory < reservation:
        raise InvalidParameter("Minimum memory limit can not be less than memory reservation "
                               "limit, see usage")
    nano = hc.get("NanoCpus") or 0
    period = hc.get("CpuPeriod") or 0
    quota = hc.get("CpuQuota") or 0
    if nano > 0 and period > 0:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and quota > 0:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    ncpu = os.cpu_count() or 1
    if nano != 0 and (nano < 0 or nano > ncpu * 10**9):
        raise InvalidParameter(f"range of CPUs is from 0.01 to {ncpu}.00, as there are only "
                               f"{ncpu} CPUs available")
    if period != 0 and not 1000 <= period <= 1000000:
        raise InvalidParameter("CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
                               "than 1s (i.e. 1000000)")
    if 0 < quota < 1000:
        raise InvalidParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    for key, what, available in (("CpusetCpus", "cpus", _online_cpus()),
                                 ("CpusetMems", "mems", _online_mems())):
        text = hc.get(key) or ""
        if not text:
            continue
        try:
            wanted = _parse_cpuset(text, 1 << 16)
        except (ValueError, OverflowError) as exc:
            detail = "invalid range" if isinstance(exc, OverflowError) else str(exc)
            raise InvalidParameter(f"Invalid value {text} for cpuset {what}: {detail}") from None
        if not wanted <= available:
            kind = "CPUs" if what == "cpus" else "memory nodes"
            raise InvalidParameter(f"Requested {kind} are not available - requested {text}, "
                                   f"available: {_format_set(available)}")
    weight = hc.get("BlkioWeight") or 0
    if weight > 0 and not blkio_weight_supported():
        warnings.append("Your kernel does not support Block I/O weight or the cgroup is not "
                        "mounted. Weight discarded.")
        hc["BlkioWeight"] = weight = 0
    if weight > 0 and not 10 <= weight <= 1000:
        raise InvalidParameter("Range of blkio weight is from 10 to 1000")
    if (hc.get("ShmSize") or 0) < 0:
        raise InvalidParameter("SHM size can not be less than 0")
    oom = hc.get("OomScoreAdj") or 0
    if not -1000 <= oom <= 1000:
        raise InvalidParameter(f"Invalid value {oom}, range for oom score adj is [-1000, 1000]")
    pids = hc.get("PidsLimit")
    if pids is not None and pids < 0:
        hc["PidsLimit"] = 0  # negative means unlimited, as in dockerd
    for item in hc.get("Ulimits") or []:
        if not isinstance(item, dict) or not item.get("Name"):
            raise InvalidParameter("invalid ulimit: a name is required")
        if item.get("Soft", 0) > item.get("Hard", 0):
            raise InvalidParameter(f"ulimit soft limit must be less than or equal to hard "
                                   f"limit: {item.get('Soft')} > {item.get('Hard')}")
    return warnings


def _read_range_file(path: str, default: str) -> set[int]:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        text = default
    try:
        return _parse_cpuset(text, 1 << 16) if text else set()
    except (ValueError, OverflowError):
        return set()


@functools.cache
def blkio_weight_supported() -> bool:
    """cgroup v1 lost blkio.weight with CFQ (kernel 5.0); BFQ's or v2's io may stand in."""
    v1 = "/sys/fs/cgroup/blkio"
    if os.path.isdir(v1):
        return any(os.path.exists(os.path.join(v1, f)) for f in ("blkio.weight",
                                                                  "blkio.bfq.weight"))
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            return "io" in f.read().split()
    except OSError:
        return False


def _online_cpus() -> set[int]:
    return _read_range_file("/sys/devices/system/cpu/online", f"0-{(os.cpu_count() or 1) - 1}")


def _online_mems() -> set[int]:
    return _read_range_file("/sys/devices/system/node/online", "0")


def _format_set(values: set[int]) -> str:
    items = sorted(values)
    if not items:
        return ""
    ranges = []
    start = prev = items[0]
    for value in items[1:]:
        if value == prev + 1:
            prev = value
            continue
        ranges.append(f"{start}-{prev}" if prev != start else str(start))
        start = prev = value
    ranges.append(f"{start}-{prev}" if prev != start else str(start))
    return ",".join(ranges)


def working_dir(config: dict[str, Any]) -> None:
    """dockerd's verifyContainerSettings refuses it at create (a start would fail)."""
    workdir = config.get("WorkingDir") or ""
    if workdir and not workdir.startswith("/"):
        raise InvalidParameter(f"the working directory '{workdir}' is invalid, it needs to "
                               "be an absolute path")


def env(config: dict[str, Any]) -> None:
    """opts.ValidateEnv: a variable needs a name (``, `=`, `=foo` are refused)."""
    for item in config.get("Env") or []:
        if not str(item).partition("=")[0]:
            raise InvalidParameter(f"invalid environment variable: {item}")


MINIMUM_DURATION_NS = 1_000_000  # container.MinimumDuration: 1ms


def healthcheck(config: dict[str, Any]) -> None:
    """dockerd's validateHealthCheck, in its order and words."""
    check = config.get("Healthcheck") or {}
    for key in ("Interval", "Timeout"):
        value = check.get(key) or 0
        if value and value < MINIMUM_DURATION_NS:
            raise InvalidParameter(f"{key} in Healthcheck cannot be less than 1ms")
    if (check.get("Retries") or 0) < 0:
        raise InvalidParameter("Retries in Healthcheck cannot be negative")
    for key in ("StartPeriod", "StartInterval"):
        value = check.get(key) or 0
        if value and value < MINIMUM_DURATION_NS:
            raise InvalidParameter(f"{key} in Healthcheck cannot be less than 1ms")


def extra_hosts(hc: dict[str, Any]) -> None:
    """NAME:ADDRESS (or NAME=ADDRESS), as opts.ValidateExtraHost reads it."""
    for entry in hc.get("ExtraHosts") or []:
        name, sep, address = str(entry).replace("=", ":", 1).partition(":")
        if not sep or not name or not address:
            raise InvalidParameter(f'bad format for add-host: "{entry}"')


def host_config(hc: dict[str, Any]) -> list[str]:
    extra_hosts(hc)
    warnings = resources(hc)
    if (hc.get("Memory") or 0) > 0 and not hc.get("MemorySwap"):
        hc["MemorySwap"] = hc["Memory"] * 2  # dockerd's default: swap as large as memory
    hc["RestartPolicy"] = restart_policy(hc.get("RestartPolicy"))
    if hc.get("AutoRemove") and hc["RestartPolicy"]["Name"] != "no":
        raise InvalidParameter("can't create 'AutoRemove' container with restart policy")
    mode = hc.get("NetworkMode") or "default"
    if mode == "default":
        mode = "bridge"
    hc["NetworkMode"] = mode
    for opt in hc.get("SecurityOpt") or []:
        key = split_security_opt(opt)[0]
        if key not in ("seccomp", "no-new-privileges", "apparmor", "label", "systempaths",
                       "writable-cgroups"):
            raise InvalidParameter(f"invalid --security-opt 2: \"{opt}\"")
    isolation = hc.get("Isolation") or ""
    if isolation.lower() not in ("", "default"):  # Isolation.IsValid on Linux
        raise InvalidParameter(f"invalid isolation '{isolation}' on linux")
    if "" in (hc.get("Annotations") or {}):
        raise InvalidParameter("invalid Annotations: the empty string is not permitted as an "
                               "annotation key")
    return warnings


# Resources `docker update` may change; zero (or null for lists) leaves a value alone.
UPDATABLE = ("BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "CpusetCpus",
             "CpusetMems", "Memory", "MemorySwap", "MemoryReservation", "CpuRealtimePeriod",
             "CpuRealtimeRuntime")
UPDATABLE_LISTS = ("BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
                   "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "PidsLimit")


def updated_host_config(hc: dict[str, Any], body: dict[str, Any]) -> tuple[dict[str, Any],
                                                                           list[str]]:
    """UpdateContainer: the new HostConfig after an update request, and its warnings."""
    warnings = resources(body, update=True)
    for new, old, text in (("NanoCpus", "CpuPeriod", "Nano CPUs cannot be updated as CPU Period"),
                           ("NanoCpus", "CpuQuota", "Nano CPUs cannot be updated as CPU Quota"),
                           ("CpuPeriod", "NanoCpus", "CPU Period cannot be updated as NanoCPUs"),
                           ("CpuQuota", "NanoCpus", "CPU Quota cannot be updated as NanoCPUs")):
        if (body.get(new) or 0) > 0 and (hc.get(old) or 0) > 0:
            raise InvalidParameter(f"Conflicting options: {text} has already been set")
    merged = dict(hc)
    for key in UPDATABLE:
        if body.get(key):
            merged[key] = body[key]
    for key in UPDATABLE_LISTS:
        if body.get(key) is not None:
            merged[key] = body[key]
    memory = body.get("Memory") or 0
    if memory and memory > (hc.get("MemorySwap") or 0) and not body.get("MemorySwap"):
        raise InvalidParameter("Memory limit should be smaller than already set memoryswap "
                               "limit, update the memoryswap at the same time")
    if (body.get("RestartPolicy") or {}).get("Name"):
        policy = restart_policy(body["RestartPolicy"])
        if hc.get("AutoRemove") and policy["Name"] != "no":
            raise InvalidParameter("Restart policy cannot be updated because AutoRemove is "
                                   "enabled for the container")
        merged["RestartPolicy"] = policy
    swap, memory = merged.get("MemorySwap") or 0, merged.get("Memory") or 0
    if swap > 0 and memory > 0 and swap < memory:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, "
                               "see usage")
    return merged, warnings
