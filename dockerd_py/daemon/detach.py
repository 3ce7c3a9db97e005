"""Detach keys (`ctrl-p,ctrl-q` by default): typed into an attached stdin, they
end the attachment and leave the container running."""
from __future__ import annotations

from shared import detachkeys

from ..errors import InvalidParameter


def parse(spec: str | None) -> bytes:
    try:
        return detachkeys.parse(spec)
    except ValueError as exc:
        raise InvalidParameter(str(exc)) from None


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
