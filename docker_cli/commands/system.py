"""version, info, events, inspect."""
from __future__ import annotations

import json
import platform
import sys

import click

from shared.api import API_VERSION, PRODUCT_VERSION
from shared.timeutil import rfc3339_nano_fixed
from shared.units import bytes_size

from ..errors import APIError, CLIError
from ..formatting.templates import Struct, TemplateError, go_error_text, render
from . import client_of


def _go_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@click.command()
@click.option("-f", "--format", "fmt", default=None, help="Format the output using a Go template")
@click.pass_context
def version(ctx: click.Context, fmt: str | None) -> None:
    """Show the docker-py and daemon versions."""
    client_doc = {"Version": PRODUCT_VERSION, "ApiVersion": API_VERSION,
                  "DefaultAPIVersion": API_VERSION, "GoVersion": f"python{platform.python_version()}",
                  "Os": "linux", "Arch": _go_arch(), "Context": "default"}
    server = None
    error = None
    try:
        server = client_of(ctx).get("/version")
    except CLIError as exc:
        error = exc
    if fmt:
        info = Struct({"Client": client_doc, "Server": server})  # the CLI's versionInfo
        info.type_name = "system.versionInfo"
        click.echo(_render(fmt, info, "version"))
    else:
        lines = ["Client:", f" Version:           {PRODUCT_VERSION} (docker-py)",
                 f" API version:       {API_VERSION}",
                 f" Python version:    {platform.python_version()}",
                 f" OS/Arch:           linux/{_go_arch()}", ""]
        if server:
            lines.append(f"Server: {server.get('Platform', {}).get('Name', '')}")
            for comp in server.get("Components") or []:
                lines.append(f" {comp['Name']}:")
                lines.append(f"  Version:          {comp.get('Version', '')}")
                details = comp.get("Details") or {}
                if comp["Name"] == "Engine":
                    lines.append(f"  API version:      {details.get('ApiVersion', '')} "
                                 f"(minimum version {details.get('MinAPIVersion', '')})")
                    lines.append(f"  Go version:       {details.get('GoVersion', '')}")
                    lines.append(f"  OS/Arch:          {details.get('Os', '')}/"
                                 f"{details.get('Arch', '')}")
                    lines.append(f"  Kernel version:   {details.get('KernelVersion', '')}")
        click.echo("\n".join(lines))
    if error is not None:
        raise error


@click.command()
@click.option("-f", "--format", "fmt", default=None, help="Format the output using a Go template")
@click.pass_context
def info(ctx: click.Context, fmt: str | None) -> None:
    """Display system-wide information."""
    doc = client_of(ctx).get("/info")
    if fmt:
        click.echo(_render(fmt, doc))
        return
    out = ["Server:", f" Containers: {doc['Containers']}", f"  Running: {doc['ContainersRunning']}",
           f"  Paused: {doc['ContainersPaused']}", f"  Stopped: {doc['ContainersStopped']}",
           f" Images: {doc['Images']}", f" Server Version: {doc['ServerVersion']}",
           f" Storage Driver: {doc['Driver']}"]
    out += [f"  {k}: {v}" for k, v in doc.get("DriverStatus") or []]
    out += [f" Logging Driver: {doc['LoggingDriver']}", f" Cgroup Driver: {doc['CgroupDriver']}",
            f" Cgroup Version: {doc['CgroupVersion']}"]
    runtimes = doc.get("Runtimes") or {}
    out.append(" Runtimes: " + " ".join(sorted(runtimes)))
    for name, rt in sorted(runtimes.items()):
        status = (rt.get("status") or {}).get("unavailable")
        if status:
            out.append(f"  {name}: unavailable: {status}")
    out += [f" Default Runtime: {doc['DefaultRuntime']}",
            f" Live Restore Enabled: {str(doc.get('LiveRestoreEnabled')).lower()}",
            f" Kernel Version: {doc['KernelVersion']}",
            f" Operating System: {doc['OperatingSystem']}", f" OSType: {doc['OSType']}",
            f" Architecture: {doc['Architecture']}", f" CPUs: {doc['NCPU']}",
            f" Total Memory: {bytes_size(doc['MemTotal'])}", f" Name: {doc['Name']}",
            f" ID: {doc['ID']}", f" Docker Root Dir: {doc['DockerRootDir']}",
            f" Debug Mode: {str(doc.get('Debug')).lower()}"]
    click.echo("\n".join(out))
    for warning in doc.get("Warnings") or []:
        click.echo(warning, err=True)


INSPECT_TYPES = ("config", "container", "image", "network", "node", "plugin", "secret",
                 "service", "task", "volume")
