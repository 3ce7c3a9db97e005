"""The `network` group: create, ls, inspect, rm, connect, disconnect, prune."""
from __future__ import annotations

import time
from typing import Any

import click

from shared.timeutil import parse_rfc3339

from ..errors import EXIT_DAEMON, CLIError
from ..formatting.table import echo_rows, format_rows, table
from ..options import filters_json, parse_labels
from . import client_of, for_each, print_deleted

NETWORK_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE"}


NETWORK_TITLES = {**NETWORK_HEADERS, "IPv4": "IPV4", "IPv6": "IPV6", "Internal": "INTERNAL",
                  "Labels": "LABELS", "CreatedAt": "CREATED AT"}


def _go_time(nanos: int) -> str:
    """A time as Go's time.Time String() prints it: fractional seconds with no
    trailing zeros (none at all on a whole second)."""
    seconds, fraction = divmod(nanos, 1_000_000_000)
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + " +0000 UTC"


def _view(net: dict[str, Any], trunc: bool) -> dict[str, Any]:
    """A row as the docker CLI's networkContext has it."""
    created = parse_rfc3339(net["Created"]) if net.get("Created") else 0
    return {"ID": net["Id"][:12] if trunc else net["Id"], "Name": net["Name"],
            "Driver": net["Driver"], "Scope": net.get("Scope", "local"),
            "IPv4": str(bool(net.get("EnableIPv4"))).lower(),
            "IPv6": str(bool(net.get("EnableIPv6"))).lower(),
            "Internal": str(bool(net.get("Internal"))).lower(),
            "Labels": ",".join(f"{k}={v}" for k, v in (net.get("Labels") or {}).items()),
            "CreatedAt": _go_time(created)}


def _ipam_configs(subnets: tuple[str, ...], gateways: tuple[str, ...], ranges: tuple[str, ...],
                  aux: tuple[str, ...]) -> list[dict[str, Any]]:
    """--subnet/--gateway/--ip-range/--aux-address, paired as the Docker CLI pairs
    them: each gateway, range and aux address goes with the subnet that holds it."""
    import ipaddress
    if (gateways or ranges or aux) and not subnets:
        raise CLIError("every ip-range or gateway must have a corresponding subnet",
                       EXIT_DAEMON)
    configs = [{"Subnet": s} for s in subnets]

    def owner(addr: str, what: str) -> dict[str, Any]:
        for config in configs:
            try:
                net = ipaddress.ip_network(config["Subnet"], strict=False)
                if ipaddress.ip_network(addr, strict=False).subnet_of(net):  # type: ignore[arg-type]
                    return config
            except (ValueError, TypeError):
                continue
        raise CLIError(f"no matching subnet for {what} {addr}", EXIT_DAEMON)
    for gateway in gateways:
        owner(gateway, "gateway")["Gateway"] = gateway
    for ip_range in ranges:
        owner(ip_range, "range")["IPRange"] = ip_range
    for item in aux:
        name, _, addr = item.partition("=")
        owner(addr, "aux-address").setdefault("AuxiliaryAddresses", {})[name] = addr
    return configs


@click.command()
@click.option("-d", "--driver", default="bridge", help="Driver to manage the Network")
@click.option("--subnet", multiple=True, help="Subnet in CIDR format that represents a network segment")
@click.option("--gateway", multiple=True, help="IPv4 or IPv6 Gateway for the master subnet")
@click.option("--ip-range", multiple=True, help="Allocate container ip from a sub-range")
@click.option("--aux-address", multiple=True, help="Auxiliary IPv4 or IPv6 addresses used by Network driver")
@click.option("--ipam-driver", default="default", help="IP Address Management Driver")
@click.option("--ipam-opt", multiple=True, help="Set IPAM driver specific options")
@click.option("-o", "--opt", multiple=True, help="Set driver specific options")
@click.option("--label", multiple=True, help="Set metadata on a network")
@click.option("--internal", is_flag=True, help="Restrict external access to the network")
@click.option("--attachable", is_flag=True, help="Enable manual container attachment")
@click.option("--ingress", is_flag=True, help="Create swarm routing-mesh network")
@click.option("--ipv6", is_flag=True, help="Enable or disable IPv6 networking")
@click.option("--scope", default=None, help="Control the network's scope")
@click.argument("name")
@click.pass_context
def create(ctx: click.Context, driver: str, subnet: tuple[str, ...], gateway: tuple[str, ...],
           ip_range: tuple[str, ...], aux_address: tuple[str, ...], ipam_driver: str,
           ipam_opt: tuple[str, ...], opt: tuple[str, ...], label: tuple[str, ...],
           internal: bool, attachable: bool, ingress: bool, ipv6: bool, scope: str | None,
           name: str) -> None:
    """Create a network."""
    body = {"Name": name, "Driver": driver, "Internal": internal, "Attachable": attachable,
            "Ingress": ingress, "EnableIPv6": ipv6, "CheckDuplicate": True,
            "IPAM": {"Driver": ipam_driver, "Options": parse_labels(ipam_opt),
                     "Config": _ipam_configs(subnet, gateway, ip_range, aux_address)},
            "Options": parse_labels(opt), "Labels": parse_labels(label)}
    if scope:
        body["Scope"] = scope
    result = client_of(ctx).post("/networks/create", body=body)
    if result.get("Warning"):
        click.echo(f"WARNING: {result['Warning']}", err=True)
    click.echo(result["Id"])


