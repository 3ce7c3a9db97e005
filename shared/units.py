"""Sizes and durations written and read as Docker writes and reads them."""
from __future__ import annotations

import re
import time

_DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB"]
_RAM = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[iI]?[bB]?$")


def human_size(size: float, precision: int = 3) -> str:
    """go-units HumanSizeWithPrecision: decimal units; the Docker CLI's tables use
    3 significant digits (`1.98MB`)."""
    unit = 0
    while size >= 1000.0 and unit < len(_DECIMAL) - 1:
        size /= 1000.0
        unit += 1
    return f"{size:.{precision}g}{_DECIMAL[unit]}"


def bytes_size(size: float) -> str:
    """go-units BytesSize: binary units (`1.5MiB`)."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    unit = 0
    while size >= 1024.0 and unit < len(units) - 1:
        size /= 1024.0
        unit += 1
    return f"{size:.4g}{units[unit]}"


def parse_ram(text: str) -> int:
    """go-units RAMInBytes: `512m`, `1g`, `100` (bytes); ValueError when malformed."""
    match = _SIZE_RE.match(text.strip())
    if not match:
        raise ValueError(f"invalid size: '{text}'")
    number, unit = match.groups()
    return int(float(number) * _RAM[unit.lower() or "b"])


def human_duration(seconds: float) -> str:
    """go-units HumanDuration, as `docker ps` prints it (`2 minutes`)."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(s / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def since(epoch: float) -> str:
    return human_duration(time.time() - epoch)
