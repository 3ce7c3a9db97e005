"""k8s-file: the CRI log format that conmon writes, with rotation (max-size,
max-file) done by the daemon (see logdrivers/rotation.py)."""
from __future__ import annotations

import threading
from collections.abc import Iterator

from shared.units import parse_ram

from ...errors import InvalidParameter
from .. import filereader, rotation
from ..format import Message
from ..k8sfile import K8S
from ..rotation import Policy
from .base import LogDriver, LogWatch


class K8sFileDriver(LogDriver):
    name = "k8s-file"
    options = frozenset({"max-size", "max-file", "compress", "labels", "labels-regex", "env",
                         "env-regex", "tag", "mode", "max-buffer-size", "path"})

    def policy(self, opts: dict[str, str]) -> Policy:
        super().policy(opts)
        max_size = 0
        if opts.get("max-size") not in (None, "", "-1"):
            try:
                max_size = parse_ram(opts["max-size"])
            except ValueError:
                raise InvalidParameter(f"invalid max-size: {opts['max-size']}") from None
            if max_size <= 0:
                raise InvalidParameter(f"invalid max-size: {opts['max-size']}")
        max_files = 1
        if opts.get("max-file") not in (None, ""):
            try:
                max_files = int(opts["max-file"])
            except ValueError:
                raise InvalidParameter(f"invalid value for max-file: {opts['max-file']}") \
                    from None
            if max_files < 1:
                raise InvalidParameter("max-file cannot be less than 1")
            if not max_size:
                max_files = 1  # as dockerd: without max-size nothing rotates
        return Policy(max_size, max_files)

    def conmon_target(self, log_path: str) -> str:
        return f"k8s-file:{log_path}"

    def conmon_size_max(self, policy: Policy) -> int:
        return policy.max_size  # conmon starts a new file there; RotationWatch shifts it

    def before_start(self, log_path: str, policy: Policy) -> None:
        rotation.before_start(log_path, policy)

    def watch(self, log_path: str, bundle: str, policy: Policy,
              fresh: bool) -> LogWatch | None:
        if not policy.max_size:
            return None
        if fresh:
            rotation.hold(log_path)  # before conmon can replace the file
        return RotationWatch(log_path, policy)

    def read(self, log_path: str, since_ns: int, until_ns: int | None, tail: int | None,
             follow: threading.Event | None) -> Iterator[Message | None]:
        return filereader.read_files(rotation.files_oldest_first(log_path), K8S,
                                     since_ns=since_ns, until_ns=until_ns, tail=tail,
                                     follow=follow)

    def remove(self, log_path: str) -> None:
        rotation.remove_all(log_path)


class RotationWatch:
    """Shifts the files when conmon replaced the log at --log-size-max."""

    def __init__(self, log_path: str, policy: Policy) -> None:
        self.log_path = log_path
        self.policy = policy

    def tick(self) -> None:
        rotation.check(self.log_path, self.policy)

    def finish(self) -> None:
        rotation.check(self.log_path, self.policy)  # conmon may have replaced it at the end
