"""Dockerfile instructions: parsing lines, and applying the ones that only change
an image's config (what `docker import --change` and `docker commit --change` take).
"""
from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidParameter
from .parser import json_array as parse_json_array
from .shell import Lexer, split_words

# The instructions `--change` accepts, as in Docker.
CHANGE_INSTRUCTIONS = {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL",
                       "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
DEFAULT_SHELL = ["/bin/sh", "-c"]
_PORT_RE = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$", re.I)


def split_instruction(line: str) -> tuple[str, str]:
    line = line.strip()
    keyword, _, rest = line.partition(" ")
    if not keyword:
        raise InvalidParameter("dockerfile parse error: empty instruction")
    return keyword.upper(), rest.strip()


def parse_command(text: str, shell: list[str] | None = None) -> list[str]:
    """CMD/ENTRYPOINT: the exec form as is; the shell form runs under the shell."""
    exec_form = parse_json_array(text)
    if exec_form is not None:
        return exec_form
    return list(shell or DEFAULT_SHELL) + [text]


def parse_key_values(text: str, instruction: str, env: dict[str, str] | None = None,
                     escape: str = "\\") -> list[tuple[str, str]]:
    """ENV and LABEL, in a Dockerfile or a `--change`: `k=v k2="v 2"` (quotes and
    $VARs processed against env), or the legacy `KEY value with spaces` form."""
    lexer, env = Lexer(escape), env or {}
    words = split_words(text, escape)
    if not words:
        raise InvalidParameter(f"{instruction} requires at least one argument")
    if "=" not in words[0]:
        if instruction == "LABEL":
            raise InvalidParameter("LABEL requires at least one key=value pair") \
                if len(words) < 2 else InvalidParameter(
                    f"Syntax error - can't find = in \"{words[0]}\". Must be of the form: "
                    "name=value")
        key, _, value = text.strip().partition(" ")
        if not value.strip():
            raise InvalidParameter(f"{instruction} must have two arguments")
        return [(key, lexer.process_word(value.strip(), env))]
    return [(lexer.process_word(key, env), lexer.process_word(value, env))
            for key, value in split_pairs(words)]


def split_pairs(words: list[str]) -> list[tuple[str, str]]:
    """`name=value` words as (name, value), with Docker's error for one without `=`."""
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InvalidParameter(f"Syntax error - can't find = in \"{word}\". "
                                   "Must be of the form: name=value")
        pairs.append((key, value))
    return pairs


def parse_ports(text: str) -> list[str]:
    ports = []
    for word in text.split():
        match = _PORT_RE.match(word)
        if not match:
            raise InvalidParameter(f"invalid containerPort: {word}")
        start, end, proto = match.groups()
        proto = (proto or "tcp").lower()
        for port in range(int(start), int(end or start) + 1):
            ports.append(f"{port}/{proto}")
    return ports


def _env_map(env: list[str]) -> dict[str, str]:
    """The image's Env as the lexer expands it (`ENV PATH=$PATH:/x` in a --change)."""
    return dict(item.split("=", 1) for item in env if "=" in item)


def set_env(env: list[str], key: str, value: str) -> list[str]:
    out = [e for e in env if e.split("=", 1)[0] != key]
    out.append(f"{key}={value}")
    return out


def apply_change(config: dict[str, Any], line: str) -> None:
    """Apply one `--change` instruction to an image's Config (in place)."""
    keyword, rest = split_instruction(line)
    if keyword not in CHANGE_INSTRUCTIONS:
        raise InvalidParameter(f"{keyword.lower()} is not a valid change command")
    if keyword == "CMD":
        config["Cmd"] = parse_command(rest)
    elif keyword == "ENTRYPOINT":
        config["Entrypoint"] = parse_command(rest) if rest else None
    elif keyword == "ENV":
        env = list(config.get("Env") or [])
        for key, value in parse_key_values(rest, "ENV", _env_map(env)):
            env = set_env(env, key, value)
        config["Env"] = env
    elif keyword == "LABEL":
        labels = dict(config.get("Labels") or {})
        labels.update(parse_key_values(rest, "LABEL", _env_map(config.get("Env") or [])))
        config["Labels"] = labels
    elif keyword == "EXPOSE":
        exposed = dict(config.get("ExposedPorts") or {})
        for port in parse_ports(rest):
            exposed[port] = {}
        config["ExposedPorts"] = exposed
    elif keyword == "VOLUME":
        volumes = dict(config.get("Volumes") or {})
        for path in parse_json_array(rest) or rest.split():
            if not path:
                raise InvalidParameter("VOLUME specified can not be an empty string")
            volumes[path] = {}
        config["Volumes"] = volumes
    elif keyword == "WORKDIR":
        config["WorkingDir"] = rest
    elif keyword == "USER":
        if not rest:
            raise InvalidParameter("USER requires exactly one argument")
        config["User"] = rest
    elif keyword == "STOPSIGNAL":
        config["StopSignal"] = rest
    elif keyword == "ONBUILD":
        config["OnBuild"] = list(config.get("OnBuild") or []) + [rest]
    elif keyword == "HEALTHCHECK":
        config["Healthcheck"] = parse_healthcheck(rest)


def parse_healthcheck(text: str) -> dict[str, Any]:
    from shared.timeutil import parse_duration
    words = text.split()
    options: dict[str, Any] = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        name = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
                "start-interval": "StartInterval", "retries": "Retries"}.get(key)
        if name is None:
            raise InvalidParameter(f"Unknown flag: {key}")
        options[name] = int(value) if name == "Retries" else int(parse_duration(value) * 1e9)
    rest = " ".join(words)
    kind, _, cmd = rest.partition(" ")
    if kind.upper() == "NONE":
        return {"Test": ["NONE"]}
    if kind.upper() != "CMD":
        raise InvalidParameter(f"Unknown type \"{kind}\" in HEALTHCHECK (try CMD)")
    exec_form = parse_json_array(cmd)
    options["Test"] = ["CMD"] + exec_form if exec_form is not None else ["CMD-SHELL", cmd]
    return options
