"""`ps` and `container inspect`."""
from __future__ import annotations

import json
import re
import time

from shared.units import human_duration

from ...flags import Flag, FlagSet, flag_command
from ...formatting.table import echo_rows, format_rows, join_host_port, table
from ...options import filters_json
from .. import client_from

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _ellipsis(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _ports(ports: list[dict]) -> str:
    """The PORTS column as the Docker CLI draws it: runs of consecutive ports
    grouped (exposed ones, and those published on the same port number), then
    the other published ones, each in (private port, IP, public port) order."""
    def order(p: dict) -> tuple:
        return (p.get("PrivatePort", 0), p.get("IP", ""), p.get("PublicPort", 0),
                p.get("Type", ""))
    groups: dict[tuple[str, str], list[list[int]]] = {}   # (ip, proto) -> [first, last] runs
    mappings = []
    for p in sorted(ports or [], key=order):
        private, ip, proto = p["PrivatePort"], p.get("IP", ""), p["Type"]
        if ip and p.get("PublicPort") != private:
            mappings.append(f"{join_host_port(ip, p['PublicPort'])}->{private}/{proto}")
            continue
        runs = groups.setdefault((ip, proto), [])
        if runs and runs[-1][1] + 1 == private:
            runs[-1][1] = private
        else:
            runs.append([private, private])
    grouped = []
    for (ip, proto), runs in groups.items():
        for first, last in runs:
            span = str(first) if first == last else f"{first}-{last}"
            grouped.append(f"{join_host_port(ip, span)}->{span}/{proto}" if ip
                           else f"{span}/{proto}")
    return ", ".join(grouped + mappings)


def _label_lookup(labels: dict[str, str]) -> Callable[[str], str]:
    """The template's `.Label "key"`: one label's value, "" when absent."""
    return lambda key: labels.get(key, "")


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
        "Label": _label_lookup(c.get("Labels") or {}),
        "Mounts": ",".join(_ellipsis(m.get("Name") or m.get("Source", ""), 15) if trunc
                           else m.get("Name") or m.get("Source", "") for m in c.get("Mounts") or []),
        "Networks": ",".join(sorted((c.get("NetworkSettings") or {}).get("Networks") or {})),
    }
    # as the docker CLI's ContainerContext: the local volumes' count, and a size
    # (0B unless asked for with -s)
    view["LocalVolumes"] = str(sum(1 for m in c.get("Mounts") or []
                                   if m.get("Driver") == "local"))
    view["Platform"] = ((c.get("ImageManifestDescriptor") or {}).get("platform")
                        if c.get("ImageManifestDescriptor") else None)
    from shared.units import human_size
    view["Size"] = human_size(c.get("SizeRw", 0))
    if c.get("SizeRootFs"):
        view["Size"] += f" (virtual {human_size(c['SizeRootFs'])})"
    return view


EMPTY_CONTAINER = {"Id": "", "Image": "", "Command": "", "Created": 0, "Names": [],
                   "State": "", "Status": ""}
PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
              "RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES"}
# every field's title in a `table` template, as the docker CLI's containerHeaderContext
PS_TITLES: dict[str, Any] = {**PS_HEADERS, "CreatedAt": "CREATED AT", "State": "STATE", "Size": "SIZE",
             "Labels": "LABELS", "Mounts": "MOUNTS",
             "Label": lambda key: key.split(".")[-1].replace("-", " ").replace("_", " "),
             "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Platform": "PLATFORM"}


PS = FlagSet("ps", "[OPTIONS]", "List containers", (
    Flag("all", short="a", kind="bool", help="Show all containers (default shows just running)"),
    Flag("quiet", short="q", kind="bool", help="Only display container IDs"),
    Flag("size", short="s", kind="bool", help="Display total file sizes"),
    Flag("last", short="n", kind="int", help="Show n last created containers (includes all "
         "states)"),
    Flag("latest", short="l", kind="bool", help="Show the latest created container (includes "
         "all states)"),
    Flag("filter", short="f", kind="list", help="Filter output based on conditions provided"),
    Flag("format", help="Format output using a custom template"),
    Flag("no-trunc", kind="bool", help="Don't truncate output")), max_args=0)


@flag_command(PS)
def ps(options: dict[str, Any], opts: dict[str, Any], args: list[str]) -> None:
    """List containers."""
    fmt = opts["format"]
    if fmt is None:
        from ...credentials import setting
        fmt = setting("psFormat")
    limit = 1 if opts["latest"] else opts["last"] if opts["last"] is not None else -1
    # as the docker CLI: a template that uses .Size (or marshals the whole row)
    # asks the daemon for sizes without -s
    size = opts["size"] or bool(fmt and fmt.strip() != "json" and re.search(
        r"\.Size\b|json\s+\.\s*(\}\}|\))", fmt))
    items = client_from(options).get("/containers/json", params={
        "all": opts["all"] or None, "limit": limit if limit > 0 else None,
        "size": size or None, "filters": filters_json(opts["filter"])})
    trunc = not opts["no_trunc"]
    if opts["quiet"]:
        for c in items:
            print(c["Id"][:12] if trunc else c["Id"])
        return
    if fmt and fmt != "table":
        out = format_rows(fmt, items, PS_HEADERS, lambda c: _ps_view(c, trunc),
                          sample=EMPTY_CONTAINER, type_name="*formatter.ContainerContext",
                          titles=PS_TITLES, precheck=not opts["size"])
        echo_rows(out)
        return
    headers = dict(PS_HEADERS)
    if opts["size"]:
        headers["Size"] = "SIZE"
    rows = [[_ps_view(c, trunc)[k] for k in headers] for c in items]
    print(table(list(headers.values()), rows))
