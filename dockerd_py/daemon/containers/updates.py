"""Changes to an existing container: `docker rename` and `docker update`
(resource limits applied at once through the runtime, restart policy)."""
from __future__ import annotations

from typing import Any

from ...errors import DockerError, InvalidParameter
from ...runtime import spec
from .. import names as names_mod
from .. import validate
from .deps import ContainerDeps
from .record import Container


class ContainerUpdates:
    def __init__(self, deps: ContainerDeps) -> None:
        self.deps = deps

    async def rename(self, ctr: Container, new_name: str) -> None:
        if not new_name:
            raise InvalidParameter("Neither old nor new names may be empty")
        new = names_mod.validate(new_name)
        old = ctr.name
        if new == old:
            raise InvalidParameter("Renaming a container with the same name as its current "
                                   "name")
        repo = self.deps.repo
        repo.reserve_name(new, ctr.id)
        old_links = ctr.internal.links
        try:
            ctr.name = new
            ctr.doc["Name"] = "/" + new
            # its links' names follow it, as in dockerd: /old/db becomes /new/db
            ctr.internal.links = {f"/{new}/{full.rsplit('/', 1)[-1]}": child
                                  for full, child in old_links.items()}
            await repo.save(ctr)
        except BaseException:
            ctr.name = old
            ctr.doc["Name"] = "/" + old
            ctr.internal.links = old_links
            repo.release_name(new, ctr.id)
            raise
        repo.release_name(old, ctr.id)
        repo.relink(ctr, old_links)
        self.deps.events.publish("container", "rename", ctr.id,
                                 ctr.event_attrs(oldName="/" + old))

    async def remove_link(self, name: str) -> None:
        """`docker rm --link /parent/alias`: the link goes, both containers stay
        (dockerd's rmLink, with its words)."""
        name = "/" + name.lstrip("/")
        parent_name, _, _ = name.rpartition("/")
        if not parent_name:
            raise DockerError("Conflict, cannot remove the default link name of the container")
        repo = self.deps.repo
        repo.get(name)  # the link must name a container: 404 as dockerd's lookup
        try:
            repo.get(parent_name)
        except DockerError:
            raise DockerError(f"Cannot get parent {parent_name} for link name {name}") from None
        parent = repo.unlink(name)
        if parent is not None:
            await repo.save(parent)

    async def update(self, ctr: Container, body: dict[str, Any]) -> list[str]:
        """New resource limits and restart policy, applied at once if it runs."""
        merged, warnings = validate.updated_host_config(ctr.host_config, body)
        changes = {k for k in merged if merged[k] != ctr.host_config.get(k)} - {"RestartPolicy"}
        async with ctr.lock:
            if ctr.running and changes:
                resources = spec.resources_of(merged, bool(merged.get("Privileged")))
                resources.pop("devices", None)
                if "PidsLimit" in changes and not resources.get("pids"):
                    resources["pids"] = {"limit": -1}  # runc's "max": no limit any more
                try:
                    await self.deps.runtimes.get(ctr.internal.runtime).update(ctr.id, resources)
                except DockerError:
                    if not ctr.process_gone():
                        raise  # else it exited meanwhile: the limits apply at its next start
            ctr.doc["HostConfig"] = merged
            await self.deps.repo.save(ctr)
        self.deps.events.publish("container", "update", ctr.id, ctr.event_attrs())
        return warnings
