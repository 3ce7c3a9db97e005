"""How a Docker API type is declared here, once: its fields in Go's order, each
with its Go type, Go's `omitempty`, whether Go holds it behind a pointer, and the
daemon's default where the daemon fills one in. From that one declaration come:

- `schema()`: the type table the request checker reads (server/http.check_types),
  which answers a wrong type with Go's `json: cannot unmarshal ...`;
- `marshal()`: the document as Go's encoding/json writes the struct: every field
  in declaration order, a missing one as its zero value (or the daemon's default),
  `omitempty` fields left out when empty, nested types marshalled the same way;
- `names`: the field names (what a request's body may carry of this type).
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The checker's spellings of Go's scalar types (server/http.check_types).
STRING, INT, BOOL, FLOAT = "string", "int", "bool", "float64"
ANY = "any"
_ZEROS: dict[str, Any] = {STRING: "", INT: 0, BOOL: False, FLOAT: 0.0}
_UNSET = object()


@dataclass(frozen=True)
class Slice:
    item: Kind


@dataclass(frozen=True)
class Map:
    value: Kind


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    omitempty: bool = False
    pointer: bool = False     # Go holds it behind a pointer: nil is null, 0 is a value
    default: Any = _UNSET     # the daemon's value when the client sent none
    open: bool = False        # a struct kept with the fields a newer client added

    def fallback(self) -> Any:
        if self.default is not _UNSET:
            return copy.deepcopy(self.default)
        if self.pointer or isinstance(self.kind, (Slice, Map)) or self.kind == ANY:
            return None
        if isinstance(self.kind, Struct):
            return self.kind.marshal({})
        return _ZEROS[self.kind]

    def is_empty(self, value: Any) -> bool:
        """Go's omitempty test: nil, false, 0, "", an empty slice or map; behind a
        pointer only nil."""
        if value is None or self.pointer:
            return value is None
        if isinstance(value, bool):
            return value is False
        if isinstance(value, (int, float)):
            return value == 0
        return isinstance(value, (str, list, dict)) and not value


class Struct:
    """A Go struct of the API. `embeds` are Go's embedded structs, whose fields
    marshal in place (HostConfig embeds Resources)."""

    def __init__(self, name: str, fields: Iterable[Field | Struct]) -> None:
        self.name = name
        flat: list[Field] = []
        for item in fields:
            flat.extend(item.fields if isinstance(item, Struct) else [item])
        self.fields: tuple[Field, ...] = tuple(flat)
        self.names = frozenset(f.name for f in self.fields)
        self._by_name = {f.name: f for f in self.fields}

    def __repr__(self) -> str:
        return f"Struct({self.name})"

    def field(self, name: str) -> Field:
        return self._by_name[name]

    # -- the request checker's table ------------------------------------------------
    def schema(self) -> dict[str, Any]:
        return {f.name: _spec(f.kind) for f in self.fields}

    # -- Go's encoding/json ------------------------------------------------------------
    def marshal(self, doc: Mapping[str, Any] | None, keep_unknown: bool = False) -> dict[str, Any]:
        """The struct as Go writes it. keep_unknown: fields this declaration does not
        know (a newer client's) follow, as they came."""
        doc = doc or {}
        out: dict[str, Any] = {}
        for f in self.fields:
            value = doc.get(f.name)
            if value is None:
                value = f.fallback()
            elif f.open and isinstance(f.kind, Struct) and isinstance(value, Mapping):
                value = f.kind.marshal(value, keep_unknown=True)
            else:
                value = _marshal_value(f.kind, value)
            if f.omitempty and f.is_empty(value):
                continue
            out[f.name] = value
        if keep_unknown:
            for key, value in doc.items():
                out.setdefault(key, value)
        return out

    def defaults(self) -> dict[str, Any]:
        """The document of a request that set nothing."""
        return self.marshal({})


Kind = str | Slice | Map | Struct  # a scalar's checker spelling, or a composite


def _spec(kind: Kind) -> Any:
    if isinstance(kind, Slice):
        return [_spec(kind.item)]
    if isinstance(kind, Map):
        return ("map", _spec(kind.value))
    if isinstance(kind, Struct):
        return kind.schema()
    return kind


def _marshal_value(kind: Kind, value: Any) -> Any:
    if isinstance(kind, Struct) and isinstance(value, Mapping):
        return kind.marshal(value)
    if isinstance(kind, Slice) and isinstance(value, list) and not isinstance(kind.item, str):
        return [None if item is None else _marshal_value(kind.item, item) for item in value]
    if isinstance(kind, Map) and isinstance(value, Mapping) and not isinstance(kind.value, str):
        return {key: None if item is None else _marshal_value(kind.value, item)
                for key, item in value.items()}
    return value


def struct_fields(*specs: tuple[Any, ...]) -> list[Field]:
    """Fields written compactly: (name, kind) or (name, kind, {options})."""
    out = []
    for spec in specs:
        name, kind, *rest = spec
        out.append(Field(name, kind, **(rest[0] if rest else {})))
    return out


__all__ = ["ANY", "BOOL", "FLOAT", "INT", "STRING", "Field", "Kind", "Map", "Slice", "Struct",
           "struct_fields"]
