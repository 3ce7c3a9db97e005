"""`docker-py`: Docker's commands, flags and exit codes, over the Engine API.
Commands load lazily so that a call imports only what it runs."""
from __future__ import annotations

import sys

import click

from shared.api import PRODUCT_VERSION

from .commands.container import COMMANDS as CONTAINER_COMMANDS
from .errors import CLIError
from .lazy import LazyGroup

# command -> "module:function"; `container`/`image` groups hold the long forms.
COMMANDS = {
    "version": "system:version", "info": "system:info", "events": "system:events",
    "inspect": "system:inspect",
    "images": "image:images", "import": "image:import_", "rmi": "image:rmi",
    "tag": "image:tag", "history": "image:history", "save": "image:save", "load": "image:load",
    "container": "container:container", "image": "image:image", "network": "network:network",
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


@click.group(cls=LazyGroup, lazy=COMMANDS,
             context_settings={"help_option_names": ["--help"]})
@click.option("-H", "--host", "host", envvar="DOCKER_HOST", default=None,
              help="Daemon socket to connect to (default unix:///run/dockerd-py.sock)")
@click.option("-D", "--debug", is_flag=True, help="Enable debug mode")
@click.option("--tls", is_flag=True, default=False, help="Use TLS; implied by --tlsverify")
@click.option("--tlsverify", is_flag=True, default=False, envvar="DOCKER_TLS_VERIFY",
              help="Use TLS and verify the remote")
@click.option("--tlscacert", default=None, help="Trust certs signed only by this CA")
@click.option("--tlscert", default=None, help="Path to TLS certificate file")
@click.option("--tlskey", default=None, help="Path to TLS key file")
@click.version_option(PRODUCT_VERSION, "-v", "--version", prog_name="docker-py",
                      message="%(prog)s version %(version)s, build dockerd-py",
                      help="Print version information and quit")
@click.pass_context
def cli(ctx: click.Context, host: str | None, debug: bool, tls: bool, tlsverify: bool,
        tlscacert: str | None, tlscert: str | None, tlskey: str | None) -> None:
    """A self-sufficient runtime for containers (dockerd-py's CLI)."""
    ctx.obj = {"host": host, "debug": debug,
               "tls": (tlsverify, tlscacert, tlscert, tlskey) if (tls or tlsverify) else None}


def main() -> None:
    try:
        cli.main(args=sys.argv[1:], prog_name="docker-py", standalone_mode=False)
    except click.exceptions.NoSuchOption as exc:  # docker's first line, and only that
        print(f"unknown flag: {exc.option_name}", file=sys.stderr)
        sys.exit(125)
    except click.exceptions.UsageError as exc:
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
    except CLIError as exc:
        print(exc.message, file=sys.stderr)
        sys.exit(exc.status)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


def _usage(exc: click.exceptions.UsageError, message: str) -> None:
    """One line and exit 125, as the Docker CLI answers a bad flag."""
    path = exc.ctx.command_path if exc.ctx else "docker-py"
    print(f"{path}: {message.splitlines()[0]} (see '{path} --help')", file=sys.stderr)
    sys.exit(125)


if __name__ == "__main__":
    main()
