"""The OCI runtime spec (config.json) of a container, built from Docker's Config
and HostConfig, as dockerd's daemon/oci_linux.go builds it."""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidParameter
from ..userns import IdMap
from . import seccomp
from .users import ExecUser

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# daemon/pkg/oci/caps/defaults.go: Docker's 14.
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
ALL_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"]
CAP_NUMBERS = {name: i for i, name in enumerate(ALL_CAPS[:38])} | {
    "CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40}


def _bounding_set() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return (1 << 64) - 1


def available_caps() -> list[str]:
    """The capabilities this daemon holds: `--privileged` and `--cap-add ALL` give
    these (no process can grant what its own bounding set lacks)."""
    bounding = _bounding_set()
    return [c for c in ALL_CAPS if bounding >> CAP_NUMBERS[c] & 1]


# Docker 28's defaults, in its order (/proc/interrupts and the CPUs' thermal_throttle
# are its fix for GHSA-6fw5-f8r9-fgfm, which Docker 25 did not mask yet)
MASKED_PATHS = ["/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
INIT_PATH_IN_CONTAINER = "/sbin/docker-init"
NAMESPACED_SYSCTL_PREFIXES = ("kernel.msg", "kernel.sem", "kernel.shm", "fs.mqueue.", "net.")
_SYSCTL_KEY_RE = re.compile(r"^[a-z0-9_][a-z0-9_.\-/]*$")
NAMESPACED_SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
                      "kernel.domainname", "kernel.hostname"}


def default_masked_paths() -> list[str]:
    return MASKED_PATHS + _thermal_paths()


def _thermal_paths() -> list[str]:
    out = []
    for n in range(os.cpu_count() or 1):
        path = f"/sys/devices/system/cpu/cpu{n}/thermal_throttle"
        if os.path.exists(path):
            out.append(path)
    return out


def _dev_rule(allow: bool, kind: str | None = None, major: int | None = None,
              minor: int | None = None, access: str = "rwm") -> dict[str, Any]:
    rule: dict[str, Any] = {"allow": allow, "access": access}
    if kind:
        rule["type"] = kind
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    return rule


DEFAULT_DEVICE_RULES = [
    _dev_rule(False), _dev_rule(True, "c", 1, 5), _dev_rule(True, "c", 1, 3),
    _dev_rule(True, "c", 1, 9), _dev_rule(True, "c", 1, 8), _dev_rule(True, "c", 5, 0),
    _dev_rule(True, "c", 5, 1), _dev_rule(False, "c", 10, 229)]


def capabilities(host_config: dict[str, Any]) -> list[str]:
    """Docker's TweakCapabilities: defaults, then CapAdd/CapDrop ("ALL" allowed)."""
    if host_config.get("Privileged"):
        return available_caps()
    adds = [_norm_cap(c) for c in host_config.get("CapAdd") or []]
    drops = [_norm_cap(c) for c in host_config.get("CapDrop") or []]
    for cap in adds + drops:
        if cap != "ALL" and cap not in ALL_CAPS:
            raise InvalidParameter(f"unknown capability: \"{cap}\"")
    if "ALL" in adds:
        base = available_caps()
    elif "ALL" in drops:
        base = []
    else:
        base = list(DEFAULT_CAPS)
    result = [c for c in base if c not in drops]
    for cap in adds:
        if cap != "ALL" and cap not in result and (cap not in drops or "ALL" in drops):
            result.append(cap)
    return result


def _norm_cap(cap: str) -> str:
    cap = cap.strip().upper()
    return cap if cap == "ALL" or cap.startswith("CAP_") else "CAP_" + cap


def merge_env(base: list[str], override: list[str] | None) -> list[str]:
    """ReplaceOrAppendEnvValues: later keys replace earlier ones in place."""
    out = list(base)
    index = {e.split("=", 1)[0]: i for i, e in enumerate(out)}
    for item in override or []:
        key = item.split("=", 1)[0]
        if "=" not in item:
            # `-e FOO` without value: drop it if unset (Docker resolves it client side)
            continue
        if key in index:
            out[index[key]] = item
        else:
            index[key] = len(out)
            out.append(item)
    return out


def process_env(config: dict[str, Any], extra: list[str] | None = None) -> list[str]:
    base = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={config.get('Hostname', '')}"]
    if config.get("Tty"):
        base.append("TERM=xterm")
    return merge_env(merge_env(base, extra or []), config.get("Env"))


@dataclass
class SpecInputs:
    """What the daemon knows at start time beyond the container's own documents."""
    rootfs: str
    user: ExecUser
    hostname_path: str
    hosts_path: str
    resolv_conf_path: str
    cgroups_path: str
    netns_path: str | None = None       # None: a new network namespace
    host_network: bool = False
    seccomp_profile: dict[str, Any] | None = None
    init_binary: str | None = None
    extra_mounts: list[dict[str, Any]] = field(default_factory=list)
    extra_env: list[str] = field(default_factory=list)  # legacy links' variables
    idmap: IdMap | None = None          # --userns-remap: a user namespace with this map
    userns_path: str | None = None      # ...joined: the one of a container whose net it shares
    ipc_ns_path: str | None = None      # an IPC namespace to join (--ipc container:X)
    shm_source: str | None = None       # a host directory bound at /dev/shm (host, shareable,
                                        # container:X); else the spec's own tmpfs, or none


def build(container: dict[str, Any], inputs: SpecInputs) -> dict[str, Any]:
    config = container["Config"]
    hc = container["HostConfig"]
    privileged = bool(hc.get("Privileged"))
    caps = capabilities(hc)
    args = [container["Path"]] + list(container["Args"])
    mounts = _mounts(hc, inputs, privileged)
    if hc.get("Init") and inputs.init_binary:
        args = [INIT_PATH_IN_CONTAINER, "--"] + args
        mounts.append({"destination": INIT_PATH_IN_CONTAINER, "type": "bind",
                       "source": inputs.init_binary, "options": ["bind", "ro"]})
    process: dict[str, Any] = {
        "terminal": bool(config.get("Tty")),
        "user": {"uid": inputs.user.uid, "gid": inputs.user.gid},
        "args": args,
        "env": process_env(config, inputs.extra_env),
        "cwd": config.get("WorkingDir") or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": _rlimits(hc.get("Ulimits")),
        "noNewPrivileges": _no_new_privileges(hc),
    }
    if inputs.user.additional_gids:
        process["user"]["additionalGids"] = inputs.user.additional_gids
    if hc.get("OomScoreAdj"):
        process["oomScoreAdj"] = hc["OomScoreAdj"]
    spec: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": inputs.rootfs, "readonly": bool(hc.get("ReadonlyRootfs"))},
        "mounts": mounts,
        "linux": _linux(container, inputs, caps, privileged),
    }
    if hc.get("UTSMode") != "host" and not inputs.host_network:  # a UTS namespace of its own
        if config.get("Hostname"):
            spec["hostname"] = config["Hostname"]
        if config.get("Domainname"):  # no OCI field runc 1.1 reads: dockerd's sysctl
            spec["linux"].setdefault("sysctl", {})["kernel.domainname"] = config["Domainname"]
    return spec


