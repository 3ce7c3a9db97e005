"""Shell completion of object names (containers, images, networks, volumes),
asked of the daemon only while completing; a daemon that does not answer
completes nothing."""
from __future__ import annotations

from typing import Any

import click
from click.shell_completion import CompletionItem

# argument names that hold object names, by the group or command they are in
_ARGS = {"names", "name", "container", "image", "network", "source", "target"}
_IMAGE_COMMANDS = {"rmi", "history", "push", "save", "tag", "run", "create"}


def _kind(ctx: click.Context) -> str:
    parent = ctx.parent.info_name if ctx.parent else ""
    command = ctx.info_name or ""
    if parent in ("network", "volume", "image"):
        return parent
    if command in _IMAGE_COMMANDS or parent == "image":
        return "image"
    return "container"


def _names(ctx: click.Context, kind: str) -> list[str]:
    from .client import Client
    root = ctx.find_root().params
    try:
        client = Client(root.get("host"))
        if kind == "container":
            return [n.lstrip("/") for c in client.get("/containers/json", params={"all": 1})
                    for n in c.get("Names") or []]
        if kind == "image":
            return [t for i in client.get("/images/json") for t in i.get("RepoTags") or []]
        if kind == "network":
            return [n["Name"] for n in client.get("/networks")]
        return [v["Name"] for v in (client.get("/volumes").get("Volumes") or [])]
    except Exception:  # completion never fails loudly
        return []


def complete_names(ctx: click.Context, param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(n) for n in sorted(set(_names(ctx, _kind(ctx))))
            if n.startswith(incomplete)]


def add_name_completion(command: Any) -> Any:
    """Give the command's name arguments the completer (commands load lazily,
    so this runs as each is loaded)."""
    for param in getattr(command, "params", []):
        if isinstance(param, click.Argument) and param.name in _ARGS and \
                getattr(param, "_custom_shell_complete", None) is None:
            param._custom_shell_complete = complete_names
    for sub in getattr(command, "commands", {}).values():  # a plain group's commands
        add_name_completion(sub)
    return command
