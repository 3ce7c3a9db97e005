"""top, stats, port."""
from __future__ import annotations

import time
from typing import Any

import click

from shared.units import bytes_size, human_size

from ...errors import CLIError
from ...formatting.table import format_rows, join_host_port, natural_key, table
from .. import client_of


@click.command(context_settings={"ignore_unknown_options": True,
                                 "allow_interspersed_args": False})
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
    if fmt is None:
        from ...credentials import setting
        fmt = setting("statsFormat")
    client = client_of(ctx)
    if not names:
        names = tuple(c["Id"] for c in client.get("/containers/json", params={"all": all_ or None}))
    while True:
        rows = []
        for name in names:
            doc = client.get(f"/containers/{name}/stats", params={"stream": False})
            rows.append(_stats_row(doc))
        if fmt and fmt != "table":
            out = format_rows(fmt, rows, STATS_HEADERS, lambda r: r,
                              type_name="*container.statsContext") or ""
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
    asked = private
    if private and "/" not in private:
        private += "/tcp"
    lines = []
    for key in ports:
        if private and key != private:
            continue
        for binding in ports[key] or []:
            host = binding.get("HostIp") or "0.0.0.0"
            addr = join_host_port(host, binding["HostPort"])
            lines.append(addr if private else f"{key} -> {addr}")
    found = bool(lines)
    for line in sorted(lines, key=natural_key):  # the Docker CLI's natural order
        click.echo(line)
    if private and not found:
        raise CLIError(f"Error: No public port '{asked}' published for {name}", 1)
