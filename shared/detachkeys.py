"""Detach keys as Docker writes them (`ctrl-p,ctrl-q`, `ctrl-x,x`): the daemon
ends an attachment on them, and the CLI knows that it detached."""
from __future__ import annotations

DEFAULT = "ctrl-p,ctrl-q"
_CTRL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse(spec: str | None) -> bytes:
    """The byte sequence; ValueError with Docker's text when it is not valid."""
    spec = spec or DEFAULT
    out = bytearray()
    for key in spec.split(","):
        key = key.strip()
        if len(key) == 1:
            out.append(ord(key))
        elif key.lower().startswith("ctrl-") and len(key) == 6:
            char = key[5].lower()
            if "a" <= char <= "z":
                out.append(ord(char) - ord("a") + 1)
            elif char in _CTRL:
                out.append(_CTRL[char])
            else:
                raise ValueError(f"Invalid detach keys ({spec}) provided")
        else:
            raise ValueError(f"Invalid detach keys ({spec}) provided")
    return bytes(out)
