"""exec, cp, top, stats, port, rename, update, container prune."""
from __future__ import annotations

import base64
import io
import json
import os
import sys
import tarfile
import time
from typing import Any

import click

from shared.units import bytes_size, human_size

from ..errors import APIError, CLIError
from ..formatting.table import format_rows, table
from ..streams import pump
from ..tty import raw_mode, size
from . import client_of
from .container import _each, _ram, _restart, filters_json


# -- exec -------------------------------------------------------------------------
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
    if detach_keys:
        body["DetachKeys"] = detach_keys
    if tty and size():
        body["ConsoleSize"] = list(size())  # type: ignore[arg-type]
    exec_id = client.post(f"/containers/{name}/exec", body=body)["Id"]
    if detach:
        client.request("POST", f"/exec/{exec_id}/start", body={"Detach": True, "Tty": tty}).read()
        return
    sock, rest, _ = client.hijack(f"/exec/{exec_id}/start", body={"Detach": False, "Tty": tty})
    if tty and size():
        rows, cols = size()  # type: ignore[misc]
        try:
            client.request("POST", f"/exec/{exec_id}/resize", params={"h": rows, "w": cols}).read()
        except CLIError:
            pass
    with raw_mode(tty and interactive):
        pump(sock, rest, tty, interactive)
    code = client.get(f"/exec/{exec_id}/json").get("ExitCode")
    sys.exit(code if code is not None else 0)


# -- cp -----------------------------------------------------------------------------
def _split(spec: str) -> tuple[str | None, str]:
    """`CONTAINER:PATH` or a local path (a path with a slash before any colon)."""
    if spec == "-" or spec.startswith((".", "/")):
        return None, spec
    name, sep, path = spec.partition(":")
    if not sep:
        return None, spec
    return name, path


def _stat(client: Any, name: str, path: str) -> dict[str, Any] | None:
    resp = client.request("HEAD", f"/containers/{name}/archive", params={"path": path},
                          check=False)
    resp.read()
    if resp.status == 404:
        return None
    if resp.status >= 400:
        raise APIError(resp.status, f"Could not find the file {path} in container {name}")
    return json.loads(base64.b64decode(resp.headers.get("X-Docker-Container-Path-Stat", "e30=")))


def _tar_local(src: str, arcname: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if src.rstrip("/").endswith("/.") and os.path.isdir(src):
            for entry in sorted(os.listdir(src)):
                tar.add(os.path.join(src, entry), entry)
        else:
            tar.add(src, arcname)
    return buf.getvalue()


def _copy_in(client: Any, src: str, name: str, dest: str, copy_uid_gid: bool) -> None:
    if src == "-":
        data = sys.stdin.buffer.read()
        client.request("PUT", f"/containers/{name}/archive",
                       params={"path": dest, "copyUIDGID": copy_uid_gid}, raw_body=data).read()
        return
    if not os.path.lexists(src):
        raise CLIError(f"lstat {os.path.abspath(src)}: no such file or directory", 1)
    info = _stat(client, name, dest)
    if info is not None and info["mode"] & (1 << 31):  # an existing directory
        target_dir, arcname = dest, os.path.basename(src.rstrip("/")) or "."
    else:
        if info is not None and os.path.isdir(src):
            raise CLIError(f"cannot copy directory to non-directory: {dest}", 1)
        if dest.endswith("/"):
            raise CLIError(f"Error response from daemon: Could not find the file {dest} in "
                           f"container {name}", 1)
        target_dir, arcname = os.path.dirname(dest.rstrip("/")) or "/", os.path.basename(dest)
    client.request("PUT", f"/containers/{name}/archive",
                   params={"path": target_dir, "copyUIDGID": copy_uid_gid},
                   raw_body=_tar_local(src, arcname)).read()


def _copy_out(client: Any, name: str, src: str, dest: str, follow: bool) -> None:
    info = _stat(client, name, src)
    if info is None:
        raise CLIError(f"Error response from daemon: Could not find the file {src} in "
                       f"container {name}", 1)
    if follow and info.get("linkTarget"):
        src = info["linkTarget"]
    resp = client.request("GET", f"/containers/{name}/archive", params={"path": src})
    data = resp.read()
    if dest == "-":
        sys.stdout.buffer.write(data)
        return
    base = os.path.basename(src.rstrip("/")) or "/"
    if os.path.isdir(dest):
        target, rename = dest, None
    else:
        parent = os.path.dirname(os.path.abspath(dest))
        if not os.path.isdir(parent):
            raise CLIError(f"invalid output path: directory {parent!r} does not exist", 1)
        target, rename = parent, os.path.basename(dest)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        if rename is not None:
            for member in members:
                if member.name == base or member.name.startswith(base + "/"):
                    member.name = rename + member.name[len(base):]
        tar.extractall(target, members=members, filter="tar")


@click.command()
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information)")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in SRC_PATH")
@click.argument("source")
@click.argument("destination")
@click.pass_context
def cp(ctx: click.Context, archive: bool, follow_link: bool, source: str,
       destination: str) -> None:
    """Copy files/folders between a container and the local filesystem."""
    client = client_of(ctx)
    src_ctr, src = _split(source)
    dst_ctr, dst = _split(destination)
    if (src_ctr is None) == (dst_ctr is None):
        raise CLIError("copying between containers is not supported" if src_ctr else
                       "must specify at least one container source", 1)
    if dst_ctr is not None:
        _copy_in(client, src, dst_ctr, dst, archive)
    else:
        assert src_ctr is not None
        _copy_out(client, src_ctr, src, dst, follow_link)


