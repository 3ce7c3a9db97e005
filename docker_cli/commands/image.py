"""Image commands: images, import, rmi, tag, history (and `image <verb>`)."""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import click

from shared.units import human_duration, human_size

from ..errors import CLIError
from ..formatting.table import echo_rows, format_rows, table
from ..lazy import LazyGroup
from ..options import filters_json
from . import client_of, for_each, print_deleted

IMAGE_HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
                 "CreatedSince": "CREATED", "Size": "SIZE"}
IMAGE_TITLES = {**IMAGE_HEADERS, "Digest": "DIGEST", "CreatedAt": "CREATED AT",
                "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE",
                "UniqueSize": "UNIQUE SIZE", "VirtualSize": "SIZE"}


def _rows(images: list[dict], trunc: bool) -> list[dict[str, Any]]:
    out = []
    for img in images:
        ident = img["Id"].split(":", 1)[1][:12] if trunc else img["Id"]
        tags = [t for t in img.get("RepoTags") or [] if t != "<none>:<none>"]
        digests = [d for d in img.get("RepoDigests") or [] if d != "<none>@<none>"]
        base = {"ID": ident, "CreatedSince": human_duration(time.time() - img["Created"]) + " ago",
                "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(img["Created"])),
                "Size": human_size(img.get("Size", 0)), "Containers": str(img.get("Containers", -1)),
                "Digest": digests[0].split("@", 1)[1] if digests else "<none>",
                # as the docker CLI's imageContext: N/A unless the daemon computed them
                "SharedSize": "N/A" if img.get("SharedSize", -1) == -1
                else human_size(img["SharedSize"]),
                "UniqueSize": "N/A" if img.get("SharedSize", -1) == -1 or img.get("Size", -1) == -1
                else human_size(img["Size"] - img["SharedSize"]),
                "VirtualSize": human_size(img.get("Size", 0), 4)}
        if not tags:
            out.append(dict(base, Repository=digests[0].split("@")[0] if digests else "<none>",
                            Tag="<none>"))
        for tag in tags:
            repo, _, name = tag.rpartition(":")
            out.append(dict(base, Repository=repo, Tag=name))
    return out


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show all images")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@click.option("--digests", is_flag=True, help="Show digests")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output")
@click.option("--format", "fmt", default=None, help="Format output using a Go template")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.argument("reference", required=False)
@click.pass_context
def images(ctx: click.Context, all_: bool, quiet: bool, digests: bool, filters: tuple[str, ...],
           fmt: str | None, no_trunc: bool, reference: str | None) -> None:
    """List images."""
    if fmt is None:
        from ..credentials import setting
        fmt = setting("imagesFormat")
    filters = filters + ((f"reference={reference}",) if reference else ())
    items = client_of(ctx).get("/images/json", params={
        "all": all_ or None, "filters": filters_json(filters), "digests": digests or None})
    trunc = not no_trunc
    rows = _rows(items, trunc)
    if quiet:  # an ID per row, as the docker CLI: an image tagged twice shows twice
        if rows:
            click.echo("\n".join(r["ID"] for r in rows))
        return
    headers = dict(IMAGE_HEADERS)
    if digests:
        headers = {"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
                   "CreatedSince": "CREATED", "Size": "SIZE"}
    if fmt and fmt != "table":
        echo_rows(format_rows(fmt, rows, headers, lambda r: r,
                              type_name="*formatter.imageContext", titles=IMAGE_TITLES))
        return
    click.echo(table(list(headers.values()), [[r[k] for k in headers] for r in rows]))


def _file_chunks(path: str) -> Iterator[bytes]:
    if path == "-":
        stream = sys.stdin.buffer
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                return
            yield chunk
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                return
            yield chunk


@click.command("import")
@click.option("-c", "--change", multiple=True, help="Apply Dockerfile instruction to the created image")
@click.option("-m", "--message", default=None, help="Set commit message for imported image")
@click.option("--platform", default=None, help="Set platform if server is multi-platform capable")
@click.argument("source")
@click.argument("reference", required=False)
@click.pass_context
def import_(ctx: click.Context, change: tuple[str, ...], message: str | None, platform: str | None,
            source: str, reference: str | None) -> None:
    """Import the contents from a tarball to create a filesystem image."""
    repo, tag = reference, None
    if reference and ":" in reference.rsplit("/", 1)[-1]:
        repo, _, tag = reference.rpartition(":")
    params = {"fromSrc": "-", "repo": repo, "tag": tag, "message": message,
              "platform": platform, "changes": list(change)}
    if source.startswith(("http://", "https://")):
        params["fromSrc"] = source
        body = None
    else:
        if source != "-":
            try:
                open(source, "rb").close()
            except OSError as exc:
                raise CLIError(f"open {source}: {(exc.strerror or str(exc)).lower()}", 1) from None
        body = _file_chunks(source)
    resp = client_of(ctx).request("POST", "/images/create", params=params, raw_body=body)
    for msg in resp.iter_json():
        if msg.get("error"):
            raise CLIError(msg["error"], 1)
        if msg.get("status"):
            click.echo(msg["status"])


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force removal of the image")
@click.option("--no-prune", is_flag=True, help="Do not delete untagged parents")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def rmi(ctx: click.Context, force: bool, no_prune: bool, names: tuple[str, ...]) -> None:
    """Remove one or more images."""
    def remove(client: Any, name: str) -> None:
        records = client.delete(f"/images/{name}", params={"force": force, "noprune": no_prune})
        for rec in records or []:
            if rec.get("Untagged"):
                click.echo(f"Untagged: {rec['Untagged']}")
            if rec.get("Deleted"):
                click.echo(f"Deleted: {rec['Deleted']}")
    for_each(ctx, names, remove)


