"""The Docker CLI's display of a JSON message stream (pull, push, load, build):
on a terminal one line per layer id, redrawn in place; elsewhere each status
once, without the bars."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from ..errors import CLIError


def display(messages: Iterable[dict[str, Any]], out: TextIO | None = None,
            tty: bool | None = None, on_aux: Callable[[dict[str, Any]], None] | None = None,
            exit_with_code: bool = False) -> None:
    """jsonmessage.DisplayJSONMessagesStream; a stream error raises CLIError,
    exiting 1 or (exit_with_code: docker build's way) with the error's code."""
    out = out or sys.stdout
    if tty is None:
        tty = out.isatty()
    lines: dict[str, int] = {}
    for msg in messages:
        if "aux" in msg:
            if on_aux is not None:
                on_aux(msg["aux"])
            continue
        if msg.get("error") or msg.get("errorDetail"):
            out.flush()
            detail = msg.get("errorDetail") or {}
            code = detail.get("code") if exit_with_code else None
            raise CLIError(detail.get("message") or msg.get("error") or "unknown error",
                           code if isinstance(code, int) and code > 0 else 1)
        ident = msg.get("id") or ""
        has_progress = "progressDetail" in msg
        diff = 0
        if ident and (has_progress or msg.get("progress")):
            if ident not in lines:
                lines[ident] = len(lines)
                if tty:
                    out.write("\n")
            diff = len(lines) - lines[ident]
            if tty:
                out.write(f"\x1b[{diff}A")
        else:
            lines = {}
        _line(out, msg, tty)
        if ident and tty and diff:
            out.write(f"\x1b[{diff}B")
        out.flush()


def _line(out: TextIO, msg: dict[str, Any], tty: bool) -> None:
    endl = ""
    bar = msg.get("progress") or ""
    if tty and not msg.get("stream") and "progressDetail" in msg:
        out.write("\x1b[2K\r")
        endl = "\r"
    elif bar:
        return  # bars only on a terminal
    if msg.get("id"):
        out.write(f"{msg['id']}: ")
    if tty and "progressDetail" in msg:
        out.write(f"{msg.get('status', '')} {bar}{endl}")
    elif msg.get("stream"):
        out.write(f"{msg['stream']}{endl}")
    else:
        out.write(f"{msg.get('status', '')}{endl}\n")
