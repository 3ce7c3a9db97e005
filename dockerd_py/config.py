"""Daemon configuration: dockerd's flags and daemon.json, merged as dockerd merges them.

A key set both by a flag and in the file is an error, as is a key the file does
not know. Flag names and file keys are dockerd's own.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from shared.api import DEFAULT_HOST


class ConfigError(Exception):
    pass


@dataclass
class DaemonConfig:
    hosts: list[str] = field(default_factory=lambda: [DEFAULT_HOST])
    data_root: str = "/var/lib/dockerd-py"
    exec_root: str = "/run/dockerd-py"
    config_file: str = "/etc/dockerd-py/daemon.json"
    pidfile: str | None = None  # defaults to <exec-root>/dockerd-py.pid
    log_level: str = "info"
    debug: bool = False
    bridge: str = "dpy0"
    bip: str | None = None
    ip: str = "0.0.0.0"   # the host address published ports bind by default
    fixed_cidr: str | None = None
    ipv6: bool = False                  # IPv6 on the default bridge (needs fixed_cidr_v6)
    fixed_cidr_v6: str | None = None
    ip6tables: bool = True              # IPv6 rules as for IPv4 (Docker 27's default)
    default_gateway: str | None = None
    mtu: int = 1500
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_opts: list[str] = field(default_factory=list)
    iptables: bool = True
    ip_forward: bool = True
    ip_masq: bool = True
    icc: bool = True
    userland_proxy: bool = True
    storage_driver: str = "overlay2"
    default_runtime: str = "runc"
    runtimes: dict[str, dict[str, Any]] = field(default_factory=dict)
    live_restore: bool = True
    group: str = "docker"
    cgroup_parent: str | None = None  # defaults to the instance prefix
    instance_prefix: str = "dpy"
    seccomp_profile: str = "/usr/share/containers/seccomp.json"
    conmon: str = "conmon"
    init_path: str | None = None
    registry_mirrors: list[str] = field(default_factory=list)
    insecure_registries: list[str] = field(default_factory=list)
    tls: bool | None = None          # None: not said (a TCP listener then needs tlsverify)
    tlsverify: bool = False
    tlscacert: str = ""
    tlscert: str = ""
    tlskey: str = ""
    registry_certs_dir: str = "/etc/docker/certs.d"   # where Docker users keep them
    plugin_dirs: list[str] = field(default_factory=lambda: [
        "/run/docker/plugins", "/etc/docker/plugins", "/usr/lib/docker/plugins"])
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    max_download_attempts: int = 5
    labels: list[str] = field(default_factory=list)
    experimental: bool = False
    shutdown_timeout: int = 15
    default_address_pools: list[dict[str, Any]] = field(default_factory=list)
    log_driver: str = "json-file"
    log_opts: dict[str, str] = field(default_factory=dict)
    firewall_backend: str = "auto"
    userns_remap: str = ""   # user[:group] whose subordinate IDs containers get; "default"

    @property
    def effective_pidfile(self) -> str:
        return self.pidfile or os.path.join(self.exec_root, "dockerd-py.pid")

    @property
    def effective_cgroup_parent(self) -> str:
        return self.cgroup_parent or self.instance_prefix

    @property
    def chain_prefix(self) -> str:
        """Prefix of this instance's iptables chains (`DPY`)."""
        return re.sub(r"[^A-Z0-9]", "", self.instance_prefix.upper()) or "DPY"