@click.command()
@click.argument("source")
@click.argument("target")
@click.pass_context
def tag(ctx: click.Context, source: str, target: str) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    from shared import reference as refs
    try:
        refs.parse(target)
    except refs.ReferenceError as exc:
        raise CLIError(f'Error parsing reference: "{target}" is not a valid repository/tag: '
                       f"{exc}", 1) from None
    repo, tag_name = target, None
    if ":" in target.rsplit("/", 1)[-1]:
        repo, _, tag_name = target.rpartition(":")
    client_of(ctx).request("POST", f"/images/{source}/tag",
                           params={"repo": repo, "tag": tag_name}).read()


@click.command()
@click.option("-H", "--human", default=True, type=bool)
@click.option("-q", "--quiet", is_flag=True)
@click.option("--no-trunc", is_flag=True)
@click.option("--format", "fmt", default=None)
@click.argument("name")
@click.pass_context
def history(ctx: click.Context, human: bool, quiet: bool, no_trunc: bool, fmt: str | None,
            name: str) -> None:
    """Show the history of an image."""
    items = client_of(ctx).get(f"/images/{name}/history")
    rows = []
    for h in items:
        ident = h["Id"]
        if ident != "<missing>" and not no_trunc:
            ident = ident.split(":", 1)[-1][:12]
        created_by = h.get("CreatedBy", "")
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        rows.append({"ID": ident, "CreatedSince": human_duration(time.time() - h["Created"]) + " ago"
                     if h["Created"] else "N/A", "CreatedBy": created_by,
                     "Size": human_size(h["Size"]), "Comment": h.get("Comment", "")})
    if quiet:
        click.echo("\n".join(r["ID"] for r in rows))
        return
    headers = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedBy": "CREATED BY",
               "Size": "SIZE", "Comment": "COMMENT"}
    if fmt and fmt != "table":
        echo_rows(format_rows(fmt, rows, headers, lambda r: r,
                              type_name="*image.historyContext"))
        return
    click.echo(table(list(headers.values()), [[r[k] for k in headers] for r in rows]))


@click.group(cls=LazyGroup, lazy={"pull": "registry:pull", "push": "registry:push",
                                   "build": "build:build"})
def image() -> None:
    """Manage images."""


@click.command("inspect")
@click.option("-f", "--format", "fmt", default=None)
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def image_inspect(ctx: click.Context, fmt: str | None, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more images."""
    from .system import inspect as inspect_any
    ctx.invoke(inspect_any, fmt=fmt, kind="image", size=False, names=names)


for _cmd, _name in ((images, "ls"), (images, "list"), (import_, "import"), (rmi, "rm"),
                    (rmi, "remove"), (tag, "tag"), (history, "history"),
                    (image_inspect, "inspect")):
    image.add_command(_cmd, _name)


@click.command()
@click.option("-o", "--output", default=None, help="Write to a file, instead of STDOUT")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def save(ctx: click.Context, output: str | None, names: tuple[str, ...]) -> None:
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    if output is None and sys.stdout.isatty():
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect", 1)
    client = client_of(ctx)
    if len(names) == 1:
        resp = client.request("GET", f"/images/{names[0]}/get")
    else:
        resp = client.request("GET", "/images/get", params={"names": list(names)})
    target = open(output + ".tmp", "wb") if output else sys.stdout.buffer
    try:
        for chunk in resp.iter_chunks(1 << 20):
            target.write(chunk)
    except BaseException:
        if output:
            target.close()
            os.unlink(output + ".tmp")
        raise
    if output:
        target.close()
        os.replace(output + ".tmp", output)


@click.command()
@click.option("-i", "--input", "input_", default=None, help="Read from tar archive file")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output")
@click.pass_context
def load(ctx: click.Context, input_: str | None, quiet: bool) -> None:
    """Load an image from a tar archive or STDIN."""
    if input_ is None and sys.stdin.isatty():
        raise CLIError("requested load from stdin, but stdin is empty", 1)
    if input_ is not None:
        try:
            open(input_, "rb").close()
        except OSError as exc:
            raise CLIError(f"open {input_}: {(exc.strerror or str(exc)).lower()}", 1) from None
    resp = client_of(ctx).request("POST", "/images/load", params={"quiet": quiet},
                                  raw_body=_file_chunks(input_ or "-"))
    for msg in resp.iter_json():
        if msg.get("error"):
            raise CLIError(msg["error"], 1)
        if msg.get("stream"):
            sys.stdout.write(msg["stream"])


def deleted_image_lines(records: list[dict[str, str]] | None) -> list[str]:
    """`untagged: …` and `deleted: …` lines of an image removal's records."""
    return [f"{key.lower()}: {rec[key]}" for rec in records or []
            for key in ("Untagged", "Deleted") if rec.get(key)]


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images, not just dangling ones")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=<timestamp>')")
@click.pass_context
def prune(ctx: click.Context, all_: bool, force: bool, filters: tuple[str, ...]) -> None:
    """Remove unused images."""
    if not force:
        warning = ("WARNING! This will remove all images without at least one container "
                   "associated to them." if all_ else "WARNING! This will remove all dangling "
                   "images.")
        if not click.confirm(warning + "\nAre you sure you want to continue?", default=False):
            return
    values = list(filters) + ([] if all_ else ["dangling=true"])
    if all_:
        values.append("dangling=false")
    report = client_of(ctx).post("/images/prune", params={"filters": filters_json(values)})
    print_deleted("Deleted Images:", deleted_image_lines(report.get("ImagesDeleted")))
    click.echo(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed', 0))}")


image.add_command(save, "save")
image.add_command(load, "load")
image.add_command(prune, "prune")
