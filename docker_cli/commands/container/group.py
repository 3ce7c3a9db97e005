"""The `container` group: `docker-py container <verb>`."""
from __future__ import annotations

import click

from ...lazy import LazyGroup
from . import COMMANDS


@click.group(cls=LazyGroup, lazy=COMMANDS)
def container() -> None:
    """Manage containers."""
