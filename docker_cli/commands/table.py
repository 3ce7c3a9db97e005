"""Which module holds each command: "module:function" under docker_cli.commands.
Commands load only when called, so a call imports only what it runs."""
from __future__ import annotations

import importlib

from .container import COMMANDS as CONTAINER_COMMANDS

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from typing import Any

COMMANDS = {
    "version": "system:version", "info": "system:info", "events": "system:events",
    "inspect": "system:inspect",
    "images": "image:images", "import": "image:import_", "rmi": "image:rmi",
    "tag": "image:tag", "history": "image:history", "save": "image:save", "load": "image:load",
    "container": "container.group:container", "image": "image:image", "network": "network:network",
    "volume": "volume:volume", "system": "system_group:system",
    "pull": "registry:pull", "push": "registry:push", "login": "registry:login",
    "logout": "registry:logout", "search": "registry:search", "build": "build:build",
    "builder": "build:builder", "completion": "system:completion",
}
# the top-level forms of container commands (`docker ps`, `docker run`, ...)
for _verb in ("ps", "run", "create", "start", "stop", "restart", "kill", "rm", "logs", "wait",
              "attach", "commit", "diff", "export", "pause", "unpause", "exec", "cp", "top",
              "stats", "port", "rename", "update"):
    COMMANDS[_verb] = CONTAINER_COMMANDS[_verb]


def command_at(args: list[str]) -> tuple[str | None, list[str]]:
    """The target that args name (`run …`, `container run …`) and the words after
    it; None where args start with anything else (a global option)."""
    if args[0] == "container" and len(args) > 1 and args[1] in CONTAINER_COMMANDS:
        return CONTAINER_COMMANDS[args[1]], args[2:]
    target = COMMANDS.get(args[0])
    return (target, args[1:]) if target is not None else (None, args)


def load_command(target: str) -> Any:
    """The command (a click command, or a function that parses its own flags)."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(f"docker_cli.commands.{module}"), attr)
