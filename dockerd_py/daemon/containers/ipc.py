"""A container's IPC namespace and /dev/shm, as dockerd's setupIPCDirs and its
spec decide them by HostConfig.IpcMode:

- private: a namespace of its own and the spec's own tmpfs at /dev/shm;
- none: a namespace of its own and no /dev/shm at all;
- shareable: a namespace of its own and a tmpfs the daemon mounts on the host
  (in the container's directory), bound at /dev/shm, so that others can join;
- container:X: X's namespace and X's /dev/shm (X must run, and be shareable);
- host: the host's namespace and the host's /dev/shm.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ...errors import Conflict, DockerError, InvalidParameter
from ...storage import mounts
from .record import Container
from .repository import ContainerPaths, ContainerRepository

MODES = ("", "none", "private", "shareable", "host")


def check_mode(mode: str) -> None:
    """At create: dockerd's IpcMode.Valid."""
    if mode not in MODES and not mode.startswith("container:"):
        raise InvalidParameter(f"invalid IPC mode: {mode}")


def shm_dir(paths: ContainerPaths, cid: str) -> str:
    """Where a shareable container's /dev/shm is mounted on the host."""
    return os.path.join(paths.dir(cid), "mounts", "shm")


@dataclass(frozen=True)
class IpcPlan:
    namespace_path: str | None = None  # join this namespace (container:X)
    shm_source: str | None = None      # a host directory bound at /dev/shm
    make_shm: bool = False             # shareable: mount the tmpfs at shm_source first


def plan(ctr: Container, repo: ContainerRepository, paths: ContainerPaths) -> IpcPlan:
    """On the loop, at start: what the mode needs, with dockerd's refusals."""
    mode = ctr.host_config.get("IpcMode") or ""
    if mode == "host":
        if not os.path.isdir("/dev/shm"):
            raise DockerError("/dev/shm is not mounted, but must be for --ipc=host")
        return IpcPlan(shm_source="/dev/shm")
    if mode == "shareable":
        return IpcPlan(shm_source=shm_dir(paths, ctr.id), make_shm=True)
    if not mode.startswith("container:"):
        return IpcPlan()  # private, none (and containers from before IpcMode was kept)
    name = mode.split(":", 1)[1]
    try:
        donor = repo.get(name)
    except DockerError as exc:
        raise InvalidParameter(f"failed to join IPC namespace: {exc.message}") from None
    if donor.restarting:
        raise Conflict(f"failed to join IPC namespace: Container {name} is restarting, "
                       "wait until the container is running")
    if not donor.running or donor.state["Pid"] <= 0:
        raise Conflict(f"failed to join IPC namespace: container {name} is not running")
    source = shm_dir(paths, donor.id)
    if (donor.host_config.get("IpcMode") or "") != "shareable" or not os.path.isdir(source):
        raise InvalidParameter(f"failed to join IPC namespace: container {name}: non-shareable "
                               "IPC (hint: use IpcMode:shareable for the donor container)")
    return IpcPlan(namespace_path=f"/proc/{donor.state['Pid']}/ns/ipc", shm_source=source)


def explain_start_failure(ctr: Container, plan_made: IpcPlan) -> None:
    """A start that failed while joining a donor that exited between the check and
    the runtime's setns: dockerd's words for a donor that does not run, not the
    runtime's ("can't get final child's PID from pipe")."""
    if plan_made.namespace_path and not os.path.exists(plan_made.namespace_path):
        name = (ctr.host_config.get("IpcMode") or "").split(":", 1)[1]
        raise Conflict(f"failed to join IPC namespace: container {name} is not running")


def mount_shm(path: str, size: int, owner: tuple[int, int] | None) -> None:
    """A shareable container's /dev/shm, on the host (blocking)."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if not mounts.is_mountpoint(path):
        mounts.mount("shm", path, "tmpfs", mounts.MS_NOSUID | mounts.MS_NODEV | mounts.MS_NOEXEC,
                     f"mode=1777,size={size}")
    if owner is not None:
        os.chown(path, *owner)


def unmount_shm(paths: ContainerPaths, cid: str) -> None:
    """After a run (blocking): a shareable container's /dev/shm goes with it."""
    path = shm_dir(paths, cid)
    if os.path.isdir(path):
        mounts.umount(path, detach=True)
