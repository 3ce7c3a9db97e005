"""`ps` and `container inspect`."""
from __future__ import annotations

import json
import time
from typing import Any

import click

from shared.units import human_duration

from ...formatting.table import format_rows, join_host_port, table
from ...options import filters_json
from .. import client_of


def _ellipsis(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _ports(ports: list[dict]) -> str:
    """The PORTS column as the Docker CLI draws it: runs of consecutive ports
    grouped (exposed ones, and those published on the same port number), then
    the other published ones, each in (private port, IP, public port) order."""
    def order(p: dict) -> tuple:
        return (p.get("PrivatePort", 0), p.get("IP", ""), p.get("PublicPort", 0),
                p.get("Type", ""))
    groups: dict[tuple[str, str], list[list[int]]] = {}   # (ip, proto) -> [first, last] runs
    mappings = []
    for p in sorted(ports or [], key=order):
        private, ip, proto = p["PrivatePort"], p.get("IP", ""), p["Type"]
        if ip and p.get("PublicPort") != private:
            mappings.append(f"{join_host_port(ip, p['PublicPort'])}->{private}/{proto}")
            continue
        runs = groups.setdefault((ip, proto), [])
        if runs and runs[-1][1] + 1 == private:
            runs[-1][1] = private
        else:
            runs.append([private, private])
    grouped = []
    for (ip, proto), runs in groups.items():
        for first, last in runs:
            span = str(first) if first == last else f"{first}-{last}"
            grouped.append(f"{join_host_port(ip, span)}->{span}/{proto}" if ip
                           else f"{span}/{proto}")
    return ", ".join(grouped + mappings)


def _ps_view(c: dict, trunc: bool) -> dict[str, Any]:
    command = c["Command"].replace("\n", " ")
    names = [n.lstrip("/") for n in c["Names"] if n.count("/") == 1]
    view = {
        "ID": c["Id"][:12] if trunc else c["Id"],
        "Image": c["Image"] if not trunc or not c["Image"].startswith("sha256:")
        else c["Image"][7:19],
        "Command": json.dumps(_ellipsis(command, 20) if trunc else command, ensure_ascii=False),
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(c["Created"])),
        "RunningFor": human_duration(time.time() - c["Created"]) + " ago",
        "Ports": _ports(c.get("Ports") or []),
        "State": c["State"], "Status": c["Status"], "Names": ",".join(names),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted((c.get("Labels") or {}).items())),
        "Label": lambda key, labels=dict(c.get("Labels") or {}): labels.get(key, ""),
        "Mounts": ",".join(m.get("Name") or m.get("Source", "") for m in c.get("Mounts") or []),
        "Networks": ",".join(sorted((c.get("NetworkSettings") or {}).get("Networks") or {})),
    }
    if "SizeRw" in c:
        from shared.units import human_size
        view["Size"] = (f"{human_size(c.get('SizeRw', 0))} (virtual "
                        f"{human_size(c.get('SizeRootFs', 0))})")
    return view


EMPTY_CONTAINER = {"Id": "", "Image": "", "Command": "", "Created": 0, "Names": [],
                   "State": "", "Status": ""}
PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
              "RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES"}


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes")
@click.option("-n", "--last", default=-1, type=int, help="Show n last created containers")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output")
@click.option("--format", "fmt", default=None, help="Format output using a Go template")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.pass_context
def ps(ctx: click.Context, all_: bool, quiet: bool, size: bool, last: int, latest: bool,
       filters: tuple[str, ...], fmt: str | None, no_trunc: bool) -> None:
    """List containers."""
    if fmt is None:
        from ...credentials import setting
        fmt = setting("psFormat")
    limit = 1 if latest else last
    items = client_of(ctx).get("/containers/json", params={
        "all": all_ or None, "limit": limit if limit > 0 else None, "size": size or None,
        "filters": filters_json(filters)})
    trunc = not no_trunc
    if quiet:
        for c in items:
            click.echo(c["Id"][:12] if trunc else c["Id"])
        return
    if fmt and fmt != "table":
        click.echo(format_rows(fmt, items, PS_HEADERS, lambda c: _ps_view(c, trunc),
                               sample=EMPTY_CONTAINER, type_name="*formatter.ContainerContext"))
        return
    headers = dict(PS_HEADERS)
    if size:
        headers["Size"] = "SIZE"
    rows = [[_ps_view(c, trunc)[k] for k in headers] for c in items]
    click.echo(table(list(headers.values()), rows))


@click.command("inspect")
@click.option("-f", "--format", "fmt", default=None)
@click.option("-s", "--size", is_flag=True)
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def container_inspect(ctx: click.Context, fmt: str | None, size: bool,
                      names: tuple[str, ...]) -> None:
    """Display detailed information on one or more containers."""
    from ..system import inspect as inspect_any
    ctx.invoke(inspect_any, fmt=fmt, kind="container", size=size, names=names)
