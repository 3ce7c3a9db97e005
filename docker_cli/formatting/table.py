"""Tables as the Docker CLI prints them (Go's tabwriter: min width 10, padding 3)
and `--format` handling shared by the listing commands."""
from __future__ import annotations

import json
from typing import Any, Callable, Sequence

from ..errors import CLIError
from .templates import Struct, TemplateError, render

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
                view: Callable[[Any], dict[str, Any]]) -> str:
    """`--format`: a Go template per item (`\\t` and `\\n` as Docker reads them);
    `table ...` adds aligned headers; `json` is one JSON object a line."""
    if fmt.strip() == "json":
        return "\n".join(json.dumps({k: v for k, v in view(item).items() if not callable(v)},
                                     separators=(",", ":")) for item in items)
    fmt = fmt.replace("\\t", "\t").replace("\\n", "\n")
    try:
        if fmt.startswith("table"):
            body = fmt[len("table"):].strip() or "\t".join("{{." + k + "}}" for k in headers)
            head = render(body, {k: v for k, v in headers.items()})
            out_rows = [render(body, Struct(view(item))).split("\t") for item in items]
            return table(head.split("\t"), out_rows)
        return "\n".join(render(fmt, Struct(view(item))) for item in items)
    except TemplateError as exc:
        raise CLIError(f"template: {exc}", 1) from None
