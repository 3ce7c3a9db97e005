"""Tables as the Docker CLI prints them (Go's tabwriter: min width 10, padding 3)
and `--format` handling shared by the listing commands."""
from __future__ import annotations

import re

from ..errors import CLIError

TYPE_CHECKING = False  # typing is left out of the CLI's hot path (docker_cli/main.py)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from .templates import Struct

MIN_WIDTH = 10
PADDING = 3


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cols = len(headers)
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [list(headers)] + [list(r) for r in rows]:
        cells = []
        for i, cell in enumerate(row):
            if i == cols - 1:
                cells.append(cell)
            else:
                cells.append(cell.ljust(max(widths[i] + PADDING, MIN_WIDTH)))
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)


def format_rows(fmt: str, items: Sequence[Any], headers: dict[str, str],
                view: Callable[[Any], dict[str, Any]], sample: Any = None,
                type_name: str = "", titles: dict[str, Any] | None = None) -> str:
    """`--format`: a Go template per item (`\\t` and `\\n` as Docker reads them);
    `table ...` adds aligned headers; `json` is one JSON object a line. With no
    items, the template is still checked against a sample row (as Docker checks
    it against its row type), so a field that does not exist is an error.
    headers: the default table's columns; titles: every field's column title."""
    if fmt.strip() == "json":
        from .templates import go_json
        return "\n".join(go_json(_row(view(item), type_name)) for item in items)
    from .templates import TemplateError, render  # only with --format: a slow import
    fmt = fmt.replace("\\t", "\t").replace("\\n", "\n")
    try:
        if not items and sample is not None:
            check = fmt[len("table"):].strip() if fmt.startswith("table") else fmt
            if check:
                render(check, _row(view(sample), type_name))
        if fmt.startswith("table"):
            body = fmt[len("table"):].strip() or "\t".join("{{." + k + "}}" for k in headers)
            head = render(body, dict(titles or headers))  # every field's column title
            out_rows = [render(body, _row(view(item), type_name)).split("\t") for item in items]
            return table(head.split("\t"), out_rows)
        return "\n".join(render(fmt, _row(view(item), type_name)) for item in items)
    except TemplateError as exc:
        raise CLIError(_docker_template_error(fmt, str(exc)), 1) from None


def _row(fields: dict[str, Any], type_name: str) -> Struct:
    from .templates import Struct
    row = Struct(fields)
    if type_name:
        row.type_name = type_name
    return row


def _docker_template_error(source: str, message: str) -> str:
    """As the Docker CLI words an execution error: where in the template, too."""
    match = re.search(r"at <(\.[A-Za-z0-9_.]+)>", message)
    if match is None or match.group(1) not in source:
        return f"template: {message}"
    offset = source.index(match.group(1))
    line = source.count("\n", 0, offset) + 1
    col = offset - (source.rfind("\n", 0, offset) + 1)
    return f"failed to execute template: template: :{line}:{col}: {message}"


def join_host_port(host: str, port: object) -> str:
    """host:port, an IPv6 host in brackets, as the Docker CLI prints addresses."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def natural_key(text: str) -> list:
    """Sort key of a natural order ("5/tcp" before "443/tcp"), as the Docker CLI's
    sortorder.NaturalLess orders lines."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", text) if part]
