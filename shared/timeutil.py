"""Timestamps in Go's RFC3339Nano, and the `since`/`until` values Docker accepts."""
from __future__ import annotations

import re
import time

ZERO_TIME = "0001-01-01T00:00:00Z"
_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$")
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def rfc3339_nano(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        base += "." + f"{frac:09d}".rstrip("0")
    return base + "Z"


def rfc3339_nano_fixed(ns: int) -> str:
    """RFC3339NanoFixed, as in `docker logs -t`: always nine digits, so columns align."""
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def now_rfc3339() -> str:
    return rfc3339_nano(time.time_ns())


def parse_rfc3339(text: str) -> int:
    """Parse an RFC3339 time (with or without fraction or zone) to epoch nanoseconds."""
    match = _RFC3339_RE.match(text.strip())
    if not match:
        raise ValueError(f"invalid time {text!r}")
    y, mo, d, h, mi, s, frac, zone = match.groups()
    import calendar  # here: it imports datetime and locale, and the CLI rarely needs it
    secs = calendar.timegm((int(y), int(mo), int(d), int(h or 0), int(mi or 0),
                            int(s or 0), 0, 0, 0))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        secs -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    nanos = int((frac or "0").ljust(9, "0"))
    return secs * 1_000_000_000 + nanos


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration for the units Docker users type (`10m`, `1h30m`)."""
    pos, total = 0, 0.0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"invalid duration {text!r}")
    return total


def parse_timestamp(value: str, now: float | None = None) -> float:
    """Docker's timetypes.GetTimestamp: Unix seconds, RFC3339, or a duration ago."""
    value = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    try:
        return time.time() - parse_duration(value) if now is None else now - parse_duration(value)
    except ValueError:
        pass
    return parse_rfc3339(value) / 1e9


def to_unix_nanos(ns: int) -> str:
    """`seconds.nanoseconds`, the format the API uses for since/until on the wire."""
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def _with_fraction(value: int, unit: int) -> str:
    """value/unit with the fraction's trailing zeros dropped, as Go prints it."""
    whole, rest = divmod(value, unit)
    digits = len(str(unit)) - 1
    fraction = str(rest).rjust(digits, "0").rstrip("0")
    return f"{whole}.{fraction}" if fraction else str(whole)


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): 50ms, 1.5s, 1m30s, 2h0m0s, 1µs, 0s."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_with_fraction(ns, 1_000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_with_fraction(ns, 1_000_000)}ms"
    text = _with_fraction(ns % 60_000_000_000, 1_000_000_000) + "s"
    minutes = ns // 60_000_000_000
    if minutes:
        hours, minutes = divmod(minutes, 60)
        text = f"{minutes}m{text}"
        if hours:
            text = f"{hours}h{text}"
    return sign + text
