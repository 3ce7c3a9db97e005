"""`run`/`create` flags and the container create request they make."""
from __future__ import annotations

from .errors import EXIT_DAEMON, CLIError
from .flags import Flag
from .options import duration_ns, parse_env, parse_labels, ram_flag, restart_policy

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from typing import Any


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
    """`--mount type=bind,source=/a,target=/b[,readonly][,bind-propagation=..]
    [,bind-nonrecursive]` and tmpfs."""
    mount: dict[str, Any] = {"Type": "volume"}
    for field in text.split(","):
        key, sep, value = field.partition("=")
        key = key.strip().lower()
        if key in ("readonly", "ro") and value.lower() in ("", "1", "true"):
            mount["ReadOnly"] = True
            continue
        if key == "bind-nonrecursive" and value.lower() in ("", "1", "true", "0", "false"):
            mount.setdefault("BindOptions", {})["NonRecursive"] = value.lower() in ("", "1",
                                                                                  "true")
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


CREATE_FLAGS = (
    Flag("name", help="Assign a name to the container"),
    Flag("env", short="e", kind="list", help="Set environment variables"),
    Flag("env-file", kind="list", help="Read in a file of environment variables"),
    Flag("hostname", short="h", help="Container host name"),
    Flag("domainname", help="Container NIS domain name"),
    Flag("user", short="u", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    Flag("workdir", short="w", help="Working directory inside the container"),
    Flag("entrypoint", help="Overwrite the default ENTRYPOINT"),
    Flag("label", short="l", kind="list", help="Set meta data on a container"),
    Flag("interactive", short="i", kind="bool", help="Keep STDIN open even if not attached"),
    Flag("tty", short="t", kind="bool", help="Allocate a pseudo-TTY"),
    Flag("rm", kind="bool", help="Automatically remove the container when it exits"),
    Flag("network", kind="list", help="Connect a container to a network", aliases=("net",)),
    Flag("network-alias", kind="list", aliases=("net-alias",),
         help="Add network-scoped alias for the container"),
    Flag("link", kind="list", help="Add link to another container"),
    Flag("ip", help="IPv4 address (e.g., 172.30.100.104)"),
    Flag("ip6", help="IPv6 address (e.g., 2001:db8::33)"),
    Flag("mac-address", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    Flag("restart", help="Restart policy to apply when a container exits"),
    Flag("memory", short="m", help="Memory limit"),
    Flag("memory-swap", help="Swap limit equal to memory plus swap"),
    Flag("memory-reservation", help="Memory soft limit"),
    Flag("cpus", kind="decimal", help="Number of CPUs"),
    Flag("cpu-shares", short="c", kind="int", help="CPU shares (relative weight)"),
    Flag("cpu-period", kind="int", help="Limit CPU CFS (Completely Fair Scheduler) period"),
    Flag("cpu-quota", kind="int", help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    Flag("cpuset-cpus", help="CPUs in which to allow execution"),
    Flag("pids-limit", kind="int", help="Tune container pids limit"),
    Flag("blkio-weight", kind="int",
         help="Block IO (relative weight), between 10 and 1000, or 0 to disable"),
    Flag("privileged", kind="bool", help="Give extended privileges to this container"),
    Flag("cap-add", kind="list", help="Add Linux capabilities"),
    Flag("cap-drop", kind="list", help="Drop Linux capabilities"),
    Flag("security-opt", kind="list", help="Security Options"),
    Flag("read-only", kind="bool", help="Mount the container's root filesystem as read only"),
    Flag("init", kind="bool", help="Run an init inside the container"),
    Flag("dns", kind="list", help="Set custom DNS servers"),
    Flag("dns-search", kind="list", help="Set custom DNS search domains"),
    Flag("dns-option", kind="list", help="Set DNS options"),
    Flag("add-host", kind="list", help="Add a custom host-to-IP mapping (host:ip)"),
    Flag("stop-signal", help="Signal to stop the container"),
    Flag("stop-timeout", kind="int", help="Timeout (in seconds) to stop a container"),
    Flag("ulimit", kind="list", help="Ulimit options"),
    Flag("shm-size", help="Size of /dev/shm"),
    Flag("runtime", help="Runtime to use for this container"),
    Flag("publish", short="p", kind="list", help="Publish a container's port(s) to the host"),
    Flag("publish-all", short="P", kind="bool", help="Publish all exposed ports to random ports"),
    Flag("expose", kind="list", help="Expose a port or a range of ports"),
    Flag("volume", short="v", kind="list", help="Bind mount a volume"),
    Flag("volumes-from", kind="list", help="Mount volumes from the specified container(s)"),
    Flag("tmpfs", kind="list", help="Mount a tmpfs directory"),
    Flag("log-driver", help="Logging driver for the container"),
    Flag("log-opt", kind="list", help="Log driver options"),
    Flag("platform", help="Set platform if server is multi-platform capable"),
    Flag("device", kind="list", help="Add a host device to the container"),
    Flag("mount", kind="list", help="Attach a filesystem mount to the container"),
    Flag("group-add", kind="list", help="Add additional groups to join"),
    Flag("health-cmd", help="Command to run to check health"),
    Flag("health-interval", help="Time between running the check"),
    Flag("health-timeout", help="Maximum time to allow one check to run"),
    Flag("health-start-period", help="Start period for the container to initialize"),
    Flag("health-retries", kind="int", help="Consecutive failures needed to report unhealthy"),
    Flag("no-healthcheck", kind="bool", help="Disable any container-specified HEALTHCHECK"),
    Flag("userns", help="User namespace to use"),
    Flag("pid", help="PID namespace to use"),
    Flag("ipc", help="IPC mode to use"),
    Flag("uts", help="UTS namespace to use"),
    Flag("cgroupns", help="Cgroup namespace to use (host|private)"),
    Flag("cgroup-parent", help="Optional parent cgroup for the container"),
    Flag("sysctl", kind="list", help="Sysctl options"),
    Flag("oom-score-adj", kind="int", help="Tune host's OOM preferences (-1000 to 1000)"),
    Flag("disable-content-trust", kind="bool", help="Skip image verification (always: no "
         "content trust here)"),
)


_NAMESPACE_MODES = (("userns", "USER", ("host", "private")), ("uts", "UTS", ("host",)),
                    ("pid", "PID", ("host", "container")))


def _check_namespace_modes(opts: dict[str, Any]) -> None:
    """The Docker CLI's own checks of --userns, --uts and --pid."""
    for flag, what, modes in _NAMESPACE_MODES:
        value = opts[flag]
        if value and value.split(":", 1)[0] not in modes:
            raise CLIError(f"--{flag}: invalid {what} mode", EXIT_DAEMON)


def build_create_body(opts: dict[str, Any], image: str, command: tuple[str, ...]) -> dict:
    _check_namespace_modes(opts)
    exposed: dict[str, dict] = {}
    for port in opts["expose"]:
        exposed[port if "/" in port else f"{port}/tcp"] = {}
    bindings = port_bindings(opts["publish"], exposed)
    if opts["rm"] and opts["restart"] and opts["restart"] != "no":
        raise CLIError("conflicting options: cannot specify both --restart and --rm",
                       EXIT_DAEMON)
    # as the docker CLI's parseSystemPaths: unconfined is no option for the daemon
    # but empty masked and read-only path lists
    security_opt = [o for o in opts["security_opt"] if o != "systempaths=unconfined"]
    hc: dict[str, Any] = {
        "AutoRemove": opts["rm"], "Privileged": opts["privileged"],
        "ReadonlyRootfs": opts["read_only"], "PublishAllPorts": opts["publish_all"],
        "PortBindings": bindings,
    }
    if len(security_opt) < len(opts["security_opt"]):
        hc["MaskedPaths"], hc["ReadonlyPaths"] = [], []
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
        "SecurityOpt": security_opt or None, "Init": opts["init"] or None,
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
        "UsernsMode": opts["userns"], "PidMode": opts["pid"], "IpcMode": opts["ipc"],
        "UTSMode": opts["uts"], "CgroupnsMode": opts["cgroupns"],
        "CgroupParent": opts["cgroup_parent"], "OomScoreAdj": opts["oom_score_adj"],
        "Sysctls": parse_labels(opts["sysctl"]) or None,
    }
    if opts["log_driver"] or opts["log_opt"]:
        optional["LogConfig"] = {"Type": opts["log_driver"] or "json-file",
                                 "Config": parse_labels(opts["log_opt"])}
    hc.update({k: v for k, v in optional.items() if v is not None})
    volumes: dict[str, dict[str, Any]] = {v: {} for v in opts["volume"] if ":" not in v}
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
