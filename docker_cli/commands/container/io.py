"""logs, attach, exec: a container's streams."""
from __future__ import annotations

import os
import sys
from typing import Any

import click

from shared.stdcopy import Demuxer

from ... import credentials
from ...errors import CLIError
from ...streams import pump
from ...tty import following_size, raw_mode, resizer, size
from .. import client_of


@click.command()
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("--since", default=None, help="Show logs since timestamp or relative (e.g. 42m)")
@click.option("--until", default=None, help="Show logs before a timestamp or relative")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end")
@click.argument("name")
@click.pass_context
def logs(ctx: click.Context, follow: bool, since: str | None, until: str | None,
         timestamps: bool, tail: str, name: str) -> None:
    """Fetch the logs of a container."""
    client = client_of(ctx)
    doc = client.get(f"/containers/{name}/json")
    resp = client.request("GET", f"/containers/{name}/logs", params={
        "stdout": 1, "stderr": 1, "follow": follow, "since": since, "until": until,
        "timestamps": timestamps, "tail": tail})
    out, err = sys.stdout.buffer, sys.stderr.buffer
    demux = Demuxer()
    for chunk in resp.iter_chunks():
        if doc["Config"]["Tty"]:
            out.write(chunk)
            out.flush()
            continue
        for stream, payload in demux.feed(chunk):
            target = err if stream == 2 else out
            target.write(payload)
            target.flush()


@click.command()
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a container")
@click.argument("name")
@click.pass_context
def attach(ctx: click.Context, no_stdin: bool, detach_keys: str | None, name: str) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    client = client_of(ctx)
    doc = client.get(f"/containers/{name}/json")
    if not doc["State"]["Running"]:
        raise CLIError("You cannot attach to a stopped container, start it first", 1)
    stdin = doc["Config"]["OpenStdin"] and not no_stdin
    keys = credentials.detach_keys(detach_keys)
    sock, rest, _ = client.hijack(f"/containers/{name}/attach", params={
        "stream": 1, "stdin": int(stdin), "stdout": 1, "stderr": 1, "detachKeys": keys})
    with following_size(doc["Config"]["Tty"], resizer(client, f"/containers/{name}/resize")), \
            raw_mode(doc["Config"]["Tty"] and stdin):
        detached = pump(sock, rest, doc["Config"]["Tty"], stdin, keys)
    if detached:  # as docker attach: the escape sequence is its error, exit 1
        raise CLIError("read escape sequence", 1)
    state = client.get(f"/containers/{name}/json")["State"]
    if not state["Running"]:
        sys.exit(state["ExitCode"])


@click.command("exec", context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the background")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching")
@click.option("-e", "--env", multiple=True, help="Set environment variables")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY")
@click.option("-u", "--user", default=None, help="Username or UID")
@click.option("-w", "--workdir", default=None, help="Working directory inside the container")
@click.argument("name")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(ctx: click.Context, detach: bool, detach_keys: str | None, env: tuple[str, ...],
          interactive: bool, privileged: bool, tty: bool, user: str | None,
          workdir: str | None, name: str, command: tuple[str, ...]) -> None:
    """Execute a command in a running container."""
    if tty and interactive and not detach and not sys.stdin.isatty():
        raise CLIError("the input device is not a TTY", 1)
    client = client_of(ctx)
    body: dict[str, Any] = {"AttachStdin": interactive and not detach,
                            "AttachStdout": not detach, "AttachStderr": not detach,
                            "Tty": tty, "Cmd": list(command), "Privileged": privileged,
                            "Env": [e if "=" in e else f"{e}={os.environ.get(e, '')}"
                                    for e in env]}
    if user:
        body["User"] = user
    if workdir:
        body["WorkingDir"] = workdir
    keys = credentials.detach_keys(detach_keys)
    if keys:
        body["DetachKeys"] = keys
    if tty and size():
        body["ConsoleSize"] = list(size())  # type: ignore[arg-type]
    exec_id = client.post(f"/containers/{name}/exec", body=body)["Id"]
    if detach:
        client.request("POST", f"/exec/{exec_id}/start", body={"Detach": True, "Tty": tty}).read()
        return
    sock, rest, _ = client.hijack(f"/exec/{exec_id}/start", body={"Detach": False, "Tty": tty})
    with following_size(tty, resizer(client, f"/exec/{exec_id}/resize")), \
            raw_mode(tty and interactive):
        pump(sock, rest, tty, interactive)
    code = client.get(f"/exec/{exec_id}/json").get("ExitCode")
    sys.exit(code if code is not None else 0)