_INSPECT_PATHS = {"container": "/containers/{}/json", "image": "/images/{}/json",
                  "network": "/networks/{}", "volume": "/volumes/{}"}


@click.command()
@click.option("-f", "--format", "fmt", default=None, help="Format the output using a Go template")
@click.option("--type", "kind", default=None, help="Return JSON for specified type")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes if the type is container")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect(ctx: click.Context, fmt: str | None, kind: str | None, size: bool,
            names: tuple[str, ...]) -> None:
    """Return low-level information on Docker objects."""
    if kind is not None and kind not in INSPECT_TYPES:
        raise CLIError(f'unknown type: "{kind}": must be one of '
                       + ", ".join(f'"{t}"' for t in INSPECT_TYPES), 1)
    client = client_of(ctx)
    docs = []
    errors = []
    for name in names:
        doc = None
        error = f"Error: No such object: {name}"
        for candidate in ([kind] if kind else ["container", "image", "network", "volume"]):
            if candidate not in _INSPECT_PATHS:
                error = "Error response from daemon: This node is not a swarm manager."
                break
            try:
                doc = client.get(_INSPECT_PATHS[candidate].format(name),
                                 params={"size": size} if candidate == "container" else None)
                break
            except APIError as exc:
                if exc.http_status != 404:
                    raise
                if kind:  # one type asked for: the daemon's own words
                    error = exc.message
        if doc is None:
            errors.append(error)
        else:
            docs.append(doc)
    print_docs(docs, fmt)
    if errors:
        for error in errors:
            click.echo(error, err=True)
        sys.exit(1)


@click.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format the output using a Go template")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def container_inspect(ctx: click.Context, fmt: str | None, size: bool,
                      names: tuple[str, ...]) -> None:
    """Display detailed information on one or more containers."""
    ctx.invoke(inspect, fmt=fmt, kind="container", size=size, names=names)


def inspect_each(ctx: click.Context, names: tuple[str, ...], path: str, fmt: str | None,
                 params: dict | None = None) -> None:
    """`<object> inspect`: the documents found, then the daemon's word for each one
    that was not, and exit 1 if any was not."""
    docs, errors = [], []
    for name in names:
        try:
            docs.append(client_of(ctx).get(path.format(name=name), params=params))
        except CLIError as exc:
            errors.append(exc.message)
    print_docs(docs, fmt)
    if errors:
        for message in errors:
            click.echo(message, err=True)
        raise SystemExit(1)


def print_docs(docs: list, fmt: str | None) -> None:
    if fmt:
        for doc in docs:
            click.echo(_render(fmt, doc, inspecting=True))
    else:
        click.echo(json.dumps(docs, indent=4))


def _render(fmt: str, data: object, name: str = "", inspecting: bool = False) -> str:
    """inspect's, info's and version's --format: a parse error is a "template
    parsing error" that exits 64 (the CLI's StatusError); an execution error
    exits 1, worded so by inspect only; `docker version` names its template."""
    try:
        return render(fmt, data)
    except TemplateError as exc:
        text = go_error_text(fmt, exc)
        if name:
            text = text.replace("template: :", f"template: {name}:", 1).replace(
                'executing ""', f'executing "{name}"', 1)
        if exc.parse or inspecting:
            text = f"template parsing error: {text}"
        raise CLIError(text, 64 if exc.parse else 1) from None


@click.command()
@click.option("--since", default=None)
@click.option("--until", default=None)
@click.option("-f", "--filter", "filters", multiple=True)
@click.option("--format", "fmt", default=None)
@click.pass_context
def events(ctx: click.Context, since: str | None, until: str | None, filters: tuple[str, ...],
           fmt: str | None) -> None:
    """Get real time events from the server."""
    from ..options import filters_json
    resp = client_of(ctx).request("GET", "/events", params={
        "since": since, "until": until, "filters": filters_json(filters)})
    for ev in resp.iter_json():
        if fmt:
            click.echo(_render(fmt, ev))
        else:
            attrs = ",".join(f"{k}={v}" for k, v in sorted(ev["Actor"]["Attributes"].items()))
            stamp = rfc3339_nano_fixed(ev["timeNano"])
            click.echo(f"{stamp} {ev['Type']} {ev['Action']} {ev['Actor']['ID']} ({attrs})")


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Generate the autocompletion script for the specified shell.

    bash: `source <(docker-py completion bash)`; zsh: `docker-py completion zsh >
    "${fpath[1]}/_docker-py"`."""
    from click.shell_completion import get_completion_class
    cls = get_completion_class(shell)
    assert cls is not None
    root = ctx.find_root().command
    click.echo(cls(root, {}, "docker-py", "_DOCKER_PY_COMPLETE").source())
