"""Pull and push progress in dockerd's JSON message shape, so the Docker CLI
draws its per-layer bars and SDK streams see the same events.

`status` lines (`Pulling from …`, `Digest: …`) carry no progressDetail; actions
(`Pulling fs layer`, `Downloading`…) always do, with `progress` (the bar text
dockerd renders at its fixed width of 200) when there are byte counts.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from shared import jsonstream
from shared.units import human_size

Sink = Callable[[bytes], Awaitable[None]]
_BAR = 50


def progress_text(current: int, total: int) -> str:
    """jsonmessage.JSONProgress.String() at dockerd's width (no time left: the
    daemon sends no start time)."""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current, 4):>8}"
    filled = min(int(current / total * 100) // 2, _BAR)
    bar = f"[{'=' * filled}>{' ' * (_BAR - filled)}] "
    if current > total:
        return bar + f"{human_size(current, 4):>8}"
    return bar + f"{human_size(current, 4):>8}/{human_size(total, 4)}"


def short_id(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class Progress:
    """Writes messages to a sink (the HTTP response); byte counts are throttled
    to a few updates a second per layer, as a terminal cannot show more."""

    INTERVAL = 0.1

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._last: dict[str, float] = {}
        self._lock = asyncio.Lock()
        self.started = False

    async def _write(self, doc: dict[str, Any]) -> None:
        async with self._lock:
            self.started = True
            await self._sink(jsonstream.message(**doc))

    async def status(self, text: str, ident: str | None = None) -> None:
        doc: dict[str, Any] = {"status": text}
        if ident:
            doc["id"] = ident
        await self._write(doc)

    async def action(self, ident: str, text: str) -> None:
        await self._write({"status": text, "progressDetail": {}, "id": ident})

    async def bytes(self, ident: str, text: str, current: int, total: int,
                    force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last.get(ident, 0.0) < self.INTERVAL \
                and current < total:
            return
        self._last[ident] = now
        detail = {"current": current}
        if total > 0:
            detail["total"] = total
        await self._write({"status": text, "progressDetail": detail,
                           "progress": progress_text(current, total), "id": ident})

    async def aux(self, data: dict[str, Any]) -> None:
        await self._write({"progressDetail": {}, "aux": data})

    async def error(self, text: str) -> None:
        await self._write({"errorDetail": {"message": text}, "error": text})


async def _discard(_: bytes) -> None:
    return None


def silent() -> Progress:
    return Progress(_discard)
