"""Command groups whose commands load only when called."""
from __future__ import annotations

from typing import Any

import click

from .commands.table import load_command


class LazyGroup(click.Group):
    """`lazy` maps a command name to "module:function" in docker_cli.commands."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            command = load_command(self.lazy[name])
            if not isinstance(command, click.Command):
                command = FlagCommand(name, command)
        else:
            command = super().get_command(ctx, name)
        if command is not None and ctx.resilient_parsing:  # only while completing
            from .completion import add_name_completion
            add_name_completion(command)
        if command is not None:
            _take_bool_values_in(command)
        return command


def _take_bool_values_in(command: click.Command) -> None:
    """Every click command at and below command (a group's registered ones too)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _take_bool_values_in(sub)
    elif not isinstance(command, FlagCommand):
        _take_bool_values(command)


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _take_bool_values(command: click.Command) -> None:
    """`--follow=false`, `-f=true`: a boolean flag with a value, as the docker CLI's
    flags (Go's strconv.ParseBool) take it; click takes the bare flag only."""
    flags = {opt: param for param in command.params
             if isinstance(param, click.Option) and param.is_flag and not param.secondary_opts
             for opt in param.opts}
    if not flags or getattr(command, "_bool_values", False):
        return
    parse = command.parse_args

    def parse_args(ctx: click.Context, args: list[str]) -> list[str]:
        words: list[str] = []
        for i, word in enumerate(args):
            if word == "--":
                words += args[i:]
                break
            name, sep, value = word.partition("=")
            if not (sep and name in flags):
                words.append(word)
            elif value in _TRUE:
                words.append(name)
            elif value not in _FALSE:
                from .errors import CLIError
                spelled = ", ".join(sorted(flags[name].opts, key=len))
                raise CLIError(f'invalid argument "{value}" for "{spelled}" flag: '
                               f'strconv.ParseBool: parsing "{value}": invalid syntax', 125)
        return parse(ctx, words)

    command.parse_args = parse_args  # type: ignore[method-assign]
    command._bool_values = True  # type: ignore[attr-defined]


class FlagCommand(click.Command):
    """A command that parses its own flags (docker_cli.flags), in the click tree:
    click hands it the words after its name untouched."""

    def __init__(self, name: str, func: Any) -> None:
        self.func = func
        super().__init__(
            name, callback=self._invoke, help=func.__doc__, add_help_option=False,
            # "image" gets image names completed (run, create); "args" nothing (ps)
            params=[click.Argument(["image" if func.flagset.min_args else "args"], nargs=-1,
                                   type=click.UNPROCESSED)],
            context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})

    def _invoke(self, image: tuple[str, ...] = (), args: tuple[str, ...] = ()) -> None:
        from .flags import run_flag_command
        ctx = click.get_current_context()
        root = ctx.find_root()
        root.obj = root.obj or {}
        run_flag_command(self.func, list(image or args), root.obj)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem
        flags = self.func.flagset.flags
        return [CompletionItem(f"--{name}") for f in flags for name in (f.long, *f.aliases)
                if f"--{name}".startswith(incomplete)]
