"""The newline-delimited JSON messages of pull, push, load, import and build."""
from __future__ import annotations

import json

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any


def message(**fields: Any) -> bytes:
    return (json.dumps(fields, separators=(",", ":")) + "\r\n").encode()


def error_message(text: str) -> bytes:
    return message(errorDetail={"message": text}, error=text)


def progress(status: str, ident: str | None = None, current: int | None = None,
             total: int | None = None) -> bytes:
    fields: dict[str, Any] = {"status": status}
    if current is not None:
        detail: dict[str, int] = {"current": current}
        if total:
            detail["total"] = total
        fields["progressDetail"] = detail
    else:
        fields["progressDetail"] = {}
    if ident:
        fields["id"] = ident
    return message(**fields)


def decode(lines: Iterator[bytes]) -> Iterator[dict]:
    """Decode a stream that may split or join objects across chunks."""
    decoder = json.JSONDecoder()
    buf = ""
    for chunk in lines:
        buf += chunk.decode("utf-8", "replace")
        while True:
            buf = buf.lstrip()
            if not buf:
                break
            try:
                obj, end = decoder.raw_decode(buf)
            except ValueError:
                break
            yield obj
            buf = buf[end:]
