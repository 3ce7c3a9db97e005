"""One in-process event publisher. `/events` streams it; like dockerd, the last
events are kept in memory so that `since` can replay them."""
from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

from shared.filters import Filters

HISTORY = 1024


def event(kind: str, action: str, actor_id: str, attributes: dict[str, str] | None = None,
          scope: str = "local") -> dict[str, Any]:
    now = time.time_ns()
    return {"Type": kind, "Action": action,
            "Actor": {"ID": actor_id, "Attributes": dict(attributes or {})},
            "scope": scope, "time": now // 1_000_000_000, "timeNano": now}


class Events:
    def __init__(self) -> None:
        self._history: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    def publish(self, kind: str, action: str, actor_id: str,
                attributes: dict[str, str] | None = None) -> dict[str, Any]:
        ev = event(kind, action, actor_id, attributes)
        self._history.append(ev)
        for queue in self._subscribers:
            queue.put_nowait(ev)
        return ev

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def history(self, since_ns: int, until_ns: int | None) -> list[dict[str, Any]]:
        return [e for e in self._history
                if e["timeNano"] >= since_ns and (until_ns is None or e["timeNano"] <= until_ns)]


EVENT_FILTERS = {"container", "daemon", "event", "image", "label", "network", "node",
                 "plugin", "scope", "service", "type", "volume", "config", "secret"}


def matches(ev: dict[str, Any], filters: Filters) -> bool:
    actor = ev["Actor"]
    attrs = actor["Attributes"]
    kind = ev["Type"]
    if not filters.match_exact("type", kind):
        return False
    if not filters.match_exact("event", ev["Action"].split(":", 1)[0]) and \
            not filters.match_exact("event", ev["Action"]):
        return False
    if not filters.match_exact("scope", ev.get("scope", "local")):
        return False
    for key in ("container", "image", "network", "volume", "daemon", "plugin"):
        values = filters.get(key)
        if not values:
            continue
        if kind != key and not (key == "image" and kind == "container"):
            return False
        names = {actor["ID"], attrs.get("name", "")}
        if key == "image":
            names |= {attrs.get("image", "")}
            names |= {n.split(":", 1)[0] for n in list(names) if n}
        if not any(v in names or (len(v) >= 3 and actor["ID"].startswith(v)) for v in values):
            return False
    return filters.match_labels(attrs)


def legacy_fields(ev: dict[str, Any]) -> dict[str, Any]:
    """API < 1.52 also carries the old top-level status/id/from of container and
    image events, which some clients still read."""
    out = dict(ev)
    if ev["Type"] in ("container", "image"):
        out["status"] = ev["Action"]
        out["id"] = ev["Actor"]["ID"]
        if ev["Type"] == "container" and "image" in ev["Actor"]["Attributes"]:
            out["from"] = ev["Actor"]["Attributes"]["image"]
    return out
