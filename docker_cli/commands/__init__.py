"""One module per command group."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

import click

from ..errors import CLIError

if TYPE_CHECKING:
    from ..client import Client


def client_of(ctx: click.Context) -> "Client":
    """The API client, made at first use (http.client is not imported before: a
    `--version` or `--help` never pays for it)."""
    from ..client import Client
    root = ctx.find_root()
    obj = root.obj or {}
    if "client" not in obj:
        obj["client"] = Client(obj.get("host"), tls=obj.get("tls"))
        root.obj = obj
    return obj["client"]


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
    click.echo(title)
    for item in items:
        click.echo(item)
    if blank_after:
        click.echo()


def for_each_echo(ctx: click.Context, names: tuple[str, ...], action: Any) -> None:
    """Apply action to each name; print names that worked, errors for the rest."""
    def act(client: Any, name: str) -> None:
        action(client, name)
        click.echo(name)
    for_each(ctx, names, act)
