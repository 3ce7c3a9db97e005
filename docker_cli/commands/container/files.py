"""commit, diff, export, cp: a container's files."""
from __future__ import annotations

import base64
import io
import json
import os
import sys
import tarfile
from typing import Any

import click

from ...errors import APIError, CLIError
from .. import client_of


@click.command()
@click.option("-a", "--author", default="", help="Author")
@click.option("-c", "--change", multiple=True, help="Apply Dockerfile instruction to the created image")
@click.option("-m", "--message", default="", help="Commit message")
@click.option("-p/--no-pause", "--pause/--no-pause", "pause", default=True,
              help="Pause container during commit")
@click.argument("name")
@click.argument("reference", required=False)
@click.pass_context
def commit(ctx: click.Context, author: str, change: tuple[str, ...], message: str, pause: bool,
           name: str, reference: str | None) -> None:
    """Create a new image from a container's changes."""
    repo, tag = reference, None
    if reference and ":" in reference.rsplit("/", 1)[-1]:
        repo, _, tag = reference.rpartition(":")
    result = client_of(ctx).post("/commit", params={
        "container": name, "repo": repo, "tag": tag, "author": author, "comment": message,
        "changes": list(change), "pause": pause})
    click.echo(result["Id"])


@click.command()
@click.argument("name")
@click.pass_context
def diff(ctx: click.Context, name: str) -> None:
    """Inspect changes to files or directories on a container's filesystem."""
    kinds = {0: "C", 1: "A", 2: "D"}
    for change in client_of(ctx).get(f"/containers/{name}/changes") or []:
        click.echo(f"{kinds.get(change['Kind'], '?')} {change['Path']}")


@click.command()
@click.option("-o", "--output", default=None, help="Write to a file, instead of STDOUT")
@click.argument("name")
@click.pass_context
def export(ctx: click.Context, output: str | None, name: str) -> None:
    """Export a container's filesystem as a tar archive."""
    if output is None and sys.stdout.isatty():
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect", 1)
    resp = client_of(ctx).request("GET", f"/containers/{name}/export")
    target = open(output, "wb") if output else sys.stdout.buffer
    try:
        for chunk in resp.iter_chunks(1 << 20):
            target.write(chunk)
    finally:
        if output:
            target.close()


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
        client.get(f"/containers/{name}/json")  # a missing container says so, as docker
        return None
    if resp.status >= 400:
        raise APIError(resp.status, f"Could not find the file {path} in container {name}")
    return json.loads(base64.b64decode(resp.headers.get("X-Docker-Container-Path-Stat", "e30=")))


def _tar_local(src: str, arcname: str) -> bytes:
    """The archive the docker CLI sends: times in whole seconds (no PAX record for
    them), two zero blocks at the end and no padding to tarfile's 10 KiB record."""
    def whole_seconds(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime = int(info.mtime)
        return info

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if src.rstrip("/").endswith("/.") and os.path.isdir(src):
            tar.add(src, ".", recursive=False, filter=whole_seconds)  # as the CLI: itself too
            for entry in sorted(os.listdir(src)):
                tar.add(os.path.join(src, entry), entry, filter=whole_seconds)
        else:
            tar.add(src, arcname, filter=whole_seconds)
        end = tar.offset + 2 * tarfile.BLOCKSIZE
    return buf.getvalue()[:end]


def _copy_in(client: Any, src: str, name: str, dest: str, copy_uid_gid: bool) -> int:
    """Copy into the container; returns the archive's size."""
    if src == "-":
        data = sys.stdin.buffer.read()
        client.request("PUT", f"/containers/{name}/archive",
                       params={"path": dest, "copyUIDGID": copy_uid_gid}, raw_body=data).read()
        return len(data)
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
    body = _tar_local(src, arcname)
    client.request("PUT", f"/containers/{name}/archive",
                   params={"path": target_dir, "copyUIDGID": copy_uid_gid},
                   raw_body=body).read()
    return len(body)


def _copy_out(client: Any, name: str, src: str, dest: str, follow: bool) -> int:
    """Copy out of the container; returns the archive's size."""
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
        return len(data)
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
        if hasattr(tarfile, "tar_filter"):
            tar.extractall(target, members=members, filter="tar")
        else:  # Python before 3.11.4: the same refusals, by hand
            tar.extractall(target, members=[_checked(m) for m in members])
    return len(data)


def _checked(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """What tarfile's "tar" filter refuses: names or links that leave the
    destination, and set-id bits."""
    name = member.name.lstrip("/")
    if ".." in name.split("/"):
        raise CLIError(f"refusing to extract {member.name!r}: it leaves the destination", 1)
    if member.islnk() or member.issym():
        target = member.linkname if member.islnk() else os.path.normpath(
            os.path.join(os.path.dirname(name), member.linkname))
        if member.linkname.startswith("/") or target.split("/")[0] == "..":
            raise CLIError(f"refusing to extract {member.name!r}: its link leaves the "
                           "destination", 1)
    member.name = name
    member.mode &= ~0o6000
    return member


@click.command()
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information)")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in SRC_PATH")
@click.option("-q", "--quiet", is_flag=True, help="Suppress progress output during copy. "
              "Progress output is automatically suppressed if no terminal is attached")
@click.argument("source")
@click.argument("destination")
@click.pass_context
def cp(ctx: click.Context, archive: bool, follow_link: bool, quiet: bool, source: str,
       destination: str) -> None:
    """Copy files/folders between a container and the local filesystem."""
    client = client_of(ctx)
    src_ctr, src = _split(source)
    dst_ctr, dst = _split(destination)
    if (src_ctr is None) == (dst_ctr is None):
        raise CLIError("copying between containers is not supported" if src_ctr else
                       "must specify at least one container source", 1)
    if dst_ctr is not None:
        copied = _copy_in(client, src, dst_ctr, dst, archive)
    else:
        assert src_ctr is not None
        copied = _copy_out(client, src_ctr, src, dst, follow_link)
    if not quiet and dst != "-" and src != "-" and sys.stderr.isatty():
        from shared.units import human_size  # as the docker CLI on a terminal
        print(f"Successfully copied {human_size(copied)} to {destination}", file=sys.stderr)
