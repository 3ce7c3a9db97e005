"""The click tree of `docker-py`: global options, groups and the commands that
use click (main.py runs the hot ones without it)."""
from __future__ import annotations

import sys

import click

from shared.api import PRODUCT_VERSION

from . import VERSION_LINE
from .commands.table import COMMANDS
from .lazy import LazyGroup


@click.group(cls=LazyGroup, lazy=COMMANDS,
             context_settings={"help_option_names": ["--help"]})
@click.option("-H", "--host", "host", envvar="DOCKER_HOST", default=None,
              help="Daemon socket to connect to (default unix:///run/dockerd-py.sock)")
@click.option("-c", "--context", "context", default=None,
              help='Name of the context to use to connect to the daemon (only "default")')
@click.option("-D", "--debug", is_flag=True, help="Enable debug mode")
@click.option("--tls", is_flag=True, default=False, help="Use TLS; implied by --tlsverify")
@click.option("--tlsverify", is_flag=True, default=False, envvar="DOCKER_TLS_VERIFY",
              help="Use TLS and verify the remote")
@click.option("--tlscacert", default=None, help="Trust certs signed only by this CA")
@click.option("--tlscert", default=None, help="Path to TLS certificate file")
@click.option("--tlskey", default=None, help="Path to TLS key file")
@click.version_option(PRODUCT_VERSION, "-v", "--version", prog_name="docker-py",
                      message=VERSION_LINE,
                      help="Print version information and quit")
@click.pass_context
def cli(ctx: click.Context, host: str | None, context: str | None, debug: bool, tls: bool,
        tlsverify: bool, tlscacert: str | None, tlscert: str | None, tlskey: str | None) -> None:
    """A self-sufficient runtime for containers (dockerd-py's CLI)."""
    from .credentials import check_context
    check_context(context or _context_from_env())
    ctx.obj = {"host": host, "debug": debug,
               "tls": (tlsverify, tlscacert, tlscert, tlskey) if (tls or tlsverify) else None}


def _context_from_env() -> str | None:
    """DOCKER_CONTEXT, which DOCKER_HOST overrides (the docker CLI's order)."""
    import os
    return None if os.environ.get("DOCKER_HOST") else os.environ.get("DOCKER_CONTEXT")


def run_click(args: list[str]) -> None:
    """Run args through the click tree, click's errors as the Docker CLI prints its own."""
    try:
        cli.main(args=args, prog_name="docker-py", standalone_mode=False)
    except click.exceptions.NoSuchOption as exc:  # docker's first line, and only that
        print(f"unknown flag: {exc.option_name}", file=sys.stderr)
        sys.exit(125)
    except click.exceptions.UsageError as exc:
        if isinstance(exc, click.exceptions.MissingParameter) and exc.param is not None \
                and exc.param.param_type_name == "argument" \
                or exc.message.startswith("Got unexpected extra argument"):
            _argument_count(exc)
        if not exc.message.startswith("No such command"):
            _usage(exc, exc.format_message())
        name = exc.message.split("'")[1] if "'" in exc.message else ""
        path = exc.ctx.command_path if exc.ctx else "docker-py"
        print(f"docker-py: unknown command: {path} {name}\n\nRun '{path} --help' for more "
              "information", file=sys.stderr)
        sys.exit(1)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


def _argument_count(exc: click.exceptions.UsageError) -> None:
    """Too few or too many arguments, as cobra's checks word it: "requires 1
    argument", "at least 2 arguments", "at least 1 and at most 2 arguments"; exit 1."""
    ctx = exc.ctx
    path = ctx.command_path if ctx else "docker-py"
    params = [p for p in (ctx.command.params if ctx else []) if isinstance(p, click.Argument)]
    required = sum(1 for p in params if p.required)
    optional = sum(1 for p in params if not p.required and p.nargs == 1)
    variadic = any(p.nargs == -1 for p in params)

    def count(n: int) -> str:
        return f"{n} argument" if n == 1 else f"{n} arguments"
    if variadic:
        needs = f"at least {count(required)}"
    elif optional:
        needs = f"at least {required} and at most {count(required + optional)}"
    else:
        needs = count(required)
    usage = ctx.command.collect_usage_pieces(ctx) if ctx else []
    print(f"docker-py: '{path}' requires {needs}\n\nUsage:  {path} {' '.join(usage)}\n\n"
          f"See '{path} --help' for more information", file=sys.stderr)
    sys.exit(1)


def _usage(exc: click.exceptions.UsageError, message: str) -> None:
    """One line and exit 125, as the Docker CLI answers a bad flag."""
    path = exc.ctx.command_path if exc.ctx else "docker-py"
    print(f"{path}: {message.splitlines()[0]} (see '{path} --help')", file=sys.stderr)
    sys.exit(125)
