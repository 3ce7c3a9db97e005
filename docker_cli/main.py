"""`docker-py`: Docker's commands, flags and exit codes, over the Engine API.

The entry point. The commands on the hot path (`run`, `create`, `ps`, `--version`)
run from here without importing click, which costs more than the rest of a
`docker-py run` on the client side; everything else goes to the click tree
in cli.py. Errors end here: one line on stderr and Docker's exit code."""
from __future__ import annotations

import os
import sys

from . import VERSION_LINE
from .errors import CLIError

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from typing import NoReturn


def main() -> None:
    args = sys.argv[1:]
    try:
        if not _without_click(args):
            from .cli import run_click
            run_click(args)
    except CLIError as exc:
        print(exc.message, file=sys.stderr)
        sys.exit(exc.status)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


def _without_click(args: list[str]) -> bool:
    """Run args here if they are `--version` or a command that parses its own
    flags, given without global options; False to leave them to click."""
    if args in (["--version"], ["-v"]):
        print(VERSION_LINE)
        return True
    if "_DOCKER_PY_COMPLETE" in os.environ or not args:
        return False
    if os.environ.get("DOCKER_CONTEXT") and not os.environ.get("DOCKER_HOST"):
        from .credentials import check_context
        check_context(os.environ["DOCKER_CONTEXT"])
    from .commands.table import command_at, load_command
    target, rest = command_at(args)
    if target is None:
        return False
    func = load_command(target)
    if not hasattr(func, "flagset"):
        return False
    from .flags import run_flag_command
    try:
        run_flag_command(func, rest, {})
    except SystemExit as done:
        _exit_now(done.code)
    _exit_now(0)


def _exit_now(code: int | str | None) -> NoReturn:
    """Exit without the interpreter's teardown (a few ms of a short command):
    nothing of ours runs at exit, and the output is flushed here."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code or 0)


if __name__ == "__main__":
    main()
