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
                type_name: str = "", titles: dict[str, Any] | None = None,
                precheck: bool = False) -> str | None:
    """`--format`: a Go template per item (`\\t` and `\\n` as Docker reads them);
    `table ...` adds aligned headers; `json` is one JSON object a line. None when
    there is nothing to print (no items, no table header).
    headers: the default table's columns; titles: every field's column title (the
    CLI's header context); precheck: first run the template on the empty sample,
    as the docker CLI's ps does to see whether it uses .Size (its errors then
    read "failed to parse/execute template"; the formatter's, "template parsing
    error")."""
    if fmt.strip() == "json":
        from .templates import go_json
        return "\n".join(go_json(_row(view(item), type_name)) for item in items) if items else None
    from .templates import TemplateError, execute, go_error_text, parse, render  # slow import
    fmt = fmt.replace("\\t", "\t").replace("\\n", "\n")
    if precheck and sample is not None:
        try:
            render(fmt, _row(view(sample), type_name))
        except TemplateError as exc:
            stage = "parse" if exc.parse else "execute"
            raise CLIError(f"failed to {stage} template: {go_error_text(fmt, exc)}", 1) from None
    # a table's template is what follows `table`, as the CLI strips it
    source = (fmt[len("table"):].strip() or "\t".join("{{." + k + "}}" for k in headers)) \
        if fmt.startswith("table") else fmt
    try:
        tree = parse(source)  # parsed once, whatever the items
        if fmt.startswith("table"):
            out_rows = [execute(tree, _row(view(item), type_name)).split("\t") for item in items]
            head = execute(tree, dict(titles or headers))  # the CLI's header context: a map
            return table(head.split("\t"), out_rows)
        if not items:
            return None
        return "\n".join(execute(tree, _row(view(item), type_name)) for item in items)
    except TemplateError as exc:
        raise CLIError(f"template parsing error: {go_error_text(source, exc)}", 1) from None


def echo_rows(text: str | None) -> None:
    """Print what format_rows made, if anything (no items print nothing)."""
    if text is not None:
        print(text)


def _row(fields: dict[str, Any], type_name: str) -> Struct:
    from .templates import Struct
    row = Struct(fields)
    if type_name:
        row.type_name = type_name
    return row


def join_host_port(host: str, port: object) -> str:
    """host:port, an IPv6 host in brackets, as the Docker CLI prints addresses."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def natural_key(text: str) -> list:
    """Sort key of a natural order ("5/tcp" before "443/tcp"), as the Docker CLI's
    sortorder.NaturalLess orders lines."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", text) if part]
