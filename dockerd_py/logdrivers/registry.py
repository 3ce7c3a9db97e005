"""Log drivers by name: a new driver is a module plus one line here. `/info`
lists what this table holds."""
from __future__ import annotations

from typing import Any

from ..errors import InvalidParameter
from .drivers.base import LogDriver
from .drivers.json_file import JsonFileDriver
from .drivers.k8s_file import K8sFileDriver
from .drivers.local import LocalDriver
from .drivers.none import NoneDriver
from .rotation import Policy

LOG_DRIVERS: dict[str, type[LogDriver]] = {
    "json-file": JsonFileDriver,
    "k8s-file": K8sFileDriver,
    "local": LocalDriver,
    "none": NoneDriver,
}


class LogDrivers:
    def __init__(self) -> None:
        self.by_name = {name: cls() for name, cls in LOG_DRIVERS.items()}

    def names(self) -> list[str]:
        return sorted(self.by_name)

    def of(self, log_config: dict[str, Any] | None) -> tuple[LogDriver, Policy]:
        """The driver of a LogConfig and its checked options (dockerd's texts)."""
        log_config = log_config or {}
        name = log_config.get("Type") or "json-file"
        driver = self.by_name.get(name)
        if driver is None:
            raise InvalidParameter(f"logger: no log driver named '{name}' is registered")
        return driver, driver.policy(dict(log_config.get("Config") or {}))