# -- top, stats, port ------------------------------------------------------------------
@click.command()
@click.argument("name")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def top(ctx: click.Context, name: str, ps_args: tuple[str, ...]) -> None:
    """Display the running processes of a container."""
    doc = client_of(ctx).get(f"/containers/{name}/top",
                             params={"ps_args": " ".join(ps_args) or None})
    click.echo(table(doc["Titles"], doc["Processes"]))


def _stats_row(doc: dict[str, Any]) -> dict[str, str]:
    cpu, pre = doc.get("cpu_stats") or {}, doc.get("precpu_stats") or {}
    total = (cpu.get("cpu_usage") or {}).get("total_usage", 0)
    pre_total = (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cpu.get("online_cpus") or 1
    percent = (total - pre_total) / system * cpus * 100 if system > 0 and pre_total else 0.0
    mem = doc.get("memory_stats") or {}
    stats = mem.get("stats") or {}
    usage = mem.get("usage", 0)
    inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0))
    if inactive < usage:
        usage -= inactive
    limit = mem.get("limit", 0)
    nets = doc.get("networks") or {}
    rx = sum(n.get("rx_bytes", 0) for n in nets.values())
    tx = sum(n.get("tx_bytes", 0) for n in nets.values())
    blk = (doc.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    read = sum(e["value"] for e in blk if e.get("op", "").lower() == "read")
    write = sum(e["value"] for e in blk if e.get("op", "").lower() == "write")
    return {"ID": doc.get("id", "")[:12], "Name": doc.get("name", "").lstrip("/"),
            "CPUPerc": f"{percent:.2f}%",
            "MemUsage": f"{bytes_size(usage)} / {bytes_size(limit)}",
            "MemPerc": f"{usage / limit * 100:.2f}%" if limit else "0.00%",
            "NetIO": f"{human_size(rx)} / {human_size(tx)}",
            "BlockIO": f"{human_size(read)} / {human_size(write)}",
            "PIDs": str((doc.get("pids_stats") or {}).get("current", 0))}


STATS_HEADERS = {"ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
                 "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
                 "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull the first result")
@click.option("--no-trunc", is_flag=True)
@click.option("--format", "fmt", default=None)
@click.argument("names", nargs=-1)
@click.pass_context
def stats(ctx: click.Context, all_: bool, no_stream: bool, no_trunc: bool, fmt: str | None,
          names: tuple[str, ...]) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    client = client_of(ctx)
    if not names:
        names = tuple(c["Id"] for c in client.get("/containers/json", params={"all": all_ or None}))
    while True:
        rows = []
        for name in names:
            doc = client.get(f"/containers/{name}/stats", params={"stream": False})
            rows.append(_stats_row(doc))
        if fmt and fmt != "table":
            out = format_rows(fmt, rows, STATS_HEADERS, lambda r: r)
        else:
            out = table(list(STATS_HEADERS.values()), [[r[k] for k in STATS_HEADERS] for r in rows])
        if no_stream:
            click.echo(out)
            return
        click.echo("\033[2J\033[H" + out)
        time.sleep(0.5)


@click.command()
@click.argument("name")
@click.argument("private", required=False)
@click.pass_context
def port(ctx: click.Context, name: str, private: str | None) -> None:
    """List port mappings or a specific mapping for the container."""
    ports = client_of(ctx).get(f"/containers/{name}/json")["NetworkSettings"].get("Ports") or {}
    if private and "/" not in private:
        private += "/tcp"
    found = False
    for key in sorted(ports):
        if private and key != private:
            continue
        for binding in ports[key] or []:
            found = True
            host = binding.get("HostIp") or "0.0.0.0"
            addr = f"[{host}]" if ":" in host else host
            click.echo(f"{addr}:{binding['HostPort']}" if private else
                       f"{key} -> {addr}:{binding['HostPort']}")
    if private and not found:
        raise CLIError(f"Error: No public port '{private}' published for {name}", 1)


# -- rename, update, prune ------------------------------------------------------------
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
        "CpusetCpus": opts["cpuset_cpus"], "Memory": _ram(opts["memory"], "--memory"),
        "MemoryReservation": _ram(opts["memory_reservation"], "--memory-reservation"),
        "MemorySwap": _ram(opts["memory_swap"], "--memory-swap"),
        "PidsLimit": opts["pids_limit"], "RestartPolicy": _restart(opts["restart"])}.items()
        if v is not None}
    def apply(client: Any, name: str) -> None:
        result = client.post(f"/containers/{name}/update", body=body)
        for warning in (result or {}).get("Warnings") or []:
            click.echo(f"WARNING: {warning}", err=True)
    _each(ctx, names, apply)


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
    deleted = report.get("ContainersDeleted") or []
    if deleted:
        click.echo("Deleted Containers:")
        for cid in deleted:
            click.echo(cid)
        click.echo()
    click.echo(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed', 0))}")

