"""Flag values shared by several commands, parsed as the Docker CLI parses them."""
from __future__ import annotations

import json
import os
import re

from shared.timeutil import parse_duration
from shared.units import parse_ram

from .errors import EXIT_DAEMON, CLIError, FlagError

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from typing import Any


def filters_json(values: tuple[str, ...] | list[str]) -> str | None:
    if not values:
        return None
    out: dict[str, dict[str, bool]] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise CLIError(f'invalid argument "{value}" for "-f, --filter" flag: bad format '
                           "of filter (expected name=value)", 125)
        out.setdefault(key, {})[val] = True
    return json.dumps(out)


def parse_env(values: tuple[str, ...], files: tuple[str, ...]) -> list[str]:
    env: list[str] = []
    for path in files:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise CLIError(f"open {path}: {exc.strerror}", EXIT_DAEMON) from None
        values = tuple(ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")) + values
    for item in values:
        if "=" in item:
            env.append(item)
        elif item in os.environ:
            env.append(f"{item}={os.environ[item]}")
    return env


def parse_labels(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def restart_policy(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    name, _, count = value.partition(":")
    policy: dict[str, Any] = {"Name": name}
    if count:
        try:
            policy["MaximumRetryCount"] = int(count)
        except ValueError:
            raise CLIError("invalid restart policy format: maximum retry count must be an "
                           "integer", EXIT_DAEMON) from None
    return policy


def ram_flag(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    if value == "-1" and flag == "--memory-swap":
        return -1
    try:
        return parse_ram(value)
    except ValueError:
        number = re.match(r"^\d+(?:\.\d+)*\s?", value)
        why = f"invalid suffix: '{value[number.end():]}'" if number \
            else f"invalid size: '{value}'"
        raise FlagError(f'invalid argument "{value}" for "{flag}" flag: {why}') from None


def duration_ns(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        return int(parse_duration(value) * 1e9)
    except ValueError:
        raise CLIError(f'invalid argument "{value}" for "{flag}" flag: time: invalid duration '
                       f'"{value}"', EXIT_DAEMON) from None
