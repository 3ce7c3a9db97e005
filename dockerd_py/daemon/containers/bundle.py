"""The OCI bundle of a starting container: its filesystem mounted, the
directories it needs made inside it, its name files written, its user
resolved from its own /etc/passwd, and config.json. Blocking: run off the loop."""
from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from typing import Any

from ...runtime import seccomp, spec, users
from ...storage.confined import Root
from ...storage.copytree import copy_tree
from ...storage.drivers.base import remove_tree
from .. import container_mounts as mounts_mod
from ..networking.sandbox import SandboxPlan
from . import ipc
from .deps import ContainerDeps
from .record import Container

log = logging.getLogger(__name__)


def find_init(configured: str | None) -> str | None:
    """The `--init` binary: the configured one, else the first one installed."""
    for candidate in (configured, "docker-init", "tini-static", "catatonit", "tini"):
        if candidate:
            found = shutil.which(candidate) or (candidate if os.path.isabs(candidate)
                                                and os.path.exists(candidate) else None)
            if found:
                return found
    return None


@dataclass(frozen=True)
class Prepared:
    rootfs: str
    volumes: dict[str, str]  # each volume's destination, and where its data is

    def record(self, ctr: Container) -> None:
        """On the loop, after the worker: where each volume is, and that the image's
        files are in it (a copy-up happens once)."""
        for m in ctr.internal.mounts:
            if m.type == "volume" and m.destination in self.volumes:
                m.source = self.volumes[m.destination]
                m.copied = True


class BundleWriter:
    def __init__(self, deps: ContainerDeps) -> None:
        self.deps = deps
        self.init_binary = find_init(deps.cfg.init_path)

    def prepare(self, ctr: Container, netns_path: str | None, plan: SandboxPlan,
                ipc_plan: ipc.IpcPlan) -> Prepared:
        """Write the bundle; returns the mounted rootfs (unmounted again on failure)
        and where the volumes are. Runs in a worker thread, on a snapshot of the
        container (Container.snapshot) and the plan: plain data; the caller records
        the volumes on the loop."""
        bundle = self.deps.paths.bundle(ctr.id)
        remove_tree(bundle)
        os.makedirs(bundle, mode=0o700)
        rw = self.deps.layers.rw_layer(ctr.internal.rw_layer)
        rootfs = rw.mount()
        idmap = self.deps.idmap
        owner = idmap.owner
        try:
            config, hc = ctr.config, ctr.host_config
            with Root(rootfs) as root:
                os.close(root.open_dir(config.get("WorkingDir") or "/", create=True,
                                       owner=owner))
                volumes = self._mount_volumes(ctr, root, owner)
            user = users.resolve(rootfs, config.get("User", ""), hc.get("GroupAdd"))
            if plan.files is not None:
                plan.files.write()
            if ipc_plan.make_shm:
                assert ipc_plan.shm_source is not None
                ipc.mount_shm(ipc_plan.shm_source, hc.get("ShmSize") or spec.DEFAULT_SHM_SIZE,
                              owner)
            if owner is not None and plan.files is not None:  # its root may edit /etc/hosts
                for key in ("HostnamePath", "HostsPath", "ResolvConfPath"):
                    os.chown(ctr.doc[key], *owner)
            inputs = spec.SpecInputs(
                rootfs=rootfs, user=user, hostname_path=ctr.doc["HostnamePath"],
                hosts_path=ctr.doc["HostsPath"], resolv_conf_path=ctr.doc["ResolvConfPath"],
                cgroups_path=f"/{self.deps.cfg.effective_cgroup_parent}/{ctr.id}",
                netns_path=netns_path,
                host_network=plan.host_network,
                seccomp_profile=self._seccomp_profile(hc), init_binary=self.init_binary,
                extra_mounts=mounts_mod.oci_mounts(
                    ctr.internal.mounts, owner,
                    volumes),
                idmap=idmap if hc.get("UsernsMode") != "host" else None,
                userns_path=_joined_userns(netns_path or ipc_plan.namespace_path)
                if idmap.remapped else None,
                ipc_ns_path=ipc_plan.namespace_path, shm_source=ipc_plan.shm_source,
                extra_env=plan.link_env)
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(spec.build(ctr.doc, inputs), f)
        except BaseException:
            rw.unmount()
            raise
        return Prepared(rootfs, volumes)

    def _mount_volumes(self, ctr: Container, root: Root,
                       owner: tuple[int, int] | None) -> dict[str, str]:
        """Each volume ready (its driver mounts it if it must) and, when it is new
        and empty, filled with what the image has at its path (copy-up), unless
        nocopy; its mount point made in the rootfs."""
        out: dict[str, str] = {}
        for m in ctr.internal.mounts:
            if m.type != "volume":
                continue
            path = self.deps.volumes.mount(m.name, ctr.id)
            fd = root.open_dir(m.destination, create=True, owner=owner)
            try:
                if not m.nocopy and not m.copied and not os.listdir(path):
                    copy_tree(f"/proc/self/fd/{fd}", path)
            finally:
                os.close(fd)
            out[m.destination] = path
        return out

    def _seccomp_profile(self, hc: dict[str, Any]) -> dict[str, Any] | None:
        for opt in hc.get("SecurityOpt") or []:
            key, value = spec.split_security_opt(opt)
            if key == "seccomp":
                if value == "unconfined":
                    return None
                return seccomp.parse_profile(value)
        try:
            return seccomp.load_profile(self.deps.cfg.seccomp_profile)
        except OSError:
            log.warning("seccomp profile %s is missing: containers run without one",
                        self.deps.cfg.seccomp_profile)
            return None


def _joined_userns(ns_path: str | None) -> str | None:
    """A container that shares another's network (or IPC) namespace shares its
    user namespace too (the namespace belongs to it), as dockerd does."""
    if ns_path and ns_path.startswith("/proc/"):
        return os.path.join(os.path.dirname(ns_path), "user")
    return None