@click.command("ls")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values")
@click.option("--format", "fmt", default=None, help="Format output using a Go template")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs")
@click.pass_context
def ls(ctx: click.Context, filters: tuple[str, ...], fmt: str | None, no_trunc: bool,
       quiet: bool) -> None:
    """List networks."""
    nets = client_of(ctx).get("/networks", params={"filters": filters_json(filters)})
    nets.sort(key=lambda n: n["Name"])
    trunc = not no_trunc
    if quiet:
        for net in nets:
            click.echo(net["Id"][:12] if trunc else net["Id"])
        return
    if fmt:
        echo_rows(format_rows(fmt, nets, NETWORK_HEADERS, lambda n: _view(n, trunc),
                              type_name="*network.networkContext", titles=NETWORK_TITLES))
        return
    rows = [_view(n, trunc) for n in nets]
    click.echo(table(list(NETWORK_HEADERS.values()), [[r[k] for k in NETWORK_HEADERS]
                                                        for r in rows]))


@click.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format output using a Go template")
@click.option("-v", "--verbose", is_flag=True, help="Verbose output for diagnostics")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect(ctx: click.Context, fmt: str | None, verbose: bool, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more networks."""
    from .system import inspect_each
    inspect_each(ctx, names, "/networks/{name}", fmt, {"verbose": verbose or None})


@click.command("rm")
@click.option("-f", "--force", is_flag=True, help="Do not error if the network does not exist")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, force: bool, names: tuple[str, ...]) -> None:
    """Remove one or more networks."""
    def remove(client: Any, name: str) -> None:
        try:
            client.request("DELETE", f"/networks/{name}").read()
        except CLIError as exc:
            if force and "not found" in exc.message:
                return
            raise
        click.echo(name)
    for_each(ctx, names, remove)


@click.command()
@click.option("--alias", multiple=True, help="Add network-scoped alias for the container")
@click.option("--ip", default=None, help="IPv4 address (e.g., 172.30.100.104)")
@click.option("--ip6", default=None, help="IPv6 address (e.g., 2001:db8::33)")
@click.option("--link", multiple=True, help="Add link to another container")
@click.option("--driver-opt", multiple=True, help="driver options for the network")
@click.argument("network")
@click.argument("container")
@click.pass_context
def connect(ctx: click.Context, alias: tuple[str, ...], ip: str | None, ip6: str | None,
            link: tuple[str, ...], driver_opt: tuple[str, ...], network: str,
            container: str) -> None:
    """Connect a container to a network."""
    config: dict[str, Any] = {"Aliases": list(alias) or None, "Links": list(link) or None,
                              "DriverOpts": parse_labels(driver_opt) or None}
    addresses = {k: v for k, v in (("IPv4Address", ip), ("IPv6Address", ip6)) if v}
    if addresses:
        config["IPAMConfig"] = addresses
    client_of(ctx).request("POST", f"/networks/{network}/connect",
                           body={"Container": container, "EndpointConfig": config}).read()


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a network")
@click.argument("network")
@click.argument("container")
@click.pass_context
def disconnect(ctx: click.Context, force: bool, network: str, container: str) -> None:
    """Disconnect a container from a network."""
    client_of(ctx).request("POST", f"/networks/{network}/disconnect",
                           body={"Container": container, "Force": force}).read()


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=<timestamp>')")
@click.pass_context
def prune(ctx: click.Context, force: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused networks."""
    if not force and not click.confirm("WARNING! This will remove all custom networks not used "
                                       "by at least one container.\nAre you sure you want to "
                                       "continue?", default=False):
        return
    report = client_of(ctx).post("/networks/prune", params={"filters": filters_json(filters)})
    print_deleted("Deleted Networks:", report.get("NetworksDeleted"), blank_after=False)


@click.group()
def network() -> None:
    """Manage networks."""


for _cmd, _name in ((create, "create"), (ls, "ls"), (ls, "list"), (inspect, "inspect"),
                    (rm, "rm"), (rm, "remove"), (connect, "connect"),
                    (disconnect, "disconnect"), (prune, "prune")):
    network.add_command(_cmd, _name)
