"""`run`/`create` flags and the container create request they make."""
from __future__ import annotations


from typing import Any

import click

from .errors import EXIT_DAEMON, CLIError
from .options import duration_ns, parse_env, parse_labels, ram_flag, restart_policy


def healthcheck(opts: dict[str, Any]) -> dict[str, Any] | None:
    timing = {"Interval": duration_ns(opts["health_interval"], "--health-interval"),
              "Timeout": duration_ns(opts["health_timeout"], "--health-timeout"),
              "StartPeriod": duration_ns(opts["health_start_period"], "--health-start-period"),
              "Retries": opts["health_retries"]}
    if opts["no_healthcheck"]:
        if opts["health_cmd"] or any(v is not None for v in timing.values()):
            raise CLIError("--no-healthcheck conflicts with --health-* options", EXIT_DAEMON)
        return {"Test": ["NONE"]}
    health = {k: v for k, v in timing.items() if v is not None}
    if opts["health_cmd"]:
        health["Test"] = ["CMD-SHELL", opts["health_cmd"]]
    return health or None


def device(text: str) -> dict[str, str]:
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


def mount_spec(text: str) -> dict[str, Any]:
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
            size = ram_flag(value, "--mount")
            mount.setdefault("TmpfsOptions", {})["SizeBytes"] = size
        elif key == "tmpfs-mode":
            mount.setdefault("TmpfsOptions", {})["Mode"] = int(value, 8)
        else:
            raise CLIError(f'invalid argument "{text}" for "--mount" flag: unexpected key '
                           f"'{key}' in '{field}'", EXIT_DAEMON)
    return mount


def ulimits(values: tuple[str, ...]) -> list[dict[str, Any]] | None:
    out = []
    for item in values:
        name, _, limits = item.partition("=")
        soft, _, hard = limits.partition(":")
        try:
            out.append({"Name": name, "Soft": int(soft), "Hard": int(hard or soft)})
        except ValueError:
            raise CLIError(f'invalid argument "{item}" for "--ulimit" flag', EXIT_DAEMON) from None
    return out or None


def _port_range(text: str, what: str) -> list[int]:
    """Ports as `-p` reads them; Docker's texts (`invalid containerPort: abc`)."""
    lo, _, hi = text.partition("-")
    try:
        first, last = int(lo), int(hi or lo)
    except ValueError:
        raise CLIError(f"invalid {what}: {text}", EXIT_DAEMON) from None
    if not 0 < first <= last < 65536:
        raise CLIError(f"invalid {what}: {text}", EXIT_DAEMON)
    return list(range(first, last + 1))


