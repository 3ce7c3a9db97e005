"""start, stop, restart, kill, rm, wait, pause, unpause, rename, update, prune."""
from __future__ import annotations

import sys
from typing import Any

import click

from shared.units import human_size

from ...errors import APIError
from ...options import filters_json, ram_flag, restart_policy
from ...streams import pump
from ...tty import following_size, raw_mode, resizer
from .. import client_of, for_each, for_each_echo, print_deleted


@click.command()
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a container")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def start(ctx: click.Context, attach: bool, interactive: bool, detach_keys: str | None,
          names: tuple[str, ...]) -> None:
    """Start one or more stopped containers."""
    if not (attach or interactive):
        def act(client: Any, name: str) -> None:
            resp = client.request("POST", f"/containers/{name}/start", check=False)
            if resp.status >= 400 and resp.status != 304:
                raise APIError.from_response(resp.status, resp.read())
            resp.read()
        for_each_echo(ctx, names, act)
        return
    client = client_of(ctx)
    doc = client.get(f"/containers/{names[0]}/json")
    tty = doc["Config"]["Tty"]
    from ...credentials import detach_keys as keys_of
    keys = keys_of(detach_keys)
    sock, rest, _ = client.hijack(f"/containers/{names[0]}/attach", params={
        "stream": 1, "stdin": int(interactive), "stdout": 1, "stderr": 1,
        "detachKeys": keys})
    wait = client.request("POST", f"/containers/{names[0]}/wait", params={"condition": "next-exit"})
    client.request("POST", f"/containers/{names[0]}/start").read()
    with following_size(tty, resizer(client, f"/containers/{names[0]}/resize")), \
            raw_mode(tty and interactive):
        if pump(sock, rest, tty, interactive, keys):
            return  # detached: the container goes on
    sys.exit(int((wait.json() or {}).get("StatusCode", 0)))


@click.command()
@click.option("-t", "--time", "timeout", default=None, type=int, help="Seconds to wait before killing")
@click.option("-s", "--signal", "sig", default=None, help="Signal to send to the container")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def stop(ctx: click.Context, timeout: int | None, sig: str | None, names: tuple[str, ...]) -> None:
    """Stop one or more running containers."""
    def act(client: Any, name: str) -> None:
        resp = client.request("POST", f"/containers/{name}/stop",
                              params={"t": timeout, "signal": sig}, check=False)
        if resp.status >= 400:
            raise APIError.from_response(resp.status, resp.read())
        resp.read()
    for_each_echo(ctx, names, act)


@click.command()
@click.option("-t", "--time", "timeout", default=None, type=int)
@click.option("-s", "--signal", "sig", default=None)
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def restart(ctx: click.Context, timeout: int | None, sig: str | None, names: tuple[str, ...]) -> None:
    """Restart one or more containers."""
    for_each_echo(ctx, names, lambda c, n: c.request(
        "POST", f"/containers/{n}/restart", params={"t": timeout, "signal": sig}).read())


@click.command()
@click.option("-s", "--signal", "sig", default=None, help="Signal to send to the container")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def kill(ctx: click.Context, sig: str | None, names: tuple[str, ...]) -> None:
    """Kill one or more running containers."""
    for_each_echo(ctx, names, lambda c, n: c.request(
        "POST", f"/containers/{n}/kill", params={"signal": sig}).read())


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, force: bool, volumes: bool, names: tuple[str, ...]) -> None:
    """Remove one or more containers."""
    def remove(client: Any, name: str) -> None:
        try:
            client.request("DELETE", f"/containers/{name}",
                           params={"force": force, "v": volumes}).read()
        except APIError as exc:
            if force and exc.http_status == 404:  # as docker: said, but not a failure
                print(exc.message, file=sys.stderr)
                return
            raise
        click.echo(name)
    for_each(ctx, names, remove)


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def wait(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    for_each(ctx, names, lambda c, n: click.echo(c.post(f"/containers/{n}/wait")["StatusCode"]))


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def pause(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Pause all processes within one or more containers."""
    for_each_echo(ctx, names, lambda c, n: c.request("POST", f"/containers/{n}/pause").read())


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def unpause(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Unpause all processes within one or more containers."""
    for_each_echo(ctx, names, lambda c, n: c.request("POST", f"/containers/{n}/unpause").read())


@click.command()
@click.argument("name")
@click.argument("new_name")
@click.pass_context
def rename(ctx: click.Context, name: str, new_name: str) -> None:
    """Rename a container."""
    client_of(ctx).request("POST", f"/containers/{name}/rename", params={"name": new_name}).read()


@click.command()
@click.option("--blkio-weight", type=int, default=None)
@click.option("--cpu-period", type=int, default=None)
@click.option("--cpu-quota", type=int, default=None)
@click.option("-c", "--cpu-shares", type=int, default=None)
@click.option("--cpus", type=float, default=None)
@click.option("--cpuset-cpus", default=None)
@click.option("-m", "--memory", default=None)
@click.option("--memory-reservation", default=None)
@click.option("--memory-swap", default=None)
@click.option("--pids-limit", type=int, default=None)
@click.option("--restart", default=None)
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def update(ctx: click.Context, names: tuple[str, ...], **opts: Any) -> None:
    """Update configuration of one or more containers."""
    body = {k: v for k, v in {
        "BlkioWeight": opts["blkio_weight"], "CpuPeriod": opts["cpu_period"],
        "CpuQuota": opts["cpu_quota"], "CpuShares": opts["cpu_shares"],
        "NanoCpus": int(opts["cpus"] * 1e9) if opts["cpus"] is not None else None,
        "CpusetCpus": opts["cpuset_cpus"], "Memory": ram_flag(opts["memory"], "-m, --memory"),
        "MemoryReservation": ram_flag(opts["memory_reservation"], "--memory-reservation"),
        "MemorySwap": ram_flag(opts["memory_swap"], "--memory-swap"),
        "PidsLimit": opts["pids_limit"], "RestartPolicy": restart_policy(opts["restart"])}.items()
        if v is not None}

    def apply(client: Any, name: str) -> None:
        result = client.post(f"/containers/{name}/update", body=body)
        for warning in (result or {}).get("Warnings") or []:
            click.echo(f"WARNING: {warning}", err=True)
    for_each_echo(ctx, names, apply)


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True)
@click.pass_context
def prune(ctx: click.Context, force: bool, filters: tuple[str, ...]) -> None:
    """Remove all stopped containers."""
    if not force and not click.confirm("WARNING! This will remove all stopped containers.\n"
                                       "Are you sure you want to continue?", default=False):
        return
    report = client_of(ctx).post("/containers/prune", params={"filters": filters_json(filters)})
    print_deleted("Deleted Containers:", report.get("ContainersDeleted"))
    click.echo(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed', 0))}")
