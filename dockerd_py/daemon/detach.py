"""Detach keys (`ctrl-p,ctrl-q` by default): typed into an attached stdin, they
end the attachment and leave the container running."""
from __future__ import annotations

from ..errors import InvalidParameter

DEFAULT = "ctrl-p,ctrl-q"
_CTRL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse(spec: str | None) -> bytes:
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
                raise InvalidParameter(f"Invalid detach keys ({spec}) provided")
        else:
            raise InvalidParameter(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


class Scanner:
    """Passes input through, holding back a possible start of the sequence."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self._held = b""
        self.detached = False

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            while True:
                candidate = self._held + bytes([byte])
                if self.keys.startswith(candidate):
                    self._held = candidate
                    if candidate == self.keys:
                        self.detached = True
                        return bytes(out)
                    break
                if self._held:  # not the sequence after all: let the held bytes through
                    out += self._held
                    self._held = b""
                    continue
                out.append(byte)
                break
        return bytes(out)
