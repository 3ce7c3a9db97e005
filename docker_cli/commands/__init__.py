"""One module per command group."""
from __future__ import annotations

import click

from ..client import Client


def client_of(ctx: click.Context) -> Client:
    root = ctx.find_root()
    obj = root.obj or {}
    if "client" not in obj:
        obj["client"] = Client(obj.get("host"))
        root.obj = obj
    return obj["client"]
