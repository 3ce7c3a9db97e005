"""`run` and `create`: on the hot path, so they parse their own flags
(docker_cli.flags) and import neither click nor anything else they may not use."""
from __future__ import annotations

import sys

from ...create_body import CREATE_FLAGS, build_create_body
from ...credentials import detach_keys as keys_of
from ...errors import EXIT_DAEMON, APIError, CLIError, FlagError, run_exit_status
from ...flags import Flag, FlagSet, flag_command
from ...streams import pump
from ...tty import following_size, raw_mode, resizer
from .. import client_from

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from typing import Any

_USAGE = "[OPTIONS] IMAGE [COMMAND] [ARG...]"
CREATE = FlagSet("create", _USAGE, "Create a new container", CREATE_FLAGS, min_args=1,
                 interspersed=False)
RUN = FlagSet("run", _USAGE, "Create and run a new container from an image", (
    Flag("detach", short="d", kind="bool", help="Run container in background and print "
         "container ID"),
    Flag("attach", short="a", kind="list", help="Attach to STDIN, STDOUT or STDERR"),
    Flag("detach-keys", help="Override the key sequence for detaching a container"),
    *CREATE_FLAGS), min_args=1, interspersed=False)


def _create(options: dict[str, Any], opts: dict[str, Any], image: str,
            command: list[str]) -> str:
    client = client_from(options)
    body = build_create_body(opts, image, tuple(command))
    params = {"name": opts["name"], "platform": opts["platform"]}
    try:
        result = client.post("/containers/create", params=params, body=body)
    except APIError as exc:
        if exc.http_status == 404 and "No such image" in exc.daemon_message:
            named = _with_default_tag(image)
            print(f"Unable to find image '{named}' locally", file=sys.stderr)
            _pull(options, named, opts["platform"])
            result = client.post("/containers/create", params=params, body=body)
        else:
            raise
    for warning in result.get("Warnings") or []:
        print(f"WARNING: {warning}", file=sys.stderr)
    return result["Id"]


def _with_default_tag(image: str) -> str:
    from shared import reference as refs
    try:
        return refs.parse(image).with_default_tag().familiar()
    except refs.ReferenceError:
        return image


def _pull(options: dict[str, Any], image: str, platform: str | None) -> None:
    """Docker's pull before create: progress on stderr, a failure is exit 125."""
    from ..registry import pull_image
    try:
        pull_image(client_from(options), image, platform=platform, out=sys.stderr)
    except APIError:
        raise
    except CLIError as exc:
        raise CLIError(exc.message, EXIT_DAEMON) from None


def _run_error(exc: CLIError) -> CLIError:
    if isinstance(exc, FlagError):
        return exc
    message = exc.message
    status = EXIT_DAEMON
    if isinstance(exc, APIError):
        status = run_exit_status(exc.daemon_message) if exc.http_status in (400, 500) else 125
    return CLIError(f"docker-py: {message}", status)


@flag_command(CREATE)
def create(options: dict[str, Any], opts: dict[str, Any], args: list[str]) -> None:
    """Create a new container."""
    try:
        print(_create(options, opts, args[0], args[1:]))
    except CLIError as exc:
        raise _run_error(exc) from None


@flag_command(RUN)
def run(options: dict[str, Any], opts: dict[str, Any], args: list[str]) -> None:
    """Create and run a new container from an image."""
    if opts["tty"] and opts["interactive"] and not opts["detach"] and not sys.stdin.isatty():
        raise CLIError("the input device is not a TTY", 1)
    client = client_from(options)
    try:
        cid = _create(options, opts, args[0], args[1:])
    except CLIError as exc:
        raise _run_error(exc) from None
    if opts["detach"]:
        print(cid, flush=True)  # as docker run -d: the ID first, whatever the start says
        try:
            client.request("POST", f"/containers/{cid}/start").read()
        except CLIError as exc:
            raise _run_error(exc) from None
        return
    _attached(client, cid, opts)


def _attached(client: Any, cid: str, opts: dict[str, Any]) -> None:
    """Attach, start, pump the streams; exit with the container's status."""
    streams = {s.lower() for s in opts["attach"]} or {"stdout", "stderr"}
    if opts["interactive"]:
        streams.add("stdin")
    keys = keys_of(opts["detach_keys"])
    sock, rest, _ = client.hijack(f"/containers/{cid}/attach", params={
        "stream": 1, "stdin": int("stdin" in streams), "stdout": int("stdout" in streams),
        "stderr": int("stderr" in streams), "detachKeys": keys})
    condition = "removed" if opts["rm"] else "next-exit"
    wait = client.request("POST", f"/containers/{cid}/wait", params={"condition": condition})
    try:
        client.request("POST", f"/containers/{cid}/start").read()
    except CLIError as exc:
        sock.close()
        raise _run_error(exc) from None
    with following_size(opts["tty"], resizer(client, f"/containers/{cid}/resize")), \
            raw_mode(opts["tty"] and opts["interactive"]):
        detached = pump(sock, rest, opts["tty"], "stdin" in streams, keys)
    if detached:  # the container goes on; the terminal is the user's again
        return
    status = wait.json() or {}
    if status.get("Error"):
        print(f"docker-py: {status['Error'].get('Message')}", file=sys.stderr)
    sys.exit(int(status.get("StatusCode", EXIT_DAEMON)))
