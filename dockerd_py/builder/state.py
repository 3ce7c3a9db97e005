"""A build's state: the stages of a Dockerfile, which of them a target needs,
the build arguments with Docker's scoping, and one stage's running config."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidParameter
from .backend import BaseImage
from .parser import Instruction

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = ["/bin/sh", "-c"]
PROXY_ARGS = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
              "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}
_STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9-_.]*$")


@dataclass
class Stage:
    index: int
    base: str                    # FROM's image as written
    name: str | None
    platform: str | None
    from_instruction: Instruction
    instructions: list[Instruction] = field(default_factory=list)


def split_stages(instructions: list[Instruction]) -> tuple[list[Instruction], list[Stage]]:
    """(the ARGs before the first FROM, the stages)."""
    meta: list[Instruction] = []
    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = ins.args.split()
            if len(words) == 3 and words[1].lower() == "as":
                name = words[2]
                if not _STAGE_NAME_RE.match(name.lower()):
                    raise InvalidParameter(f"invalid name for build stage: {name!r}, name can't "
                                           "start with a number or contain symbols")
                name = name.lower()
            elif len(words) == 1:
                name = None
            else:
                raise InvalidParameter("FROM requires either one or three arguments")
            stages.append(Stage(len(stages), words[0], name, ins.flags.get("platform"), ins))
        elif not stages:
            if ins.keyword != "ARG":
                raise InvalidParameter("no build stage in current context")
            meta.append(ins)
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        raise InvalidParameter("no build stage in current context")
    return meta, stages


def stages_to_build(stages: list[Stage], target: str | None) -> list[Stage]:
    """Every stage up to the target (the last by default), as the classic
    builder runs them: a stage nothing uses is built too."""
    if not target:
        return stages
    for stage in stages:
        if stage.name and stage.name.lower() == target.lower():
            return stages[:stage.index + 1]
    raise InvalidParameter(f'target stage "{target}" could not be found')


class BuildArgs:
    """Values given with the request, and what each stage declared."""

    def __init__(self, given: dict[str, str | None]) -> None:
        self.given = given
        self.meta: dict[str, str | None] = {}
        self.used: set[str] = set()

    def declare_meta(self, name: str, default: str | None) -> None:
        self.used.add(name)
        self.meta[name] = self.given[name] if self.given.get(name) is not None else default

    def meta_env(self) -> dict[str, str]:
        return {k: v for k, v in self.meta.items() if v is not None}

    def value(self, name: str, default: str | None) -> str | None:
        """A stage's `ARG name[=default]`: the request's value, the default, or
        the value of the meta ARG of that name."""
        self.used.add(name)
        if self.given.get(name) is not None:
            return self.given[name]
        if default is not None:
            return default
        return self.meta.get(name)

    def unconsumed(self) -> list[str]:
        return sorted(k for k in self.given if k not in self.used and k not in PROXY_ARGS)


@dataclass
class StageState:
    image: BaseImage | None
    run_config: dict[str, Any]
    args: dict[str, str | None] = field(default_factory=dict)  # declared in this stage
    cmd_set: bool = False
    author: str = ""
    given: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def begin(cls, image: BaseImage | None, given: dict[str, str | None]) -> StageState:
        config = copy.deepcopy(image.run_config) if image else {}
        env = list(config.get("Env") or [])
        if not any(e.startswith("PATH=") for e in env):
            env.insert(0, DEFAULT_PATH)  # as dockerd's builder does
        config["Env"] = env
        author = str((image.config.get("author") if image else "") or "")
        return cls(image, config, given=given, author=author)

    @property
    def shell(self) -> list[str]:
        return list(self.run_config.get("Shell") or DEFAULT_SHELL)

    def env_map(self) -> dict[str, str]:
        """What $VAR sees: the stage's args, then ENV (which wins)."""
        out = {k: v for k, v in self.args.items() if v is not None}
        for item in self.run_config.get("Env") or []:
            key, _, value = item.partition("=")
            out[key] = value
        return out

    def run_args(self) -> list[str]:
        """`K=V` of the build args a RUN sees: declared ones with a value and
        proxy args given with the request, unless ENV sets the name."""
        env_names = {e.split("=", 1)[0] for e in self.run_config.get("Env") or []}
        values = {k: v for k, v in self.args.items() if v is not None}
        for name in PROXY_ARGS:
            if self.given.get(name) is not None and name not in values:
                values[name] = self.given[name]  # type: ignore[assignment]
        return sorted(f"{k}={v}" for k, v in values.items() if k not in env_names)
