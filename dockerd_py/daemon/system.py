"""`/version` and `/info`: real figures about this host and this daemon."""
from __future__ import annotations

import os
import platform
import socket
from typing import Any

from shared.api import API_VERSION, ENGINE_VERSION, MIN_API_VERSION, PRODUCT_VERSION
from shared.timeutil import now_rfc3339

from ..config import DaemonConfig
from ..network.links import read_sysctl
from ..runtime.oci import SECURITY_FLOORS, OCIRuntime, version_tuple
from .images.shapes import go_arch


def cgroup_version() -> str:
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


def mem_total() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _os_release() -> tuple[str, str]:
    name, version = "Linux", ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                value = value.strip('"')
                if key == "PRETTY_NAME":
                    name = value
                elif key == "VERSION_ID":
                    version = value
    except OSError:
        pass
    return name, version


def version_doc(runtimes: dict[str, OCIRuntime], default_runtime: str) -> dict[str, Any]:
    uname = os.uname()
    rt = runtimes.get(default_runtime)
    components = [
        {"Name": "Engine", "Version": ENGINE_VERSION,
         "Details": {"ApiVersion": API_VERSION, "Arch": go_arch(), "BuildTime": "",
                     "Experimental": "false", "GitCommit": "dockerd-py",
                     "GoVersion": f"python{platform.python_version()}",
                     "KernelVersion": uname.release, "MinAPIVersion": MIN_API_VERSION,
                     "Os": "linux"}},
        {"Name": "dockerd-py", "Version": PRODUCT_VERSION, "Details": {}},
    ]
    if rt is not None:
        components.append({"Name": rt.name, "Version": rt.version,
                           "Details": {"GitCommit": rt.commit}})
    return {
        "Platform": {"Name": f"dockerd-py {PRODUCT_VERSION}"},
        "Components": components, "Version": ENGINE_VERSION, "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION, "GitCommit": "dockerd-py",
        "GoVersion": f"python{platform.python_version()}", "Os": "linux", "Arch": go_arch(),
        "KernelVersion": uname.release, "BuildTime": "",
    }


def info_doc(cfg: DaemonConfig, counts: dict[str, int], images: int, driver_name: str,
             driver_status: list[list[str]], runtimes: dict[str, OCIRuntime],
             conmon_version: str, instance_id: str, warnings: list[str],
             plugins: dict[str, list[str]]) -> dict[str, Any]:
    uname = os.uname()
    os_name, os_version = _os_release()
    runtime_docs: dict[str, Any] = {}
    for name, rt in runtimes.items():
        entry: dict[str, Any] = {"path": rt.path}
        if not rt.available:
            entry["status"] = {"unavailable": rt.reason}
        runtime_docs[name] = entry
    warn = list(warnings)
    for rt in runtimes.values():
        message = rt.security_warning()
        if message:
            warn.append("WARNING: " + message)
        if not rt.available:
            warn.append(f"WARNING: runtime {rt.name} is unavailable: {rt.reason}")
    floor = SECURITY_FLOORS["conmon"]
    if conmon_version and version_tuple(conmon_version) < version_tuple(floor[0]):
        warn.append(f"WARNING: conmon {conmon_version}: {floor[1]}; the daemon rotates logs "
                    "itself")
    if not cfg.iptables:
        warn.append("WARNING: iptables is disabled: containers have no NAT")
    doc: dict[str, Any] = {
        "ID": instance_id,
        **counts,
        "Images": images,
        "Driver": driver_name,
        "DriverStatus": driver_status,
        "Plugins": {"Volume": plugins.get("Volume", []), "Network": plugins.get("Network", []),
                    "Authorization": None, "Log": plugins.get("Log", [])},
        "MemoryLimit": True, "SwapLimit": os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
        or cgroup_version() == "2",
        "KernelMemoryTCP": False, "CpuCfsPeriod": True, "CpuCfsQuota": True, "CPUShares": True,
        "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": _ip_forward(),
        "BridgeNfIptables": False, "BridgeNfIp6tables": False, "Debug": cfg.debug,
        "NFd": len(os.listdir("/proc/self/fd")), "OomKillDisable": cgroup_version() == "1",
        "NGoroutines": 0, "SystemTime": now_rfc3339(), "LoggingDriver": cfg.log_driver,
        "CgroupDriver": "cgroupfs", "CgroupVersion": cgroup_version(),
        "NEventsListener": 0, "KernelVersion": uname.release,
        "OperatingSystem": os_name, "OSVersion": os_version, "OSType": "linux",
        "Architecture": platform.machine(), "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": None,  # the distribution service fills it in
        "NCPU": os.cpu_count() or 1, "MemTotal": mem_total(), "GenericResources": None,
        "DockerRootDir": cfg.data_root, "HttpProxy": os.environ.get("HTTP_PROXY", ""),
        "HttpsProxy": os.environ.get("HTTPS_PROXY", ""), "NoProxy": os.environ.get("NO_PROXY", ""),
        "Name": socket.gethostname(), "Labels": list(cfg.labels), "ExperimentalBuild": False,
        "ServerVersion": ENGINE_VERSION, "Runtimes": runtime_docs,
        "DefaultRuntime": cfg.default_runtime,
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                  "ControlAvailable": False, "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": cfg.live_restore, "Isolation": "",
        "InitBinary": "docker-init", "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": _commit(runtimes.get(cfg.default_runtime)),
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": ["name=seccomp,profile=builtin"]
        + (["name=userns"] if cfg.userns_remap else [])
        + (["name=cgroupns"] if cgroup_version() == "2" else []),
        "CDISpecDirs": [], "Warnings": warn or None,
    }
    return doc


def _commit(rt: OCIRuntime | None) -> dict[str, str]:
    """dockerd's RuncCommit: the runtime's `commit:` line, or N/A when it has none."""
    commit = rt.commit if rt is not None and rt.commit else "N/A"
    return {"ID": commit, "Expected": commit}


def _ip_forward() -> bool:
    return read_sysctl("/proc/sys/net/ipv4/ip_forward") == "1"

