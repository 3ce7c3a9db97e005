"""The `system` group: df, prune, and the long forms of info and events."""
from __future__ import annotations

from typing import Any

import click

from shared.units import human_size

from ..formatting.table import echo_rows, format_rows, table
from ..options import filters_json
from . import client_of, print_deleted
from .image import deleted_image_lines
from .system import events, info

DF_HEADERS = ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]


def _percent(part: int, whole: int) -> str:
    return f"{human_size(part)} ({int(part * 100 / whole) if whole else 0}%)"


@click.command()
@click.option("-v", "--verbose", is_flag=True, help="Show detailed information on space usage")
@click.option("--format", "fmt", default=None, help="Format output using a Go template")
@click.pass_context
def df(ctx: click.Context, verbose: bool, fmt: str | None) -> None:
    """Show docker disk usage."""
    doc = client_of(ctx).get("/system/df")
    images = doc.get("Images") or []
    containers = doc.get("Containers") or []
    volumes = doc.get("Volumes") or []
    cache = doc.get("BuildCache") or []
    image_size = doc.get("LayersSize", 0)
    used_images = [i for i in images if i.get("Containers", 0) > 0]
    shared = sum(i.get("Size", 0) for i in used_images)
    running = [c for c in containers if c.get("State") == "running"]
    ctr_size = sum(c.get("SizeRw", 0) for c in containers)
    idle_ctr = sum(c.get("SizeRw", 0) for c in containers if c.get("State") != "running")
    vol_size = sum(max((v.get("UsageData") or {}).get("Size", 0), 0) for v in volumes)
    vol_active = [v for v in volumes if (v.get("UsageData") or {}).get("RefCount", 0) > 0]
    idle_vol = sum(max((v.get("UsageData") or {}).get("Size", 0), 0) for v in volumes
                   if v not in vol_active)
    rows = [["Images", str(len(images)), str(len(used_images)), human_size(image_size),
             _percent(max(image_size - shared, 0), image_size)],
            ["Containers", str(len(containers)), str(len(running)), human_size(ctr_size),
             _percent(idle_ctr, ctr_size)],
            ["Local Volumes", str(len(volumes)), str(len(vol_active)), human_size(vol_size),
             _percent(idle_vol, vol_size)],
            ["Build Cache", str(len(cache)), "0",
             human_size(sum(c.get("Size", 0) for c in cache)),
             human_size(sum(c.get("Size", 0) for c in cache if not c.get("InUse")))]]
    if fmt and fmt != "table":
        keys = ["Type", "TotalCount", "Active", "Size", "Reclaimable"]
        echo_rows(format_rows(fmt, [dict(zip(keys, row, strict=True)) for row in rows],
                               dict(zip(keys, DF_HEADERS, strict=True)), lambda r: r,
                               type_name="*formatter.diskUsageImagesContext"))
        return
    click.echo(table(DF_HEADERS, rows))
    if verbose:
        click.echo("\nLocal Volumes space usage:\n")
        click.echo(table(["VOLUME NAME", "LINKS", "SIZE"],
                         [[v["Name"], str((v.get("UsageData") or {}).get("RefCount", 0)),
                           human_size(max((v.get("UsageData") or {}).get("Size", 0), 0))]
                          for v in volumes]))


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images not just dangling ones")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--volumes", is_flag=True, help="Prune anonymous volumes")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'label=<key>=<value>')")
@click.pass_context
def prune(ctx: click.Context, all_: bool, force: bool, volumes: bool,
          filters: tuple[str, ...]) -> None:
    """Remove unused data."""
    if not force:
        lines = ["WARNING! This will remove:", "  - all stopped containers",
                 "  - all networks not used by at least one container"]
        if volumes:
            lines.append("  - all anonymous volumes not used by at least one container")
        lines.append("  - all images without at least one container associated to them"
                     if all_ else "  - all dangling images")
        lines.append("  - unused build cache")
        if not click.confirm("\n".join(lines) + "\n\nAre you sure you want to continue?",
                             default=False):
            return
    client = client_of(ctx)
    params = {"filters": filters_json(filters)}
    reclaimed = 0
    report: dict[str, Any] = client.post("/containers/prune", params=params)
    print_deleted("Deleted Containers:", report.get("ContainersDeleted"))
    reclaimed += report.get("SpaceReclaimed", 0)
    report = client.post("/networks/prune", params=params)
    print_deleted("Deleted Networks:", report.get("NetworksDeleted"))
    if volumes:
        report = client.post("/volumes/prune", params=params)
        print_deleted("Deleted Volumes:", report.get("VolumesDeleted"))
        reclaimed += report.get("SpaceReclaimed", 0)
    image_filters = list(filters) + (["dangling=false"] if all_ else ["dangling=true"])
    report = client.post("/images/prune", params={"filters": filters_json(image_filters)})
    print_deleted("Deleted Images:", deleted_image_lines(report.get("ImagesDeleted")))
    reclaimed += report.get("SpaceReclaimed", 0)
    click.echo(f"Total reclaimed space: {human_size(reclaimed)}")


@click.group()
def system() -> None:
    """Manage Docker."""


for _cmd, _name in ((df, "df"), (prune, "prune"), (info, "info"), (events, "events")):
    system.add_command(_cmd, _name)
