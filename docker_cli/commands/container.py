"""Container commands: ps, run, create, start, stop, restart, kill, rm, logs,
wait, attach (and `container <verb>`)."""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import click

from shared.stdcopy import Demuxer
from shared.timeutil import parse_duration
from shared.units import human_duration, parse_ram

from ..errors import EXIT_DAEMON, APIError, CLIError, run_exit_status
from ..formatting.table import format_rows, table
from ..lazy import LazyGroup
from ..streams import pump
from ..tty import raw_mode, size
from . import client_of, for_each


def filters_json(values: tuple[str, ...] | list[str]) -> str | None:
    if not values:
        return None
    out: dict[str, dict[str, bool]] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise CLIError(f'invalid argument "{value}" for "-f, --filter" flag: bad format '
                           "of filter (expected name=value)", 125)
        out.setdefault(key, {})[val] = True
    return json.dumps(out)


def _ellipsis(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _ports(ports: list[dict]) -> str:
    parts = []
    for p in sorted(ports or [], key=lambda x: (x.get("PrivatePort", 0), x.get("Type", ""))):
        if p.get("PublicPort"):
            ip = p.get("IP", "0.0.0.0")
            host = f"[{ip}]" if ":" in ip else ip
            parts.append(f"{host}:{p['PublicPort']}->{p['PrivatePort']}/{p['Type']}")
        else:
            parts.append(f"{p['PrivatePort']}/{p['Type']}")
    return ", ".join(parts)


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
        "Mounts": ",".join(m.get("Name") or m.get("Source", "") for m in c.get("Mounts") or []),
        "Networks": ",".join(sorted((c.get("NetworkSettings") or {}).get("Networks") or {})),
    }
    if "SizeRw" in c:
        from shared.units import human_size
        view["Size"] = (f"{human_size(c.get('SizeRw', 0))} (virtual "
                        f"{human_size(c.get('SizeRootFs', 0))})")
    return view


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
        click.echo(format_rows(fmt, items, PS_HEADERS, lambda c: _ps_view(c, trunc)))
        return
    headers = dict(PS_HEADERS)
    if size:
        headers["Size"] = "SIZE"
    rows = [[_ps_view(c, trunc)[k] for k in headers] for c in items]
    click.echo(table(list(headers.values()), rows))


