"""none: nothing is written, and `docker logs` says so."""
from __future__ import annotations

from ...errors import InvalidParameter
from ..rotation import Policy
from .base import LogDriver


class NoneDriver(LogDriver):
    name = "none"
    readable = False

    def policy(self, opts: dict[str, str]) -> Policy:
        if opts:
            raise InvalidParameter(f"unknown log opt '{next(iter(opts))}' for none log driver")
        return super().policy(opts)

    def conmon_target(self, log_path: str) -> str:
        return "none"
