"""host: the container shares the host's network namespace; nothing to plug."""
from __future__ import annotations

from .base import NetworkDriver


class HostDriver(NetworkDriver):
    name = "host"
    namespace = "host"
