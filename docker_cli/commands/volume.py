"""The `volume` group: create, ls, inspect, rm, prune."""
from __future__ import annotations

from typing import Any

import click

from shared.units import human_size

from ..errors import CLIError
from ..formatting.table import echo_rows, format_rows, table
from ..options import filters_json, parse_labels
from . import client_of, for_each, print_deleted

VOLUME_HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME"}


VOLUME_TITLES = {**VOLUME_HEADERS, "Mountpoint": "MOUNTPOINT", "Scope": "SCOPE",
                 "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Group": "GROUP",
                 "Availability": "AVAILABILITY", "Status": "STATUS"}


def _view(vol: dict[str, Any]) -> dict[str, Any]:
    """A row as the docker CLI's volumeContext has it (N/A where the daemon gave
    no usage data, and for the cluster volumes' fields)."""
    usage = vol.get("UsageData")
    return {"Driver": vol["Driver"], "Name": vol["Name"], "Mountpoint": vol["Mountpoint"],
            "Scope": vol.get("Scope", "local"),
            "Labels": ",".join(f"{k}={v}" for k, v in (vol.get("Labels") or {}).items()),
            "Links": str(usage["RefCount"]) if usage else "N/A",
            "Size": human_size(usage["Size"]) if usage else "N/A",
            "Group": "N/A", "Availability": "N/A", "Status": "N/A"}


@click.command()
@click.option("-d", "--driver", default="local", help="Specify volume driver name")
@click.option("-o", "--opt", multiple=True, help="Set driver specific options")
@click.option("--label", multiple=True, help="Set metadata for a volume")
@click.option("--name", "name_opt", default=None, help="Specify volume name")
@click.argument("name", required=False)
@click.pass_context
def create(ctx: click.Context, driver: str, opt: tuple[str, ...], label: tuple[str, ...],
           name_opt: str | None, name: str | None) -> None:
    """Create a volume."""
    if name and name_opt and name != name_opt:
        raise CLIError("conflicting options: either specify --name or provide positional "
                       "arg, not both", 1)
    doc = client_of(ctx).post("/volumes/create", body={
        "Name": name or name_opt or "", "Driver": driver, "DriverOpts": parse_labels(opt),
        "Labels": parse_labels(label)})
    click.echo(doc["Name"])


@click.command("ls")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values")
@click.option("--format", "fmt", default=None, help="Format output using a Go template")
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names")
@click.pass_context
def ls(ctx: click.Context, filters: tuple[str, ...], fmt: str | None, quiet: bool) -> None:
    """List volumes."""
    vols = client_of(ctx).get("/volumes", params={"filters": filters_json(filters)})
    vols = sorted(vols.get("Volumes") or [], key=lambda v: v["Name"])
    if quiet:
        for vol in vols:
            click.echo(vol["Name"])
    elif fmt:
        echo_rows(format_rows(fmt, vols, VOLUME_HEADERS, _view,
                              type_name="*formatter.volumeContext", titles=VOLUME_TITLES))
    else:
        rows = [_view(v) for v in vols]
        click.echo(table(list(VOLUME_HEADERS.values()), [[r[k] for k in VOLUME_HEADERS]
                                                          for r in rows]))


@click.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format output using a Go template")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect(ctx: click.Context, fmt: str | None, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more volumes."""
    from .system import inspect_each
    inspect_each(ctx, names, "/volumes/{name}", fmt)


@click.command("rm")
@click.option("-f", "--force", is_flag=True, help="Force the removal of one or more volumes")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, force: bool, names: tuple[str, ...]) -> None:
    """Remove one or more volumes."""
    def remove(client: Any, name: str) -> None:
        client.request("DELETE", f"/volumes/{name}", params={"force": force or None}).read()
        click.echo(name)
    for_each(ctx, names, remove)


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused volumes, not just anonymous ones")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'label=<label>')")
@click.pass_context
def prune(ctx: click.Context, all_: bool, force: bool, filters: tuple[str, ...]) -> None:
    """Remove unused local volumes."""
    if not force and not click.confirm("WARNING! This will remove anonymous local volumes not "
                                       "used by at least one container.\nAre you sure you want "
                                       "to continue?", default=False):
        return
    values = list(filters) + (["all=true"] if all_ else [])
    report = client_of(ctx).post("/volumes/prune", params={"filters": filters_json(values)})
    print_deleted("Deleted Volumes:", report.get("VolumesDeleted"))
    click.echo(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed', 0))}")


@click.group()
def volume() -> None:
    """Manage volumes."""


for _cmd, _name in ((create, "create"), (ls, "ls"), (ls, "list"), (inspect, "inspect"),
                    (rm, "rm"), (rm, "remove"), (prune, "prune")):
    volume.add_command(_cmd, _name)
