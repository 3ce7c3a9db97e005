"""OCI runtimes by name: a runtime with quirks of its own is a module plus one
line in RUNTIMES; any other runc-compatible binary needs no code at all
(`--add-runtime name=path`, or `runtimes` in daemon.json, as in dockerd)."""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
from typing import Any

from ..errors import InvalidParameter
from .crun import Crun
from .oci import OCIRuntime
from .runc import Runc

log = logging.getLogger(__name__)

RUNTIMES: dict[str, type[OCIRuntime]] = {
    "runc": Runc,
    "crun": Crun,
}


def new_runtime(name: str, exec_root: str, path: str | None = None) -> OCIRuntime:
    """A runtime by name; a name that is not in RUNTIMES is a plain OCI runtime."""
    cls = RUNTIMES.get(name, OCIRuntime)
    path = path or shutil.which(name) or f"/usr/bin/{name}"
    root = os.path.join(exec_root, "runtime-" + name)
    os.makedirs(root, mode=0o700, exist_ok=True)
    return cls(name=name, path=path, root=root)


class Runtimes:
    """The runtimes this daemon has: the known ones and those the operator added."""

    def __init__(self, configured: dict[str, dict[str, Any]], default: str,
                 exec_root: str) -> None:
        names = list(dict.fromkeys([*RUNTIMES, *configured]))
        self.default = default
        self.by_name = {n: new_runtime(n, exec_root, (configured.get(n) or {}).get("path"))
                        for n in names}

    async def probe(self) -> None:
        await asyncio.gather(*(rt.probe() for rt in self.by_name.values()))
        for name, rt in self.by_name.items():
            if not rt.available and name not in RUNTIMES:
                log.warning("runtime %s is unavailable: %s", name, rt.reason)

    def get(self, name: str | None) -> OCIRuntime:
        """The runtime a container names (the default when it names none)."""
        name = name or self.default
        runtime = self.by_name.get(name)
        if runtime is None:
            raise InvalidParameter(f"unknown or invalid runtime name: {name}")
        return runtime

    def items(self) -> list[tuple[str, OCIRuntime]]:
        return list(self.by_name.items())

    def values(self) -> list[OCIRuntime]:
        return list(self.by_name.values())

    def __contains__(self, name: str) -> bool:
        return name in self.by_name
