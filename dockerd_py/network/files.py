"""A container's /etc/hostname, /etc/hosts and /etc/resolv.conf, written as
dockerd writes them (the network side owns them: names and DNS live here)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

HOSTS_HEADER = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                "ff02::2\tip6-allrouters\n")
FALLBACK_NAMESERVERS = ["8.8.8.8", "8.8.4.4"]  # dockerd's, when only loopback was left


@dataclass
class NameSettings:
    """What the three files are made of, gathered from the container's config,
    its endpoints and the daemon's defaults."""
    hostname: str
    domainname: str = ""
    host_network: bool = False
    address: str = ""            # the first endpoint's address, for the hostname line
    address6: str = ""           # and its IPv6 address, for a second line
    gateway: str = ""            # host-gateway in --add-host resolves to it
    extra_hosts: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    embedded_dns: str = ""       # the embedded server's address, on user-defined networks
    links: list[tuple[str, str]] = field(default_factory=list)  # (address, names): --link


@dataclass(frozen=True)
class SandboxFiles:
    """A container's /etc/hostname, /etc/hosts and /etc/resolv.conf: what they say
    and where they go. Plain data made on the event loop, written by a worker."""
    names: NameSettings
    hostname_path: str
    hosts_path: str
    resolv_conf_path: str

    def write(self, in_place: bool = False) -> None:
        write_files(self.names, self.hostname_path, self.hosts_path, self.resolv_conf_path,
                    in_place)


def write_files(names: NameSettings, hostname_path: str, hosts_path: str,
                resolv_conf_path: str, in_place: bool = False) -> None:
    """Write the three files, each through a temporary name (never half a file);
    in_place for a running container, whose bind mounts hold the old inodes."""
    write = _overwrite if in_place else _write
    write(hostname_path, names.hostname + "\n")
    write(hosts_path, hosts_file(names))
    write(resolv_conf_path, resolv_conf(names))


def hosts_file(names: NameSettings) -> str:
    if names.host_network:
        try:
            with open("/etc/hosts") as f:
                text = f.read()
        except OSError:
            text = HOSTS_HEADER
    else:
        text = HOSTS_HEADER
    if not text.endswith("\n"):
        text += "\n"
    for extra in names.extra_hosts:
        name, _, addr = extra.partition(":")
        if "=" in extra and not addr:
            name, _, addr = extra.partition("=")
        if addr == "host-gateway":
            addr = names.gateway or "127.0.0.1"
        text += f"{addr}\t{name}\n"
    for address, link_names in names.links:
        text += f"{address}\t{link_names}\n"
    if not names.host_network:
        hostname = names.hostname
        if names.domainname:
            hostname = f"{hostname}.{names.domainname} {hostname}"
        for address in (names.address, names.address6):
            if address:
                text += f"{address}\t{hostname}\n"
    return text


def _host_resolv_conf() -> str:
    try:
        with open("/etc/resolv.conf") as f:
            return f.read()
    except OSError:
        return ""


def host_nameservers() -> list[str]:
    """The host's resolvers (loopback ones too: the daemon asks from the host)."""
    return [line.split()[1] for line in _host_resolv_conf().splitlines()
            if line.split()[:1] == ["nameserver"] and len(line.split()) > 1]


def resolv_conf(names: NameSettings, host_text: str | None = None) -> str:
    """The host's resolv.conf, minus loopback nameservers on a private network,
    with --dns, --dns-search and --dns-option applied (as dockerd does); on a
    user-defined network, the embedded server instead (it forwards to the rest)."""
    if host_text is None:
        host_text = _host_resolv_conf()
    servers, search, options = [], [], []
    for line in host_text.splitlines():
        words = line.split()
        if not words or words[0].startswith(("#", ";")):
            continue
        if words[0] == "nameserver" and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ("search", "domain"):
            search = words[1:]
        elif words[0] == "options":
            options.extend(words[1:])
    if not names.host_network:
        servers = [s for s in servers if not s.startswith("127.") and s != "::1"]
    if names.dns:
        servers = list(names.dns)
    if not servers and not names.host_network:
        servers = list(FALLBACK_NAMESERVERS)
    if names.dns_search:
        search = [] if names.dns_search == ["."] else list(names.dns_search)
    if names.dns_options:
        options = list(names.dns_options)
    if names.embedded_dns:
        servers = [names.embedded_dns]
        options = ["ndots:0"] + [o for o in options if not o.startswith("ndots:")]
    lines = [f"nameserver {s}" for s in servers]
    if search:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


def _overwrite(path: str, text: str) -> None:
    with open(path, "r+" if os.path.exists(path) else "w") as f:
        f.write(text)
        f.truncate()


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
