"""Dockerfiles read as Docker's classic builder reads them: parser directives
(`# escape=`, `# syntax=`), comments, line continuations, instruction flags
(`--from=`, `--chown=`...), JSON and shell forms, ONBUILD triggers."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import InvalidParameter

INSTRUCTIONS = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
                "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL",
                "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
FLAGS = {"FROM": {"platform"}, "COPY": {"from", "chown", "chmod", "link", "parents",
                                        "exclude"},
         "ADD": {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"},
         "RUN": {"mount", "network", "security"},
         "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"}}
_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_FLAG_RE = re.compile(r"^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(.*))?$")


@dataclass
class Instruction:
    keyword: str            # upper case
    args: str               # the text after the keyword and its flags
    original: str           # the instruction as written (continuations joined)
    line: int
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def json_args(self) -> list[str] | None:
        """The exec (JSON array) form, or None for the shell form (a malformed
        array is shell form, as in Docker)."""
        return json_array(self.args)


@dataclass
class Dockerfile:
    instructions: list[Instruction]
    escape: str = "\\"
    warnings: list[str] = field(default_factory=list)


def json_array(text: str) -> list[str] | None:
    text = text.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def parse(data: bytes, name: str = "Dockerfile") -> Dockerfile:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    escape, start = _directives(lines)
    out = Dockerfile([], escape)
    i = start
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        i += 1
        if not stripped or stripped.startswith("#"):
            continue
        first = i
        joined = raw.strip()
        empty_continuation = False
        while _continues(joined, escape):
            joined = joined.rstrip()[:-1]
            while i < len(lines) and (not lines[i].strip()
                                      or lines[i].strip().startswith("#")):
                empty_continuation |= not lines[i].strip()
                i += 1  # comments and blank lines inside a continuation are dropped
            if i >= len(lines):
                break
            joined += lines[i].strip()
            i += 1
        joined = joined.strip()
        if empty_continuation:
            out.warnings.append(f"[WARNING]: Empty continuation line found in: {joined}")
        out.instructions.append(parse_instruction(joined, first))
    if not data:  # dockerd: not one byte to read
        raise InvalidParameter(f"the Dockerfile ({name}) cannot be empty")
    if not out.instructions:  # blank lines and comments only: the parser's words
        raise InvalidParameter(f"failed to parse {name}: file with no instructions")
    return out


def _continues(line: str, escape: str) -> bool:
    return line.rstrip().endswith(escape)


def _directives(lines: list[str]) -> tuple[str, int]:
    escape = "\\"
    seen: set[str] = set()
    for index, line in enumerate(lines):
        match = _DIRECTIVE_RE.match(line.strip()) if line.strip().startswith("#") else None
        if match is None:
            return escape, index
        key, value = match.group(1).lower(), match.group(2)
        if key not in ("escape", "syntax", "check"):
            return escape, index  # an ordinary comment ends the directives
        if key in seen:
            raise InvalidParameter(f"only one {key} parser directive can be used")
        seen.add(key)
        if key == "escape":
            if value not in ("`", "\\"):
                raise InvalidParameter(f"invalid escape token '{value}' does not match ` or \\")
            escape = value
    return escape, len(lines)


def parse_instruction(text: str, line: int, trigger: bool = False) -> Instruction:
    keyword, _, rest = text.partition(" ")
    if "\t" in keyword:
        keyword, _, more = keyword.partition("\t")
        rest = (more + " " + rest).strip()
    upper = keyword.upper()
    if upper not in INSTRUCTIONS:
        raise InvalidParameter(f"dockerfile parse error line {line}: unknown instruction: "
                               f"{upper}")
    rest = rest.strip()
    flags, rest = _flags(upper, rest, line)
    if upper == "ONBUILD":
        inner = parse_instruction(rest, line, trigger=True) if rest else None
        if inner is None:
            raise InvalidParameter("ONBUILD requires at least one argument")
        if inner.keyword == "ONBUILD":
            raise InvalidParameter("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if inner.keyword in ("FROM", "MAINTAINER"):
            raise InvalidParameter(f"{inner.keyword} isn't allowed as an ONBUILD trigger")
    return Instruction(upper, rest, text, line, flags)


def _flags(keyword: str, rest: str, line: int) -> tuple[dict[str, str], str]:
    allowed = FLAGS.get(keyword, set())
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        word, _, remainder = rest.partition(" ")
        match = _FLAG_RE.match(word)
        if match is None:
            break
        name, value = match.group(1), match.group(2)
        if name not in allowed:
            raise InvalidParameter(f"dockerfile parse error line {line}: unknown flag: {name}")
        flags[name] = value if value is not None else "true"
        rest = remainder.strip()
    return flags, rest