# -- create / run ----------------------------------------------------------------
def _env(values: tuple[str, ...], files: tuple[str, ...]) -> list[str]:
    env: list[str] = []
    for path in files:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise CLIError(f"open {path}: {exc.strerror}", EXIT_DAEMON) from None
        values = tuple(ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")) + values
    for item in values:
        if "=" in item:
            env.append(item)
        elif item in os.environ:
            env.append(f"{item}={os.environ[item]}")
    return env


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _restart(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    name, _, count = value.partition(":")
    policy: dict[str, Any] = {"Name": name}
    if count:
        try:
            policy["MaximumRetryCount"] = int(count)
        except ValueError:
            raise CLIError("invalid restart policy format: maximum retry count must be an "
                           "integer", EXIT_DAEMON) from None
    return policy


def _ram(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    if value == "-1" and flag == "--memory-swap":
        return -1
    try:
        return parse_ram(value)
    except ValueError:
        raise CLIError(f'invalid argument "{value}" for "{flag}" flag: invalid size: '
                       f"'{value}'", EXIT_DAEMON) from None


def _duration_ns(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        return int(parse_duration(value) * 1e9)
    except ValueError:
        raise CLIError(f'invalid argument "{value}" for "{flag}" flag: time: invalid duration '
                       f'"{value}"', EXIT_DAEMON) from None


def _healthcheck(opts: dict[str, Any]) -> dict[str, Any] | None:
    timing = {"Interval": _duration_ns(opts["health_interval"], "--health-interval"),
              "Timeout": _duration_ns(opts["health_timeout"], "--health-timeout"),
              "StartPeriod": _duration_ns(opts["health_start_period"], "--health-start-period"),
              "Retries": opts["health_retries"]}
    if opts["no_healthcheck"]:
        if opts["health_cmd"] or any(v is not None for v in timing.values()):
            raise CLIError("--no-healthcheck conflicts with --health-* options", EXIT_DAEMON)
        return {"Test": ["NONE"]}
    health = {k: v for k, v in timing.items() if v is not None}
    if opts["health_cmd"]:
        health["Test"] = ["CMD-SHELL", opts["health_cmd"]]
    return health or None


def _device(text: str) -> dict[str, str]:
    """`/dev/host[:/dev/ctr][:rwm]`"""
    parts = text.split(":")
    host = parts[0]
    ctr, perms = host, "rwm"
    if len(parts) == 2:
        if set(parts[1]) <= set("rwm") and parts[1]:
            perms = parts[1]
        else:
            ctr = parts[1]
    elif len(parts) == 3:
        ctr, perms = parts[1], parts[2]
    elif len(parts) > 3:
        raise CLIError(f"invalid device specification: {text}", EXIT_DAEMON)
    return {"PathOnHost": host, "PathInContainer": ctr, "CgroupPermissions": perms}


def _mount(text: str) -> dict[str, Any]:
    """`--mount type=bind,source=/a,target=/b[,readonly][,bind-propagation=..]` and tmpfs."""
    mount: dict[str, Any] = {"Type": "volume"}
    for field in text.split(","):
        key, sep, value = field.partition("=")
        key = key.strip().lower()
        if key in ("readonly", "ro") and value.lower() in ("", "1", "true"):
            mount["ReadOnly"] = True
            continue
        if not sep:
            raise CLIError(f'invalid argument "{text}" for "--mount" flag: invalid field '
                           f"'{field}' must be a key=value pair", EXIT_DAEMON)
        if key == "type":
            mount["Type"] = value
        elif key in ("source", "src"):
            mount["Source"] = value
        elif key in ("target", "destination", "dst"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = value.lower() in ("1", "true")
        elif key == "bind-propagation":
            mount.setdefault("BindOptions", {})["Propagation"] = value
        elif key == "tmpfs-size":
            size = _ram(value, "--mount")
            mount.setdefault("TmpfsOptions", {})["SizeBytes"] = size
        elif key == "tmpfs-mode":
            mount.setdefault("TmpfsOptions", {})["Mode"] = int(value, 8)
        else:
            raise CLIError(f'invalid argument "{text}" for "--mount" flag: unexpected key '
                           f"'{key}' in '{field}'", EXIT_DAEMON)
    return mount


def _ulimits(values: tuple[str, ...]) -> list[dict[str, Any]] | None:
    out = []
    for item in values:
        name, _, limits = item.partition("=")
        soft, _, hard = limits.partition(":")
        try:
            out.append({"Name": name, "Soft": int(soft), "Hard": int(hard or soft)})
        except ValueError:
            raise CLIError(f'invalid argument "{item}" for "--ulimit" flag', EXIT_DAEMON) from None
    return out or None


def _port_bindings(values: tuple[str, ...],
                   exposed: dict[str, dict]) -> dict[str, list[dict[str, str]]]:
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in values:
        proto = "tcp"
        if "/" in spec:
            spec, proto = spec.rsplit("/", 1)
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            ip, host, ctr = parts
        elif len(parts) == 2:
            ip, (host, ctr) = "", parts
        else:
            ip, host, ctr = "", "", parts[0]
        key = f"{ctr}/{proto}"
        exposed[key] = {}
        bindings.setdefault(key, []).append({"HostIp": ip.strip("[]"), "HostPort": host})
    return bindings


CREATE_OPTIONS = [
    click.option("--name", default=None, help="Assign a name to the container"),
    click.option("-e", "--env", multiple=True, help="Set environment variables"),
    click.option("--env-file", multiple=True, help="Read in a file of environment variables"),
    click.option("-h", "--hostname", default=None, help="Container host name"),
    click.option("--domainname", default=None, help="Container NIS domain name"),
    click.option("-u", "--user", default=None, help="Username or UID (format: <name|uid>[:<group|gid>])"),
    click.option("-w", "--workdir", default=None, help="Working directory inside the container"),
    click.option("--entrypoint", default=None, help="Overwrite the default ENTRYPOINT"),
    click.option("-l", "--label", multiple=True, help="Set meta data on a container"),
    click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached"),
    click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY"),
    click.option("--rm", is_flag=True, help="Automatically remove the container when it exits"),
    click.option("--network", "--net", "network", default=None, help="Connect a container to a network"),
    click.option("--restart", default=None, help="Restart policy to apply when a container exits"),
    click.option("-m", "--memory", default=None, help="Memory limit"),
    click.option("--memory-swap", default=None, help="Swap limit equal to memory plus swap"),
    click.option("--memory-reservation", default=None, help="Memory soft limit"),
    click.option("--cpus", default=None, type=float, help="Number of CPUs"),
    click.option("-c", "--cpu-shares", default=None, type=int, help="CPU shares (relative weight)"),
    click.option("--cpu-period", default=None, type=int),
    click.option("--cpu-quota", default=None, type=int),
    click.option("--cpuset-cpus", default=None, help="CPUs in which to allow execution"),
    click.option("--pids-limit", default=None, type=int, help="Tune container pids limit"),
    click.option("--blkio-weight", default=None, type=int),
    click.option("--privileged", is_flag=True, help="Give extended privileges to this container"),
    click.option("--cap-add", multiple=True, help="Add Linux capabilities"),
    click.option("--cap-drop", multiple=True, help="Drop Linux capabilities"),
    click.option("--security-opt", multiple=True, help="Security Options"),
    click.option("--read-only", is_flag=True, help="Mount the container's root filesystem as read only"),
    click.option("--init", is_flag=True, help="Run an init inside the container"),
    click.option("--dns", multiple=True, help="Set custom DNS servers"),
    click.option("--dns-search", multiple=True, help="Set custom DNS search domains"),
    click.option("--dns-option", multiple=True, help="Set DNS options"),
    click.option("--add-host", multiple=True, help="Add a custom host-to-IP mapping (host:ip)"),
    click.option("--stop-signal", default=None, help="Signal to stop the container"),
    click.option("--stop-timeout", default=None, type=int, help="Timeout (in seconds) to stop a container"),
    click.option("--ulimit", multiple=True, help="Ulimit options"),
    click.option("--shm-size", default=None, help="Size of /dev/shm"),
    click.option("--runtime", default=None, help="Runtime to use for this container"),
    click.option("-p", "--publish", multiple=True, help="Publish a container's port(s) to the host"),
    click.option("-P", "--publish-all", is_flag=True, help="Publish all exposed ports to random ports"),
    click.option("--expose", multiple=True, help="Expose a port or a range of ports"),
    click.option("-v", "--volume", multiple=True, help="Bind mount a volume"),
    click.option("--tmpfs", multiple=True, help="Mount a tmpfs directory"),
    click.option("--log-driver", default=None, help="Logging driver for the container"),
    click.option("--log-opt", multiple=True, help="Log driver options"),
    click.option("--platform", default=None, help="Set platform if server is multi-platform capable"),
    click.option("--device", multiple=True, help="Add a host device to the container"),
    click.option("--mount", multiple=True, help="Attach a filesystem mount to the container"),
    click.option("--group-add", multiple=True, help="Add additional groups to join"),
    click.option("--health-cmd", default=None, help="Command to run to check health"),
    click.option("--health-interval", default=None, help="Time between running the check"),
    click.option("--health-timeout", default=None, help="Maximum time to allow one check to run"),
    click.option("--health-start-period", default=None,
                 help="Start period for the container to initialize"),
    click.option("--health-retries", default=None, type=int,
                 help="Consecutive failures needed to report unhealthy"),
    click.option("--no-healthcheck", is_flag=True, help="Disable any container-specified HEALTHCHECK"),
]


def create_options(func: Any) -> Any:
    for option in reversed(CREATE_OPTIONS):
        func = option(func)
    return func


def build_create_body(opts: dict[str, Any], image: str, command: tuple[str, ...]) -> dict:
    exposed: dict[str, dict] = {}
    for port in opts["expose"]:
        exposed[port if "/" in port else f"{port}/tcp"] = {}
    bindings = _port_bindings(opts["publish"], exposed)
    hc: dict[str, Any] = {
        "AutoRemove": opts["rm"], "Privileged": opts["privileged"],
        "ReadonlyRootfs": opts["read_only"], "PublishAllPorts": opts["publish_all"],
        "PortBindings": bindings,
    }
    optional = {
        "NetworkMode": opts["network"], "RestartPolicy": _restart(opts["restart"]),
        "Memory": _ram(opts["memory"], "--memory"),
        "MemorySwap": _ram(opts["memory_swap"], "--memory-swap"),
        "MemoryReservation": _ram(opts["memory_reservation"], "--memory-reservation"),
        "NanoCpus": int(opts["cpus"] * 1e9) if opts["cpus"] is not None else None,
        "CpuShares": opts["cpu_shares"], "CpuPeriod": opts["cpu_period"],
        "CpuQuota": opts["cpu_quota"], "CpusetCpus": opts["cpuset_cpus"],
        "PidsLimit": opts["pids_limit"], "BlkioWeight": opts["blkio_weight"],
        "CapAdd": list(opts["cap_add"]) or None, "CapDrop": list(opts["cap_drop"]) or None,
        "SecurityOpt": list(opts["security_opt"]) or None, "Init": opts["init"] or None,
        "Dns": list(opts["dns"]) or None, "DnsSearch": list(opts["dns_search"]) or None,
        "DnsOptions": list(opts["dns_option"]) or None,
        "ExtraHosts": list(opts["add_host"]) or None, "Ulimits": _ulimits(opts["ulimit"]),
        "ShmSize": _ram(opts["shm_size"], "--shm-size"), "Runtime": opts["runtime"],
        "Binds": [v for v in opts["volume"] if ":" in v] or None,
        "Tmpfs": {t.split(":", 1)[0]: t.split(":", 1)[1] if ":" in t else ""
                  for t in opts["tmpfs"]} or None,
        "Devices": [_device(d) for d in opts["device"]] or None,
        "Mounts": [_mount(m) for m in opts["mount"]] or None,
        "GroupAdd": list(opts["group_add"]) or None,
    }
    if opts["log_driver"] or opts["log_opt"]:
        optional["LogConfig"] = {"Type": opts["log_driver"] or "json-file",
                                 "Config": _labels(opts["log_opt"])}
    hc.update({k: v for k, v in optional.items() if v is not None})
    volumes = {v: {} for v in opts["volume"] if ":" not in v}
    body: dict[str, Any] = {
        "Image": image, "Tty": opts["tty"], "OpenStdin": opts["interactive"],
        "AttachStdin": opts["interactive"], "AttachStdout": True, "AttachStderr": True,
        "StdinOnce": opts["interactive"], "Env": _env(opts["env"], opts["env_file"]),
        "Labels": _labels(opts["label"]), "HostConfig": hc,
    }
    if command:
        body["Cmd"] = list(command)
    if opts["entrypoint"] is not None:
        body["Entrypoint"] = [opts["entrypoint"]] if opts["entrypoint"] else [""]
    for key, opt in (("Hostname", "hostname"), ("Domainname", "domainname"),
                     ("User", "user"), ("WorkingDir", "workdir"),
                     ("StopSignal", "stop_signal"), ("StopTimeout", "stop_timeout")):
        if opts[opt] is not None:
            body[key] = opts[opt]
    if exposed:
        body["ExposedPorts"] = exposed
    health = _healthcheck(opts)
    if health is not None:
        body["Healthcheck"] = health
    if volumes:
        body["Volumes"] = volumes
    return body


def _create(ctx: click.Context, opts: dict[str, Any], image: str,
            command: tuple[str, ...]) -> str:
    client = client_of(ctx)
    body = build_create_body(opts, image, command)
    params = {"name": opts["name"], "platform": opts["platform"]}
    try:
        result = client.post("/containers/create", params=params, body=body)
    except APIError as exc:
        if exc.http_status == 404 and "No such image" in exc.daemon_message:
            print(f"Unable to find image '{image}' locally", file=sys.stderr)
            _pull(ctx, image)
            result = client.post("/containers/create", params=params, body=body)
        else:
            raise
    for warning in result.get("Warnings") or []:
        print(f"WARNING: {warning}", file=sys.stderr)
    return result["Id"]


def _pull(ctx: click.Context, image: str) -> None:
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    resp = client_of(ctx).request("POST", "/images/create",
                                  params={"fromImage": name or image, "tag": tag or "latest"})
    for message in resp.iter_json():
        if message.get("error"):
            raise CLIError(f"Error response from daemon: {message['error']}", EXIT_DAEMON)


def _run_error(exc: CLIError) -> CLIError:
    message = exc.message
    status = EXIT_DAEMON
    if isinstance(exc, APIError):
        status = run_exit_status(exc.daemon_message) if exc.http_status in (400, 500) else 125
    return CLIError(f"docker-py: {message}", status)


@click.command(context_settings={"allow_interspersed_args": False})
@create_options
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def create(ctx: click.Context, image: str, command: tuple[str, ...], **opts: Any) -> None:
    """Create a new container."""
    try:
        click.echo(_create(ctx, opts, image, command))
    except CLIError as exc:
        raise _run_error(exc) from None


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Run container in background and print ID")
@click.option("-a", "--attach", "attach_streams", multiple=True, help="Attach to STDIN, STDOUT or STDERR")
@create_options
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx: click.Context, image: str, command: tuple[str, ...], detach: bool,
        attach_streams: tuple[str, ...], **opts: Any) -> None:
    """Create and run a new container from an image."""
    client = client_of(ctx)
    try:
        cid = _create(ctx, opts, image, command)
    except CLIError as exc:
        raise _run_error(exc) from None
    if detach:
        try:
            client.request("POST", f"/containers/{cid}/start").read()
        except CLIError as exc:
            raise _run_error(exc) from None
        click.echo(cid)
        return
    streams = {s.lower() for s in attach_streams} or {"stdout", "stderr"}
    if opts["interactive"]:
        streams.add("stdin")
    sock, rest, _ = client.hijack(f"/containers/{cid}/attach", params={
        "stream": 1, "stdin": int("stdin" in streams), "stdout": int("stdout" in streams),
        "stderr": int("stderr" in streams)})
    condition = "removed" if opts["rm"] else "next-exit"
    wait = client.request("POST", f"/containers/{cid}/wait", params={"condition": condition})
    try:
        client.request("POST", f"/containers/{cid}/start").read()
    except CLIError as exc:
        sock.close()
        raise _run_error(exc) from None
    if opts["tty"] and size():
        rows, cols = size()  # type: ignore[misc]
        try:
            client.request("POST", f"/containers/{cid}/resize", params={"h": rows, "w": cols}).read()
        except CLIError:
            pass
    with raw_mode(opts["tty"] and opts["interactive"]):
        pump(sock, rest, opts["tty"], "stdin" in streams)
    status = wait.json() or {}
    if status.get("Error"):
        print(f"docker-py: {status['Error'].get('Message')}", file=sys.stderr)
    sys.exit(int(status.get("StatusCode", EXIT_DAEMON)))


def _each(ctx: click.Context, names: tuple[str, ...], action: Any) -> None:
    """Apply action to each name; print names that worked, errors for the rest."""
    def act(client: Any, name: str) -> None:
        action(client, name)
        click.echo(name)
    for_each(ctx, names, act)


@click.command()
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def start(ctx: click.Context, attach: bool, interactive: bool, names: tuple[str, ...]) -> None:
    """Start one or more stopped containers."""
    if not (attach or interactive):
        def act(client: Any, name: str) -> None:
            resp = client.request("POST", f"/containers/{name}/start", check=False)
            if resp.status >= 400 and resp.status != 304:
                raise APIError.from_response(resp.status, resp.read())
            resp.read()
        _each(ctx, names, act)
        return
    client = client_of(ctx)
    doc = client.get(f"/containers/{names[0]}/json")
    tty = doc["Config"]["Tty"]
    sock, rest, _ = client.hijack(f"/containers/{names[0]}/attach", params={
        "stream": 1, "stdin": int(interactive), "stdout": 1, "stderr": 1})
    wait = client.request("POST", f"/containers/{names[0]}/wait", params={"condition": "next-exit"})
    client.request("POST", f"/containers/{names[0]}/start").read()
    with raw_mode(tty and interactive):
        pump(sock, rest, tty, interactive)
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
    _each(ctx, names, act)


@click.command()
@click.option("-t", "--time", "timeout", default=None, type=int)
@click.option("-s", "--signal", "sig", default=None)
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def restart(ctx: click.Context, timeout: int | None, sig: str | None, names: tuple[str, ...]) -> None:
    """Restart one or more containers."""
    _each(ctx, names, lambda c, n: c.request("POST", f"/containers/{n}/restart",
                                             params={"t": timeout, "signal": sig}).read())


@click.command()
@click.option("-s", "--signal", "sig", default=None, help="Signal to send to the container")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def kill(ctx: click.Context, sig: str | None, names: tuple[str, ...]) -> None:
    """Kill one or more running containers."""
    _each(ctx, names, lambda c, n: c.request("POST", f"/containers/{n}/kill",
                                             params={"signal": sig}).read())


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, force: bool, volumes: bool, names: tuple[str, ...]) -> None:
    """Remove one or more containers."""
    _each(ctx, names, lambda c, n: c.request("DELETE", f"/containers/{n}",
                                             params={"force": force, "v": volumes}).read())


@click.command()
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("--since", default=None, help="Show logs since timestamp or relative (e.g. 42m)")
@click.option("--until", default=None, help="Show logs before a timestamp or relative")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end")
@click.argument("name")
@click.pass_context
def logs(ctx: click.Context, follow: bool, since: str | None, until: str | None,
         timestamps: bool, tail: str, name: str) -> None:
    """Fetch the logs of a container."""
    client = client_of(ctx)
    doc = client.get(f"/containers/{name}/json")
    resp = client.request("GET", f"/containers/{name}/logs", params={
        "stdout": 1, "stderr": 1, "follow": follow, "since": since, "until": until,
        "timestamps": timestamps, "tail": tail})
    out, err = sys.stdout.buffer, sys.stderr.buffer
    demux = Demuxer()
    for chunk in resp.iter_chunks():
        if doc["Config"]["Tty"]:
            out.write(chunk)
            out.flush()
            continue
        for stream, payload in demux.feed(chunk):
            target = err if stream == 2 else out
            target.write(payload)
            target.flush()


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def wait(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    for_each(ctx, names, lambda c, n: click.echo(c.post(f"/containers/{n}/wait")["StatusCode"]))


@click.command()
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN")
@click.argument("name")
@click.pass_context
def attach(ctx: click.Context, no_stdin: bool, name: str) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    client = client_of(ctx)
    doc = client.get(f"/containers/{name}/json")
    if not doc["State"]["Running"]:
        raise CLIError("You cannot attach to a stopped container, start it first", 1)
    stdin = doc["Config"]["OpenStdin"] and not no_stdin
    sock, rest, _ = client.hijack(f"/containers/{name}/attach", params={
        "stream": 1, "stdin": int(stdin), "stdout": 1, "stderr": 1})
    with raw_mode(doc["Config"]["Tty"] and stdin):
        pump(sock, rest, doc["Config"]["Tty"], stdin)
    state = client.get(f"/containers/{name}/json")["State"]
    if not state["Running"]:
        sys.exit(state["ExitCode"])


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


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def pause(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Pause all processes within one or more containers."""
    _each(ctx, names, lambda c, n: c.request("POST", f"/containers/{n}/pause").read())


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def unpause(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Unpause all processes within one or more containers."""
    _each(ctx, names, lambda c, n: c.request("POST", f"/containers/{n}/unpause").read())


@click.group(cls=LazyGroup, lazy={
    "exec": "more:exec_", "cp": "more:cp", "top": "more:top", "stats": "more:stats",
    "port": "more:port", "rename": "more:rename", "update": "more:update",
    "prune": "more:prune"})
def container() -> None:
    """Manage containers."""


for _cmd, _name in ((ps, "ls"), (ps, "ps"), (ps, "list"), (run, "run"), (create, "create"),
                    (start, "start"), (stop, "stop"), (restart, "restart"), (kill, "kill"),
                    (rm, "rm"), (rm, "remove"), (logs, "logs"), (wait, "wait"),
                    (attach, "attach"), (commit, "commit"), (diff, "diff"), (export, "export"),
                    (pause, "pause"), (unpause, "unpause")):
    container.add_command(_cmd, _name)


@click.command("inspect")
@click.option("-f", "--format", "fmt", default=None)
@click.option("-s", "--size", is_flag=True)
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def container_inspect(ctx: click.Context, fmt: str | None, size: bool,
                      names: tuple[str, ...]) -> None:
    """Display detailed information on one or more containers."""
    from .system import inspect as inspect_any
    ctx.invoke(inspect_any, fmt=fmt, kind="container", size=size, names=names)


container.add_command(container_inspect, "inspect")

