"""`build` (and `builder prune`): the classic builder's API, with the context
sent as the Docker CLI sends it."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from shared.units import human_size

from .. import credentials
from ..build_context import context_tar
from ..errors import CLIError
from ..formatting.progress import display
from . import client_of


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not key:
            raise CLIError(f"invalid argument \"{value}\" for \"{what}\" flag", 125)
        if not sep:  # --build-arg NAME takes the value from the environment
            import os
            out[key] = os.environ.get(key)
        else:
            out[key] = val
    return out


def _counted(chunks: Iterator[bytes], sent: list[int], tty: bool) -> Iterator[bytes]:
    for chunk in chunks:
        sent[0] += len(chunk)
        if tty:
            sys.stdout.write(f"\rSending build context to Docker daemon {human_size(sent[0], 4):>8}")
            sys.stdout.flush()
        yield chunk


@click.command()
@click.option("-t", "--tag", "tags", multiple=True, help="Name and optionally a tag (format: \"name:tag\")")
@click.option("-f", "--file", "dockerfile", default=None, help="Name of the Dockerfile")
@click.option("--build-arg", "build_args", multiple=True, help="Set build-time variables")
@click.option("--target", default=None, help="Set the target build stage to build")
@click.option("--no-cache", is_flag=True, help="Do not use cache when building the image")
@click.option("--pull", is_flag=True, help="Always attempt to pull a newer version of the image")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the build output and print image ID on success")
@click.option("--label", "labels", multiple=True, help="Set metadata for an image")
@click.option("--iidfile", default=None, help="Write the image ID to the file")
@click.option("--network", default=None, help="Set the networking mode for the RUN instructions")
@click.option("--add-host", "add_hosts", multiple=True, help="Add a custom host-to-IP mapping")
@click.option("--platform", default=None, help="Set platform if server is multi-platform capable")
@click.option("--rm/--no-rm", "remove", default=True, help="Remove intermediate containers after a successful build")
@click.option("--force-rm", is_flag=True, help="Always remove intermediate containers")
@click.option("--cache-from", "cache_from", multiple=True, help="Images to consider as cache sources")
@click.option("--shm-size", default=None, help="Size of /dev/shm")
@click.argument("context")
@click.pass_context
def build(ctx: click.Context, tags: tuple[str, ...], dockerfile: str | None,
          build_args: tuple[str, ...], target: str | None, no_cache: bool, pull: bool,
          quiet: bool, labels: tuple[str, ...], iidfile: str | None, network: str | None,
          add_hosts: tuple[str, ...], platform: str | None, remove: bool, force_rm: bool,
          cache_from: tuple[str, ...], shm_size: str | None, context: str) -> None:
    """Build an image from a Dockerfile."""
    from shared import reference as refs
    for tag in tags:  # as the docker CLI's ValidateTag, before anything is sent
        try:
            refs.parse(tag)
        except refs.ReferenceError as exc:
            raise CLIError(f'invalid argument "{tag}" for "-t, --tag" flag: {exc}', 125) from None
    params: dict[str, Any] = {
        "t": list(tags) or None, "target": target, "nocache": no_cache or None,
        "pull": pull or None, "q": quiet or None, "networkmode": network,
        "extrahosts": ",".join(add_hosts) or None, "platform": platform,
        "rm": remove, "forcerm": force_rm or None,
        "buildargs": json.dumps(_pairs(build_args, "--build-arg")) if build_args else None,
        "labels": json.dumps(_pairs(labels, "--label")) if labels else None,
        "cachefrom": json.dumps(list(cache_from)) if cache_from else None}
    if shm_size:
        from shared.units import parse_ram
        params["shmsize"] = parse_ram(shm_size)
    body: Any = None
    sent = [0]
    tty = sys.stdout.isatty() and not quiet
    if context.startswith(("http://", "https://")):
        params["remote"] = context
        params["dockerfile"] = dockerfile
    elif context == "-":
        data = sys.stdin.buffer.read()
        if data[:2] == b"\x1f\x8b" or data[257:262] == b"ustar":
            body = data
            params["dockerfile"] = dockerfile
        else:  # a Dockerfile on stdin, no context
            body, params["dockerfile"] = context_tar_from_dockerfile(data)
    else:
        extra = sys.stdin.buffer.read() if dockerfile == "-" else None
        chunks, name = context_tar(context, None if dockerfile == "-" else dockerfile, extra)
        body = _counted(chunks, sent, tty)
        params["dockerfile"] = name
    headers = {"Content-Type": "application/x-tar"}
    configs = credentials.all_for_build()
    if configs:
        headers["X-Registry-Config"] = configs
    resp = client_of(ctx).request("POST", "/build", params=params, raw_body=body,
                                  headers=headers)
    if not quiet and sent[0]:
        line = f"Sending build context to Docker daemon {human_size(sent[0], 4):>8}"
        sys.stdout.write(("\r" + line + "\n") if tty else (line + "\n"))
    image_id: list[str] = []
    if quiet:
        out_lines = []
        for msg in resp.iter_json():
            if msg.get("error") or msg.get("errorDetail"):
                raise CLIError((msg.get("errorDetail") or {}).get("message") or msg["error"], 1)
            if "aux" in msg and isinstance(msg["aux"], dict) and msg["aux"].get("ID"):
                image_id.append(msg["aux"]["ID"])
            elif msg.get("stream"):
                out_lines.append(msg["stream"])
        sys.stdout.write("".join(out_lines))
    else:
        # as docker build: a failed step's code is the exit code
        display(resp.iter_json(), on_aux=lambda aux: image_id.append(aux.get("ID", ""))
                if isinstance(aux, dict) else None, exit_with_code=True)
    if iidfile and image_id:
        with open(iidfile, "w") as f:
            f.write(image_id[-1])


def context_tar_from_dockerfile(data: bytes) -> tuple[bytes, str]:
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size, info.mode = len(data), 0o600
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue(), "Dockerfile"


@click.group()
def builder() -> None:
    """Manage builds."""


@builder.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused build cache")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values")
@click.option("--keep-storage", default=None, help="Amount of disk space to keep for cache")
@click.pass_context
def builder_prune(ctx: click.Context, all_: bool, force: bool, filters: tuple[str, ...],
                  keep_storage: str | None) -> None:
    """Remove build cache."""
    from shared.units import parse_ram

    from ..options import filters_json
    if not force:
        warning = ("WARNING! This will remove all build cache. Are you sure you want to "
                   "continue? [y/N] ") if all_ else \
            "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] "
        if not click.confirm(warning.removesuffix(" [y/N] "), default=False):
            return
    report = client_of(ctx).post("/build/prune", params={
        "all": all_ or None, "filters": filters_json(filters),
        "keep-storage": parse_ram(keep_storage) if keep_storage else None})
    deleted = report.get("CachesDeleted") or []
    if deleted:
        click.echo("Deleted build cache objects:")
        for item in deleted:
            click.echo(item)
    click.echo(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed') or 0)}")
