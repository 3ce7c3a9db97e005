"""`run` and `create`."""
from __future__ import annotations

import sys
from typing import Any

import click

from ...create_body import build_create_body, create_options
from ...errors import EXIT_DAEMON, APIError, CLIError, FlagError, run_exit_status
from ...streams import pump
from ...tty import raw_mode, size
from .. import client_of


def _create(ctx: click.Context, opts: dict[str, Any], image: str,
            command: tuple[str, ...]) -> str:
    client = client_of(ctx)
    body = build_create_body(opts, image, command)
    params = {"name": opts["name"], "platform": opts["platform"]}
    try:
        result = client.post("/containers/create", params=params, body=body)
    except APIError as exc:
        if exc.http_status == 404 and "No such image" in exc.daemon_message:
            named = _with_default_tag(image)
            print(f"Unable to find image '{named}' locally", file=sys.stderr)
            _pull(ctx, named, opts["platform"])
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


def _pull(ctx: click.Context, image: str, platform: str | None) -> None:
    """Docker's pull before create: progress on stderr, a failure is exit 125."""
    from ..registry import pull_image
    try:
        pull_image(ctx, image, platform=platform, out=sys.stderr)
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


@click.command(context_settings={"allow_interspersed_args": False})
@create_options
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def create(ctx: click.Context, image: str, command: tuple[str, ...], **opts: Any) -> None:
    """Create a new container."""
    try:
        click.echo(_create(ctx, opts, image, command))
    except CLIError as exc:
        raise _run_error(exc) from None


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Run container in background and print ID")
@click.option("-a", "--attach", "attach_streams", multiple=True, help="Attach to STDIN, STDOUT or STDERR")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a container")
@create_options
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx: click.Context, image: str, command: tuple[str, ...], detach: bool,
        attach_streams: tuple[str, ...], detach_keys: str | None, **opts: Any) -> None:
    """Create and run a new container from an image."""
    if opts["tty"] and opts["interactive"] and not detach and not sys.stdin.isatty():
        raise CLIError("the input device is not a TTY", 1)
    client = client_of(ctx)
    try:
        cid = _create(ctx, opts, image, command)
    except CLIError as exc:
        raise _run_error(exc) from None
    if detach:
        try:
            client.request("POST", f"/containers/{cid}/start").read()
        except CLIError as exc:
            raise _run_error(exc) from None
        click.echo(cid)
        return
    streams = {s.lower() for s in attach_streams} or {"stdout", "stderr"}
    if opts["interactive"]:
        streams.add("stdin")
    from ...credentials import detach_keys as keys_of
    sock, rest, _ = client.hijack(f"/containers/{cid}/attach", params={
        "stream": 1, "stdin": int("stdin" in streams), "stdout": int("stdout" in streams),
        "stderr": int("stderr" in streams), "detachKeys": keys_of(detach_keys)})
    condition = "removed" if opts["rm"] else "next-exit"
    wait = client.request("POST", f"/containers/{cid}/wait", params={"condition": condition})
    try:
        client.request("POST", f"/containers/{cid}/start").read()
    except CLIError as exc:
        sock.close()
        raise _run_error(exc) from None
    if opts["tty"] and size():
        rows, cols = size()  # type: ignore[misc]
        try:
            client.request("POST", f"/containers/{cid}/resize", params={"h": rows, "w": cols}).read()
        except CLIError:
            pass
    with raw_mode(opts["tty"] and opts["interactive"]):
        detached = pump(sock, rest, opts["tty"], "stdin" in streams, keys_of(detach_keys))
    if detached:  # the container goes on; the terminal is the user's again
        return
    status = wait.json() or {}
    if status.get("Error"):
        print(f"docker-py: {status['Error'].get('Message')}", file=sys.stderr)
    sys.exit(int(status.get("StatusCode", EXIT_DAEMON)))
