"""Command groups whose commands load only when called."""
from __future__ import annotations

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    """`lazy` maps a command name to "module:function" in docker_cli.commands."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, _, attr = self.lazy[name].partition(":")
            command = getattr(importlib.import_module(f"docker_cli.commands.{module}"), attr)
        else:
            command = super().get_command(ctx, name)
        if command is not None and ctx.resilient_parsing:  # only while completing
            from .completion import add_name_completion
            add_name_completion(command)
        return command