# daemon.json key -> (attribute, type). The file uses dockerd's names.
_FILE_KEYS: dict[str, tuple[str, type]] = {
    "hosts": ("hosts", list),
    "data-root": ("data_root", str),
    "exec-root": ("exec_root", str),
    "pidfile": ("pidfile", str),
    "log-level": ("log_level", str),
    "debug": ("debug", bool),
    "bridge": ("bridge", str),
    "bip": ("bip", str),
    "ip": ("ip", str),
    "fixed-cidr": ("fixed_cidr", str),
    "ipv6": ("ipv6", bool),
    "fixed-cidr-v6": ("fixed_cidr_v6", str),
    "ip6tables": ("ip6tables", bool),
    "default-gateway": ("default_gateway", str),
    "mtu": ("mtu", int),
    "dns": ("dns", list),
    "dns-search": ("dns_search", list),
    "dns-opts": ("dns_opts", list),
    "iptables": ("iptables", bool),
    "ip-forward": ("ip_forward", bool),
    "ip-masq": ("ip_masq", bool),
    "icc": ("icc", bool),
    "userland-proxy": ("userland_proxy", bool),
    "storage-driver": ("storage_driver", str),
    "default-runtime": ("default_runtime", str),
    "runtimes": ("runtimes", dict),
    "live-restore": ("live_restore", bool),
    "group": ("group", str),
    "cgroup-parent": ("cgroup_parent", str),
    "instance-prefix": ("instance_prefix", str),
    "seccomp-profile": ("seccomp_profile", str),
    "conmon": ("conmon", str),
    "init-path": ("init_path", str),
    "registry-mirrors": ("registry_mirrors", list),
    "insecure-registries": ("insecure_registries", list),
    "registry-certs-dir": ("registry_certs_dir", str),
    "plugin-dirs": ("plugin_dirs", list),
    "tls": ("tls", bool),
    "tlsverify": ("tlsverify", bool),
    "tlscacert": ("tlscacert", str),
    "tlscert": ("tlscert", str),
    "tlskey": ("tlskey", str),
    "max-concurrent-downloads": ("max_concurrent_downloads", int),
    "max-concurrent-uploads": ("max_concurrent_uploads", int),
    "max-download-attempts": ("max_download_attempts", int),
    "labels": ("labels", list),
    "experimental": ("experimental", bool),
    "shutdown-timeout": ("shutdown_timeout", int),
    "default-address-pools": ("default_address_pools", list),
    "log-driver": ("log_driver", str),
    "log-opts": ("log_opts", dict),
    "firewall-backend": ("firewall_backend", str),
    "userns-remap": ("userns_remap", str),
}
_ATTR_TO_KEY = {attr: key for key, (attr, _) in _FILE_KEYS.items()}


