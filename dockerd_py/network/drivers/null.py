"""null (`--network none`): a namespace of its own with only loopback."""
from __future__ import annotations

from .base import NetworkDriver


class NullDriver(NetworkDriver):
    name = "null"
