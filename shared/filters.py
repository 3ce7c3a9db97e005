"""The `filters` query parameter: a JSON object of names to value sets."""
from __future__ import annotations

import json

from .timeutil import parse_timestamp


class FilterError(ValueError):
    """A filter that cannot be parsed or is not accepted."""


class Filters:
    def __init__(self, fields: dict[str, set[str]] | None = None) -> None:
        self.fields: dict[str, set[str]] = fields or {}

    @classmethod
    def from_json(cls, text: str | None) -> Filters:
        """Accept both forms: {"k": {"v": true}} (current) and {"k": ["v"]} (old)."""
        if not text:
            return cls()
        try:
            raw = json.loads(text)
        except ValueError:
            raise FilterError("invalid filter") from None
        if not isinstance(raw, dict):
            raise FilterError("invalid filter")
        fields: dict[str, set[str]] = {}
        for key, value in raw.items():
            if isinstance(value, dict):
                fields[key] = {str(v) for v, on in value.items() if on}
            elif isinstance(value, list):
                fields[key] = {str(v) for v in value}
            else:
                raise FilterError(f"invalid filter '{key}'")
        return cls(fields)

    def to_json(self) -> str:
        return json.dumps({k: {v: True for v in sorted(vs)} for k, vs in self.fields.items()})

    def add(self, key: str, value: str) -> None:
        self.fields.setdefault(key, set()).add(value)

    def validate(self, accepted: set[str]) -> None:
        for key in self.fields:
            if key not in accepted:
                raise FilterError(f"invalid filter '{key}'")

    def get(self, key: str) -> set[str]:
        return self.fields.get(key, set())

    def __contains__(self, key: str) -> bool:
        return key in self.fields

    def __bool__(self) -> bool:
        return bool(self.fields)

    def match_exact(self, key: str, value: str) -> bool:
        values = self.fields.get(key)
        return not values or value in values

    def match_bool(self, key: str, value: bool) -> bool:
        values = self.fields.get(key)
        if not values:
            return True
        return any(v.lower() in ("1", "true") for v in values) == value

    def match_labels(self, labels: dict[str, str] | None, key: str = "label") -> bool:
        """`label=k` needs the key; `label=k=v` needs that value. All must match."""
        labels = labels or {}
        for spec in self.fields.get(key, ()):
            name, sep, want = spec.partition("=")
            if name not in labels or (sep and labels[name] != want):
                return False
        return True

    def match_all_labels(self, labels: dict[str, str] | None) -> bool:
        """Both `label` and `label!`."""
        return self.match_labels(labels) and self.match_negated_labels(labels)

    def until_ns(self) -> float | None:
        """The `until` filter (one value: a time or a duration ago) in epoch ns."""
        values = self.fields.get("until")
        if not values:
            return None
        if len(values) > 1:
            raise FilterError("more than one until filter specified")
        value = next(iter(values))
        try:
            return parse_timestamp(value) * 1e9
        except ValueError:
            raise FilterError("invalid value for 'until' filter: failed to parse value as "
                              f'time or duration: "{value}"') from None

    def match_negated_labels(self, labels: dict[str, str] | None, key: str = "label!") -> bool:
        labels = labels or {}
        for spec in self.fields.get(key, ()):
            name, sep, want = spec.partition("=")
            if name in labels and (not sep or labels[name] == want):
                return False
        return True
