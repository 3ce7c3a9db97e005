"""What every log format reads back into: messages, and the two functions a
format gives the file reader."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

STDOUT, STDERR = 1, 2


@dataclass
class Message:
    stream: int
    ts_ns: int
    data: bytes


@dataclass(frozen=True)
class LogFormat:
    # whole messages of the given lines, within [since, until] (pieces merged)
    messages: Callable[[Iterator[bytes], int, int | None], Iterator[Message]]
    # whether a line ends a message (for counting the last N)
    is_final: Callable[[bytes], bool]