def _bool_flag(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "t", "yes"):
        return True
    if lowered in ("0", "false", "f", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {text!r}")


def build_parser() -> argparse.ArgumentParser:
    """Flags named as dockerd names them. Defaults are None so that we can tell
    which flags the user actually gave."""
    p = argparse.ArgumentParser(prog="dockerd-py", description="A Docker-compatible engine")
    add = p.add_argument
    add("-H", "--host", dest="hosts", action="append", help="daemon socket(s) to connect to")
    add("--tlscacert", dest="tlscacert", help="trust certs signed only by this CA")
    add("--tlscert", dest="tlscert", help="path to TLS certificate file")
    add("--tlskey", dest="tlskey", help="path to TLS key file")
    add("--data-root", dest="data_root", help="root directory of persistent state")
    add("--exec-root", dest="exec_root", help="root directory for execution state files")
    add("--config-file", dest="config_file", help="daemon configuration file")
    add("-p", "--pidfile", dest="pidfile", help="path to use for the daemon PID file")
    add("-l", "--log-level", dest="log_level",
        choices=["debug", "info", "warn", "error", "fatal"], help="logging level")
    add("-D", "--debug", dest="debug", action="store_const", const=True, help="debug mode")
    add("-b", "--bridge", dest="bridge", help="attach containers to a network bridge")
    add("--bip", dest="bip", help="IP address and netmask of the default bridge")
    add("--ip", dest="ip", help="default IP when binding container ports (0.0.0.0)")
    add("--fixed-cidr", dest="fixed_cidr", help="IPv4 subnet for fixed IPs")
    add("--fixed-cidr-v6", dest="fixed_cidr_v6", help="IPv6 subnet of the default bridge")
    add("--default-gateway", dest="default_gateway", help="container default gateway")
    add("--mtu", dest="mtu", type=int, help="network MTU")
    add("--dns", dest="dns", action="append", help="DNS server to use")
    add("--dns-search", dest="dns_search", action="append", help="DNS search domains")
    add("--dns-opt", dest="dns_opts", action="append", help="DNS options")
    for name, attr in (("iptables", "iptables"), ("ip6tables", "ip6tables"), ("ipv6", "ipv6"),
                       ("ip-forward", "ip_forward"),
                       ("ip-masq", "ip_masq"), ("icc", "icc"),
                       ("userland-proxy", "userland_proxy"), ("live-restore", "live_restore"),
                       ("experimental", "experimental"), ("tls", "tls"),
                       ("tlsverify", "tlsverify")):
        add(f"--{name}", dest=attr, type=_bool_flag, nargs="?", const=True)
    add("-s", "--storage-driver", dest="storage_driver", help="storage driver (overlay2, vfs)")
    add("--default-runtime", dest="default_runtime", help="default OCI runtime (runc, crun)")
    add("--add-runtime", dest="add_runtime", action="append",
        help="register an additional OCI runtime (name=path)")
    add("-G", "--group", dest="group", help="group for the unix socket")
    add("--cgroup-parent", dest="cgroup_parent", help="parent cgroup for all containers")
    add("--instance-prefix", dest="instance_prefix",
        help="prefix of every host-wide name this daemon creates (dpy)")
    add("--seccomp-profile", dest="seccomp_profile", help="path to the seccomp profile")
    add("--conmon", dest="conmon", help="path of conmon")
    add("--init-path", dest="init_path", help="path of the docker-init binary")
    add("--registry-mirror", dest="registry_mirrors", action="append")
    add("--insecure-registry", dest="insecure_registries", action="append")
    add("--registry-certs-dir", dest="registry_certs_dir",
        help="directory of per-registry TLS files, <host:port>/{ca.crt,client.cert,client.key}")
    add("--plugin-dir", dest="plugin_dirs", action="append",
        help="where volume plugins' sockets and spec files are (Docker's by default)")
    add("--max-concurrent-downloads", dest="max_concurrent_downloads", type=int)
    add("--max-concurrent-uploads", dest="max_concurrent_uploads", type=int)
    add("--max-download-attempts", dest="max_download_attempts", type=int)
    add("--label", dest="labels", action="append")
    add("--shutdown-timeout", dest="shutdown_timeout", type=int)
    add("--log-driver", dest="log_driver")
    add("--firewall-backend", dest="firewall_backend",
        choices=["auto", "iptables-restore", "python-iptables", "recorder"],
        help="how to change the packet filter (auto: by the host's iptables variant)")
    add("--userns-remap", dest="userns_remap",
        help="user/group setting for user namespaces (default: the dockremap user)")
    add("--validate", action="store_true", help="validate the configuration and exit")
    add("-v", "--version", action="store_true", help="print version information and quit")
    return p


def _check_type(key: str, value: Any, expected: type) -> Any:
    if expected is bool and not isinstance(value, bool):
        raise ConfigError(f"invalid value for {key}: expected a boolean")
    if expected is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise ConfigError(f"invalid value for {key}: expected a number")
    if expected in (str, list, dict) and not isinstance(value, expected):
        raise ConfigError(f"invalid value for {key}: expected {expected.__name__}")
    return value


def load_file(path: str) -> dict[str, Any]:
    """Read daemon.json; a missing file is an empty configuration."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"unable to configure the Docker daemon with file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"unable to configure the Docker daemon with file {path}: "
                          "the configuration must be a JSON object")
    unknown = sorted(k for k in data if k not in _FILE_KEYS)
    if unknown:
        raise ConfigError(f"unable to configure the Docker daemon with file {path}: the "
                          "following directives don't match any configuration option: "
                          + ", ".join(unknown))
    return data


def merge(flags: dict[str, Any], file_data: dict[str, Any], path: str) -> DaemonConfig:
    """Combine flags and file. A directive given in both is an error, as in dockerd."""
    conflicts = []
    for key, value in file_data.items():
        attr = _FILE_KEYS[key][0]
        if flags.get(attr) is not None:
            conflicts.append(f"{key}: (from flag: {_show(flags[attr])}, "
                             f"from file: {_show(value)})")
    if conflicts:
        raise ConfigError(f"unable to configure the Docker daemon with file {path}: the "
                          "following directives are specified both as a flag and in the "
                          "configuration file: " + ", ".join(conflicts))
    cfg = DaemonConfig(config_file=path)
    for key, value in file_data.items():
        attr, typ = _FILE_KEYS[key]
        setattr(cfg, attr, _check_type(key, value, typ))
    for attr, value in flags.items():
        if value is not None and hasattr(cfg, attr):
            setattr(cfg, attr, value)
    for item in flags.get("add_runtime") or []:
        name, sep, runtime_path = item.partition("=")
        if not sep or not name or not runtime_path:
            raise ConfigError(f"invalid runtime {item!r}: use name=path")
        cfg.runtimes = dict(cfg.runtimes, **{name: {"path": runtime_path}})
    if flags.get("instance_prefix") is None and "instance-prefix" not in file_data:
        cfg.instance_prefix = default_prefix(cfg.data_root)
        if flags.get("bridge") is None and "bridge" not in file_data:
            cfg.bridge = cfg.instance_prefix + "0"
    validate(cfg)
    return cfg


def default_prefix(data_root: str) -> str:
    """`dpy` for the default data root; another data root gets a prefix of its own
    (`d` + 5 hex of its path), so that two daemons started with defaults keep to
    their own chains, cgroups and links."""
    root = os.path.normpath(os.path.abspath(data_root))
    if root == DaemonConfig.data_root:
        return DaemonConfig.instance_prefix
    return "d" + hashlib.sha256(root.encode()).hexdigest()[:5]


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    return str(value)


def validate(cfg: DaemonConfig) -> None:
    from .network.firewall import AUTO, BACKENDS
    if cfg.firewall_backend != AUTO and cfg.firewall_backend not in BACKENDS:
        raise ConfigError(f"unknown firewall backend {cfg.firewall_backend!r}")
    if cfg.storage_driver not in ("overlay2", "vfs"):
        raise ConfigError(f"unsupported storage driver: {cfg.storage_driver}")
    if not re.fullmatch(r"[a-z][a-z0-9]{0,7}", cfg.instance_prefix):
        raise ConfigError("instance-prefix must be 1-8 lowercase letters or digits, "
                          "starting with a letter")
    if len(cfg.bridge) > 15:
        raise ConfigError(f"bridge name {cfg.bridge!r} is longer than 15 characters")
    if cfg.debug:
        cfg.log_level = "debug"
    for key in ("max_concurrent_downloads", "max_concurrent_uploads", "max_download_attempts"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"invalid {_ATTR_TO_KEY[key]} value: {getattr(cfg, key)}")
    from .distribution.hosts import RegistryHosts
    try:
        RegistryHosts(cfg.registry_mirrors, cfg.insecure_registries, cfg.registry_certs_dir)
    except Exception as exc:  # InvalidParameter, with Docker's text
        raise ConfigError(str(getattr(exc, "message", exc))) from None
    for host in cfg.hosts:
        if not host.startswith(("unix://", "fd://", "tcp://")):
            raise ConfigError(f"unsupported host {host!r}: use unix://PATH, fd:// or "
                              "tcp://HOST:PORT")
        if host.startswith("tcp://") and not (cfg.tls or cfg.tlsverify) and cfg.tls is not False:
            raise ConfigError(f"refusing to listen on {host} without TLS: anyone who reaches "
                              "it is root on this host. Use --tlsverify with --tlscacert, "
                              "--tlscert and --tlskey, or say --tls=false to accept that")
    _tls_files(cfg)


def _tls_files(cfg: DaemonConfig) -> None:
    """Docker's defaults: ca.pem, cert.pem, key.pem in $DOCKER_CERT_PATH or ~/.docker."""
    if not (cfg.tls or cfg.tlsverify):
        return
    base = os.environ.get("DOCKER_CERT_PATH") or os.path.expanduser("~/.docker")
    cfg.tlscacert = cfg.tlscacert or os.path.join(base, "ca.pem")
    cfg.tlscert = cfg.tlscert or os.path.join(base, "cert.pem")
    cfg.tlskey = cfg.tlskey or os.path.join(base, "key.pem")
    needed = [cfg.tlscert, cfg.tlskey] + ([cfg.tlscacert] if cfg.tlsverify else [])
    for path in needed:
        if not os.path.isfile(path):
            raise ConfigError(f"could not load the TLS file {path}: no such file")


def from_argv(argv: list[str] | None = None) -> tuple[DaemonConfig, argparse.Namespace]:
    args = build_parser().parse_args(argv)
    flags = {k: v for k, v in vars(args).items() if k not in ("validate", "version")}
    path = flags.pop("config_file") or DaemonConfig.config_file
    cfg = merge(flags, load_file(path), path)
    return cfg, args


# What SIGHUP reloads from daemon.json, as dockerd does; the rest needs a restart.
RELOADABLE = ("debug", "labels", "live-restore", "max-concurrent-downloads",
              "max-concurrent-uploads", "insecure-registries", "registry-mirrors",
              "default-runtime", "shutdown-timeout")


def reload(cfg: DaemonConfig) -> list[str]:
    """Apply the reloadable directives of the configuration file to cfg; the
    names of those that changed. A bad file raises ConfigError and changes nothing."""
    data = load_file(cfg.config_file)
    changes: dict[str, Any] = {}
    for key in RELOADABLE:
        if key not in _FILE_KEYS or key not in data:
            continue
        attr, typ = _FILE_KEYS[key]
        value = _check_type(key, data[key], typ)
        if getattr(cfg, attr) != value:
            changes[attr] = value
    for attr, value in changes.items():
        setattr(cfg, attr, value)
    if "debug" in changes:
        cfg.log_level = "debug" if cfg.debug else "info"
    return sorted(changes)

