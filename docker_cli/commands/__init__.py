"""One module per command group."""
from __future__ import annotations

import sys

from ..errors import CLIError

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import click

    from ..client import Client


def client_of(ctx: click.Context) -> Client:
    """The API client of a click command."""
    root = ctx.find_root()
    root.obj = root.obj or {}
    return client_from(root.obj)


def client_from(options: dict[str, Any]) -> Client:
    """The API client for the global options (host, tls), made at first use (a
    `--version` or `--help` never pays for the client's imports)."""
    if "client" not in options:
        from ..client import Client
        options["client"] = Client(options.get("host"), tls=options.get("tls"))
    return options["client"]


def for_each(ctx: click.Context, names: tuple[str, ...],
             action: Callable[[Client, str], object]) -> None:
    """Run action (which prints its own output) for each name, going on past
    failures as docker does: each error on stderr, exit status 1 if any."""
    failed = False
    for name in names:
        try:
            action(client_of(ctx), name)
        except CLIError as exc:
            print(exc.message, file=sys.stderr)
            failed = True
    if failed:
        sys.exit(1)


def print_deleted(title: str, items: list[str] | None, blank_after: bool = True) -> None:
    """What a prune removed, as the docker command prints it: a title, one line
    each, a blank line; nothing when nothing went."""
    if not items:
        return
    print(title)
    for item in items:
        print(item)
    if blank_after:
        print()


def for_each_echo(ctx: click.Context, names: tuple[str, ...], action: Any) -> None:
    """Apply action to each name; print names that worked, errors for the rest."""
    def act(client: Any, name: str) -> None:
        action(client, name)
        print(name)
    for_each(ctx, names, act)
