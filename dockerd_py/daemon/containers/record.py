"""A container: its document in Docker's shapes (what inspect returns), the
daemon's private bookkeeping (a typed record), and the live objects of a running one."""
from __future__ import annotations

import asyncio
import copy
import select
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any

from shared.timeutil import ZERO_TIME, parse_rfc3339
from shared.units import human_duration

from ...apitypes import container as apitypes
from ...apitypes.network import ENDPOINT_SETTINGS
from ...runtime.conmon import ExitWatcher, pid_alive
from ..container_mounts import MountPoint

STATES = ("created", "running", "paused", "restarting", "removing", "exited", "dead")


def new_state() -> dict[str, Any]:
    return apitypes.CONTAINER_STATE.marshal(
        {"Status": "created", "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME})


def endpoint_shape(network_id: str = "", **values: Any) -> dict[str, Any]:
    return ENDPOINT_SETTINGS.marshal(dict(values, NetworkID=network_id))


def network_settings_shape() -> dict[str, Any]:
    return apitypes.NETWORK_SETTINGS.defaults()


@dataclass
class Internal:
    """What the daemon keeps about a container beside Docker's document."""
    rw_layer: str
    runtime: str
    top_layer: str | None = None  # the image's top layer (None: an empty image)
    mounts: list[MountPoint] = field(default_factory=list)
    conmon_pid: int = 0
    pid_start: int = 0           # the process's start time: a pid reused later is not it
    started_once: bool = False
    user_stopped: bool = False   # for unless-stopped at daemon start
    restart_backoff: int = 0     # restarts since the container last ran 10 s
    sandbox_id: str = ""
    interfaces: dict[str, str] = field(default_factory=dict)  # network id -> eth0, eth1...
    links: dict[str, str] = field(default_factory=dict)  # legacy links: "/parent/alias" -> child ID

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Internal:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in doc.items() if k in known and v is not None}
        values["mounts"] = [MountPoint.from_json(m) for m in values.get("mounts") or []]
        return cls(**values)


@dataclass
class Waiter:
    condition: str
    future: asyncio.Future


@dataclass
class Container:
    id: str
    name: str
    doc: dict[str, Any]                  # Docker's shape: what inspect returns
    internal: Internal
    # -- live state, never persisted ------------------------------------------
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiters: list[Waiter] = field(default_factory=list)
    watcher: ExitWatcher | None = None          # conmon's exit
    exit_fallback: int | None = None            # the process's status, when conmon cannot say
    pidfd: int = -1
    attach_queue: list[asyncio.Future] = field(default_factory=list)
    stopped_event: threading.Event = field(default_factory=threading.Event)
    exit_handled: asyncio.Event | None = None
    removing: bool = False
    stop_requested: bool = False

    def snapshot(self) -> Container:
        """A copy of the document and the record for a worker thread to read (the
        loop goes on changing this one); none of the live state."""
        return Container(self.id, self.name, copy.deepcopy(self.doc),
                         copy.deepcopy(self.internal))

    @property
    def state(self) -> dict[str, Any]:
        return self.doc["State"]

    @property
    def config(self) -> dict[str, Any]:
        return self.doc["Config"]

    @property
    def host_config(self) -> dict[str, Any]:
        return self.doc["HostConfig"]

    @property
    def image_id(self) -> str:
        return self.doc["Image"]

    @property
    def running(self) -> bool:
        """A process is there. (State.Running, as in Docker, is also true while a
        restart policy waits to start it again.)"""
        return self.state["Status"] in ("running", "paused")

    def process_gone(self) -> bool:
        """Its process has ended, even if the exit is not recorded yet (the state
        says running until the monitor handled it): the window in which the
        runtime already answers "not running"."""
        if not self.running:
            return True
        if self.pidfd < 0:  # already unwatched: the exit is being recorded
            return not pid_alive(self.state.get("Pid") or 0, self.internal.pid_start)
        poller = select.poll()
        poller.register(self.pidfd, select.POLLIN)  # a pidfd reads ready once it exited
        return bool(poller.poll(0))

    @property
    def restarting(self) -> bool:
        return self.state["Status"] == "restarting"

    @property
    def paused(self) -> bool:
        return bool(self.state["Paused"])

    @property
    def status(self) -> str:
        return self.state["Status"]

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    @cached_property
    def created_ns(self) -> int:
        """Creation time in nanoseconds (it never changes; lists sort by it)."""
        return parse_rfc3339(self.doc["Created"])

    def event_attrs(self, **extra: str) -> dict[str, str]:
        """The attributes of this container's events: its labels, image and name."""
        attrs = dict(self.config.get("Labels") or {})
        attrs.update(image=self.config.get("Image", ""), name=self.name)
        attrs.update(extra)
        return attrs

    def set_status(self, status: str) -> None:
        st = self.state
        st["Status"] = status
        st["Running"] = status in ("running", "paused", "restarting")
        st["Paused"] = status == "paused"
        st["Restarting"] = status == "restarting"
        st["Dead"] = status == "dead"

    def status_text(self) -> str:
        """The STATUS column of `docker ps`."""
        st = self.state
        status = st["Status"]
        if self.removing or status == "removing":
            return "Removal In Progress"
        if status in ("running", "paused"):
            text = "Up " + human_duration(time.time() - parse_rfc3339(st["StartedAt"]) / 1e9)
            health = (st.get("Health") or {}).get("Status")
            if status == "paused":
                text += " (Paused)"
            elif health == "starting":
                text += " (health: starting)"
            elif health in ("healthy", "unhealthy"):
                text += f" ({health})"
            return text
        if status == "restarting":
            return (f"Restarting ({st['ExitCode']}) "
                    + human_duration(time.time() - parse_rfc3339(st["FinishedAt"]) / 1e9) + " ago")
        if status == "dead":
            return "Dead"
        if status == "exited":
            if st["FinishedAt"] == ZERO_TIME:
                return f"Exited ({st['ExitCode']})"
            return (f"Exited ({st['ExitCode']}) "
                    + human_duration(time.time() - parse_rfc3339(st["FinishedAt"]) / 1e9) + " ago")
        return "Created"

    def _aliases_before_1_45(self, settings: dict[str, Any]) -> dict[str, Any]:
        extra = [self.id[:12], self.config.get("Hostname") or ""]
        networks = {name: dict(ep, Aliases=list(dict.fromkeys(
                        a for a in [*(ep.get("Aliases") or []), *extra] if a)))
                    for name, ep in (settings.get("Networks") or {}).items()}
        return dict(settings, Networks=networks)

    def mount_views(self) -> list[dict[str, Any]]:
        """The container's mounts as Docker shows them (inspect, ps): HostConfig.Tmpfs
        is not among them, as in dockerd."""
        return [m.inspect() for m in self.internal.mounts if not m.tmpfs_option]

    def inspect(self, graph_driver: dict[str, Any], api_version: tuple[int, ...],
                sizes: dict[str, int] | None = None,
                links: list[str] | None = None) -> dict[str, Any]:
        """links: HostConfig.Links as dockerd shows them (from its link index)."""
        doc = dict(self.doc, Mounts=self.mount_views(), GraphDriver=graph_driver,
                   HostConfig=dict(self.doc["HostConfig"], Links=links))
        if api_version < (1, 45):  # dockerd adds the short ID and hostname to Aliases then
            doc["NetworkSettings"] = self._aliases_before_1_45(doc["NetworkSettings"])
        if sizes is not None:
            doc["SizeRw"] = sizes["rw"]
            doc["SizeRootFs"] = sizes["rootfs"]
        return apitypes.CONTAINER_JSON.marshal(doc)