def port_bindings(values: tuple[str, ...],
                  exposed: dict[str, dict]) -> dict[str, list[dict[str, str]]]:
    """`-p [ip:][hostPort:]containerPort[/proto]`, ranges included, as the Docker
    CLI expands them (a host range as long as the container's maps one to one)."""
    bindings: dict[str, list[dict[str, str]]] = {}
    for original in values:
        spec, proto = original, "tcp"
        if "/" in spec:
            spec, proto = spec.rsplit("/", 1)
        if proto not in ("tcp", "udp", "sctp"):
            raise CLIError(f'invalid argument "{original}" for "-p, --publish" flag: invalid '
                           f'proto: {proto}', EXIT_DAEMON)
        if spec.startswith("["):  # [::1]:80:80
            ip, _, rest = spec[1:].partition("]")
            parts = [ip] + rest.lstrip(":").split(":")
        else:
            parts = spec.split(":")
        if len(parts) > 3:  # everything before host:container is the address
            parts = [":".join(parts[:-2])] + parts[-2:]
        ip, host, ctr = ([""] * (3 - len(parts)) + parts)
        if ip:
            try:
                import ipaddress  # here: only -p with an address needs it
                ipaddress.ip_address(ip)
            except ValueError:
                raise CLIError(f"invalid IP address: {ip}", EXIT_DAEMON) from None
        ctr_ports = _port_range(ctr, "containerPort")
        host_ports = _port_range(host, "hostPort") if host else []
        if host_ports and len(host_ports) != len(ctr_ports) and len(ctr_ports) != 1:
            raise CLIError(f'invalid argument "{original}" for "-p, --publish" flag: invalid '
                           f'ranges specified for container and host Ports: {ctr} and {host}',
                           EXIT_DAEMON)
        for i, port in enumerate(ctr_ports):
            if not host_ports:
                host_port = ""
            elif len(ctr_ports) == 1:
                host_port = host if "-" in host else str(host_ports[0])
            else:
                host_port = str(host_ports[i])
            key = f"{port}/{proto}"
            exposed[key] = {}
            bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": host_port})
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
    click.option("--network", "--net", "network", multiple=True, help="Connect a container to a network"),
    click.option("--network-alias", "--net-alias", "network_alias", multiple=True, help="Add network-scoped alias for the container"),
    click.option("--link", multiple=True, help="Add link to another container"),
    click.option("--ip", default=None, help="IPv4 address (e.g., 172.30.100.104)"),
    click.option("--ip6", default=None, help="IPv6 address (e.g., 2001:db8::33)"),
    click.option("--mac-address", default=None, help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
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
    click.option("--volumes-from", "volumes_from", multiple=True, help="Mount volumes from the specified container(s)"),
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
    bindings = port_bindings(opts["publish"], exposed)
    if opts["rm"] and opts["restart"] and opts["restart"] != "no":
        raise CLIError("conflicting options: cannot specify both --restart and --rm",
                       EXIT_DAEMON)
    hc: dict[str, Any] = {
        "AutoRemove": opts["rm"], "Privileged": opts["privileged"],
        "ReadonlyRootfs": opts["read_only"], "PublishAllPorts": opts["publish_all"],
        "PortBindings": bindings,
    }
    optional = {
        "NetworkMode": opts["network"][0] if opts["network"] else None,
        "RestartPolicy": restart_policy(opts["restart"]),
        "Memory": ram_flag(opts["memory"], "-m, --memory"),
        "MemorySwap": ram_flag(opts["memory_swap"], "--memory-swap"),
        "MemoryReservation": ram_flag(opts["memory_reservation"], "--memory-reservation"),
        "NanoCpus": int(opts["cpus"] * 1e9) if opts["cpus"] is not None else None,
        "CpuShares": opts["cpu_shares"], "CpuPeriod": opts["cpu_period"],
        "CpuQuota": opts["cpu_quota"], "CpusetCpus": opts["cpuset_cpus"],
        "PidsLimit": opts["pids_limit"], "BlkioWeight": opts["blkio_weight"],
        "CapAdd": list(opts["cap_add"]) or None, "CapDrop": list(opts["cap_drop"]) or None,
        "SecurityOpt": list(opts["security_opt"]) or None, "Init": opts["init"] or None,
        "Dns": list(opts["dns"]) or None, "DnsSearch": list(opts["dns_search"]) or None,
        "DnsOptions": list(opts["dns_option"]) or None,
        "ExtraHosts": list(opts["add_host"]) or None, "Ulimits": ulimits(opts["ulimit"]),
        "ShmSize": ram_flag(opts["shm_size"], "--shm-size"), "Runtime": opts["runtime"],
        "Binds": [v for v in opts["volume"] if ":" in v] or None,
        "VolumesFrom": list(opts["volumes_from"]) or None,
        "Links": [v if ":" in v else f"{v}:{v}" for v in opts["link"]] or None,
        "Tmpfs": {t.split(":", 1)[0]: t.split(":", 1)[1] if ":" in t else ""
                  for t in opts["tmpfs"]} or None,
        "Devices": [device(d) for d in opts["device"]] or None,
        "Mounts": [mount_spec(m) for m in opts["mount"]] or None,
        "GroupAdd": list(opts["group_add"]) or None,
    }
    if opts["log_driver"] or opts["log_opt"]:
        optional["LogConfig"] = {"Type": opts["log_driver"] or "json-file",
                                 "Config": parse_labels(opts["log_opt"])}
    hc.update({k: v for k, v in optional.items() if v is not None})
    volumes = {v: {} for v in opts["volume"] if ":" not in v}
    body: dict[str, Any] = {
        "Image": image, "Tty": opts["tty"], "OpenStdin": opts["interactive"],
        "AttachStdin": opts["interactive"], "AttachStdout": True, "AttachStderr": True,
        "StdinOnce": opts["interactive"], "Env": parse_env(opts["env"], opts["env_file"]),
        "Labels": parse_labels(opts["label"]), "HostConfig": hc,
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
    networking = _networking(opts)
    if networking:
        body["NetworkingConfig"] = {"EndpointsConfig": networking}
    health = healthcheck(opts)
    if health is not None:
        body["Healthcheck"] = health
    if volumes:
        body["Volumes"] = volumes
    return body


def _networking(opts: dict[str, Any]) -> dict[str, Any]:
    """--network (several), --network-alias, --ip, --ip6, --mac-address: the
    endpoint of the first network carries the aliases and addresses, as the
    Docker CLI does."""
    names = list(opts["network"]) or ["default"]
    if opts["network_alias"] and not opts["network"]:
        raise CLIError("docker-py: Error response from daemon: network-scoped alias is "
                       "supported only for containers in user defined networks", EXIT_DAEMON)
    addresses = {key: opts[flag] for key, flag in (("IPv4Address", "ip"), ("IPv6Address", "ip6"))
                 if opts[flag]}
    if len(names) == 1 and not (addresses or opts["network_alias"] or opts["mac_address"]):
        return {}
    first: dict[str, Any] = {}
    if addresses:
        first["IPAMConfig"] = addresses
    if opts["network_alias"]:
        first["Aliases"] = list(opts["network_alias"])
    if opts["mac_address"]:
        first["MacAddress"] = opts["mac_address"]
    return {names[0]: first, **{n: {} for n in names[1:]}}
