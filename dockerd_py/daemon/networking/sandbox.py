"""What a container's start needs of its networking, as plain data: a worker
thread (the bundle writer) reads it, never the services that made it."""
from __future__ import annotations

from dataclasses import dataclass

from ...network.files import SandboxFiles


@dataclass(frozen=True)
class SandboxPlan:
    """Made on the loop by Endpoints.prepare, after the addresses: the name files
    (contents and paths; None when it shares another container's), the legacy
    links' variables, host networking or not."""
    files: SandboxFiles | None
    link_env: list[str]
    host_network: bool