def split_security_opt(opt: str) -> tuple[str, str]:
    """A --security-opt as dockerd reads it: split at the first `=`, or (the old
    form) at the first `:` when there is no `=`; so `seccomp={"a": 1}` keeps its
    JSON whole."""
    key, sep, value = opt.partition("=")
    if not sep:
        key, _, value = opt.partition(":")
    return key, value


def _no_new_privileges(hc: dict[str, Any]) -> bool:
    for opt in hc.get("SecurityOpt") or []:
        key, value = split_security_opt(opt)
        if key == "no-new-privileges":
            return value in ("", "true", "1")
    return False


def _rlimits(ulimits: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Only what the user asked for; otherwise the daemon's own limits are inherited,
    as with dockerd (its unit sets LimitNOFILE)."""
    limits: dict[str, tuple[int, int]] = {}
    for item in ulimits or []:
        name = "RLIMIT_" + str(item.get("Name", "")).upper()
        limits[name] = (int(item.get("Soft", 0)), int(item.get("Hard", 0)))
    return [{"type": name, "soft": soft, "hard": hard} for name, (soft, hard) in limits.items()]


def _mounts(hc: dict[str, Any], inputs: SpecInputs, privileged: bool) -> list[dict[str, Any]]:
    shm_size = hc.get("ShmSize") or DEFAULT_SHM_SIZE
    ro_sys = [] if privileged else ["ro"]
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev"] + ro_sys},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         # read-write in a user namespace: it cannot be remounted read-only (dockerd's way)
         "options": ["nosuid", "noexec", "nodev", "relatime"]
         + (ro_sys if ro_sys and not _remapped(inputs) else ["rw"])},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
    ]
    if inputs.shm_source is not None:
        mounts.append({"destination": "/dev/shm", "type": "bind", "source": inputs.shm_source,
                       "options": ["rbind", "rprivate"]})
    elif hc.get("IpcMode") != "none":  # none: no /dev/shm at all
        mounts.append({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                       "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size}"]})
    for dest, src in (("/etc/resolv.conf", inputs.resolv_conf_path),
                      ("/etc/hostname", inputs.hostname_path),
                      ("/etc/hosts", inputs.hosts_path)):
        mounts.append({"destination": dest, "type": "bind", "source": src,
                       "options": ["rbind", "rprivate"]})
    mounts.extend(inputs.extra_mounts)
    return mounts


def _linux(container: dict[str, Any], inputs: SpecInputs, caps: list[str],
           privileged: bool) -> dict[str, Any]:
    hc = container["HostConfig"]
    namespaces: list[dict[str, str]] = [{"type": "mount"}]
    if inputs.netns_path:
        namespaces.append({"type": "network", "path": inputs.netns_path})
    elif not inputs.host_network:
        namespaces.append({"type": "network"})
    if hc.get("UTSMode") != "host" and not inputs.host_network:
        namespaces.append({"type": "uts"})
    if hc.get("PidMode") != "host":
        namespaces.append({"type": "pid"})
    if inputs.ipc_ns_path:
        namespaces.append({"type": "ipc", "path": inputs.ipc_ns_path})
    elif hc.get("IpcMode") != "host":
        namespaces.append({"type": "ipc"})
    if hc.get("CgroupnsMode") == "private":
        namespaces.append({"type": "cgroup"})
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "cgroupsPath": inputs.cgroups_path,
        "resources": resources_of(hc, privileged),
    }
    if _remapped(inputs):
        assert inputs.idmap is not None
        user_ns = {"type": "user"}
        if inputs.userns_path:
            user_ns["path"] = inputs.userns_path
        namespaces.append(user_ns)
        linux.update(inputs.idmap.oci())
    if not privileged:  # the HostConfig's, which create filled with the defaults when unset
        masked, readonly = hc.get("MaskedPaths"), hc.get("ReadonlyPaths")
        linux["maskedPaths"] = list(default_masked_paths() if masked is None else masked)
        linux["readonlyPaths"] = list(READONLY_PATHS if readonly is None else readonly)
    if inputs.seccomp_profile is not None and not privileged:
        linux["seccomp"] = seccomp.to_oci(inputs.seccomp_profile, frozenset(caps))
    sysctls = hc.get("Sysctls") or {}
    if sysctls:
        validate_sysctls(sysctls, hc)
    linux["sysctl"] = _default_sysctls(hc, _remapped(inputs)) | dict(sysctls)
    devices = _devices(hc.get("Devices") or [])
    if privileged:
        devices = host_devices() + devices
    if devices:
        linux["devices"] = [d for d, _ in devices]
        linux["resources"]["devices"].extend(rule for _, rule in devices)
    return linux


def _remapped(inputs: SpecInputs) -> bool:
    return inputs.idmap is not None and inputs.idmap.remapped


def _sysctl_exists(key: str) -> bool:
    return os.path.exists("/proc/sys/" + key.replace(".", "/"))


def _default_sysctls(hc: dict[str, Any], remapped: bool) -> dict[str, str]:
    """dockerd's defaults for a network namespace of the container's own (not the
    host's, not another container's): ping and ports below 1024 without
    capabilities; the request's Sysctls override them."""
    mode = hc.get("NetworkMode") or ""
    if mode == "host" or mode.startswith("container:"):
        return {}
    out = {}
    if not remapped and _sysctl_exists("net.ipv4.ping_group_range"):  # not in a user namespace
        out["net.ipv4.ping_group_range"] = "0 2147483647"
    if _sysctl_exists("net.ipv4.ip_unprivileged_port_start"):
        out["net.ipv4.ip_unprivileged_port_start"] = "0"
    return out


def validate_sysctls(sysctls: dict[str, str], hc: dict[str, Any]) -> None:
    for key, value in sysctls.items():
        if not isinstance(value, str) or not _SYSCTL_KEY_RE.match(key) or \
                any(c in value for c in "\n\0"):
            raise InvalidParameter(f"invalid sysctl {key}={value!r}")
        if "+" in value or "=" in value:
            raise InvalidParameter(f"invalid sysctl value {value!r} for {key}: "
                                   "'+' and '=' are not allowed")
        if key in NAMESPACED_SYSCTLS or key.startswith(NAMESPACED_SYSCTL_PREFIXES):
            if key.startswith("net.") and hc.get("NetworkMode") == "host":
                raise InvalidParameter(f"sysctl '{key}' not allowed in host network namespace")
            continue
        raise InvalidParameter(f"sysctl '{key}' is not allowed")


def resources_of(hc: dict[str, Any], privileged: bool) -> dict[str, Any]:
    res: dict[str, Any] = {"devices": [] if privileged else [dict(r) for r in DEFAULT_DEVICE_RULES]}
    if privileged:
        res["devices"] = [_dev_rule(True)]
    memory: dict[str, Any] = {}
    if hc.get("Memory"):
        memory["limit"] = hc["Memory"]
    if hc.get("MemoryReservation"):
        memory["reservation"] = hc["MemoryReservation"]
    if hc.get("MemorySwap"):
        memory["swap"] = hc["MemorySwap"]
    if hc.get("MemorySwappiness") is not None and hc.get("MemorySwappiness", -1) >= 0:
        memory["swappiness"] = hc["MemorySwappiness"]
    if hc.get("OomKillDisable"):
        memory["disableOOMKiller"] = True
    if memory:
        res["memory"] = memory
    cpu: dict[str, Any] = {}
    if hc.get("CpuShares"):
        cpu["shares"] = hc["CpuShares"]
    if hc.get("NanoCpus"):
        period = 100000
        cpu["period"] = period
        cpu["quota"] = hc["NanoCpus"] * period // 10**9
    if hc.get("CpuQuota"):
        cpu["quota"] = hc["CpuQuota"]
    if hc.get("CpuPeriod"):
        cpu["period"] = hc["CpuPeriod"]
    if hc.get("CpusetCpus"):
        cpu["cpus"] = hc["CpusetCpus"]
    if hc.get("CpusetMems"):
        cpu["mems"] = hc["CpusetMems"]
    # real-time scheduling: given to the runtime as dockerd gives it, so that a
    # kernel (or parent cgroup) without a real-time budget refuses it at the start
    if hc.get("CpuRealtimePeriod"):
        cpu["realtimePeriod"] = hc["CpuRealtimePeriod"]
    if hc.get("CpuRealtimeRuntime"):
        cpu["realtimeRuntime"] = hc["CpuRealtimeRuntime"]
    if cpu:
        res["cpu"] = cpu
    if hc.get("PidsLimit") and hc["PidsLimit"] > 0:
        res["pids"] = {"limit": hc["PidsLimit"]}
    if hc.get("BlkioWeight"):
        res["blockIO"] = {"weight": hc["BlkioWeight"]}
    return res


def host_devices() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every device node of the host's /dev, for a privileged container."""
    out = []
    skip = ("/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/console", "/dev/fd")
    for dirpath, dirnames, filenames in os.walk("/dev"):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if path in skip or path.startswith("/dev/tty") or path == "/dev/ptmx":
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
                major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
                out.append(({"path": path, "type": kind, "major": major, "minor": minor,
                             "fileMode": st.st_mode & 0o777, "uid": st.st_uid, "gid": st.st_gid},
                            _dev_rule(True, kind, major, minor)))
    return out


def _devices(mappings: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for mapping in mappings:
        host = mapping.get("PathOnHost", "")
        inside = mapping.get("PathInContainer") or host
        perms = mapping.get("CgroupPermissions") or "rwm"
        try:
            st = os.stat(host)
        except OSError:
            raise InvalidParameter(f"error gathering device information while adding "
                                   f"custom device \"{host}\": no such file or directory") from None
        if stat.S_ISCHR(st.st_mode):
            kind = "c"
        elif stat.S_ISBLK(st.st_mode):
            kind = "b"
        else:
            raise InvalidParameter(f"error gathering device information while adding "
                                   f"custom device \"{host}\": not a device node")
        major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
        device = {"path": inside, "type": kind, "major": major, "minor": minor,
                  "fileMode": st.st_mode & 0o777, "uid": 0, "gid": 0}
        out.append((device, _dev_rule(True, kind, major, minor, perms)))
    return out
