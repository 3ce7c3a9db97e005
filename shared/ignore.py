"""`.dockerignore` patterns with Docker's rules (moby/patternmatcher): `*`, `?`,
`[...]`, `**` for any number of directories, `!` exceptions, the last pattern
that matches decides, and a pattern that matches a directory excludes what is
below it. Used by the CLI to build a context and by the daemon's builder."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]
    dirs: int


def read_patterns(data: str) -> list[str]:
    out = []
    for line in data.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        invert = line.startswith("!")
        if invert:
            line = line[1:].strip()
        if not line:
            continue
        line = posixpath.normpath(line)
        if line.startswith("/"):
            line = line.lstrip("/") or "."
        out.append(("!" if invert else "") + line)
    return out


def _compile(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if i + 1 < len(pattern) and pattern[i + 1] == "*":
                i += 2
                while i < len(pattern) and pattern[i] == "*":
                    i += 1
                if i >= len(pattern):
                    out.append(".*")
                    continue
                if pattern[i] == "/":
                    i += 1
                out.append("(.*/)?")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                if body.startswith("!") or body.startswith("^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return re.compile("".join(out))


class Matcher:
    def __init__(self, patterns: list[str]) -> None:
        self.patterns = []
        for text in patterns:
            exclusion = text.startswith("!")
            body = text[1:] if exclusion else text
            self.patterns.append(Pattern(body, exclusion, _compile(body),
                                         body.count("/") + 1))

    @property
    def has_exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def matches(self, path: str) -> bool:
        """Whether path (relative, with /) is excluded: by a pattern that matches
        it or one of its parent directories; the last that applies decides."""
        path = posixpath.normpath(path)
        parents = []
        parent = posixpath.dirname(path)
        while parent and parent != ".":
            parents.append(parent)
            parent = posixpath.dirname(parent)
        matched = False
        for p in self.patterns:
            hit = bool(p.regex.match(path)) or any(p.regex.match(d) for d in parents)
            if hit:
                matched = not p.exclusion
        return matched
