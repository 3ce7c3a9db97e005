"""Go text/template, the subset that `docker --format` users write:

    {{.State.Status}}  {{json .Mounts}}  {{range .Names}}{{.}} {{end}}
    {{if .State.Running}}up{{else}}down{{end}}  {{index .Labels "k"}}
    {{.Names | join ","}}  {{printf "%s:%d" .Name .Port}}  {{upper .Name}}

Values print as Go prints them: maps as map[k:v], lists as [a b], objects
(Docker's structs) as {v1 v2}, nothing as <no value>. Errors are Go's, word for
word (parse errors `template: :1: unclosed action`; execution errors `executing
"" at <...>: ...`, placed by go_error_text). The values, fmt verbs and builtins
are gofuncs.py's.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .gofuncs import NIL, Struct, TemplateError, go_eq, go_index, go_json, go_less, go_slice, go_str, printf, truthy

__all__ = ["NIL", "Struct", "TemplateError", "execute", "go_error_text", "go_json", "go_str",
           "parse", "render"]


def _parse_error(source: str, offset: int, words: str) -> TemplateError:
    return TemplateError(f"template: :{source.count(chr(10), 0, offset) + 1}: {words}", True)


# -- lexing ----------------------------------------------------------------------
_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)
_TOKEN = re.compile(r"""
    (?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<assign>:=)
  | (?P<comma>,)
  | (?P<space>\s+)
""", re.X)


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise TemplateError(f"unexpected {text[pos]!r} in command")
        kind = match.lastgroup or ""
        if kind != "space":
            out.append((kind, match.group()))
        pos = match.end()
    return out


# -- nodes ------------------------------------------------------------------------
@dataclass
class Text:
    text: str


@dataclass
class Action:
    pipeline: list[list[tuple[str, Any]]]
    declare: list[str] = field(default_factory=list)


@dataclass
class Block:
    kind: str  # if, range, with
    action: Action
    body: list = field(default_factory=list)
    else_body: list = field(default_factory=list)


def _parse_operand(tok: tuple[str, str], rest: list[tuple[str, str]]) -> tuple[str, Any]:
    kind, value = tok
    if kind == "str":
        return ("lit", json.loads(value) if value.startswith('"') else value[1:-1])
    if kind == "num":
        return ("lit", float(value) if "." in value else int(value))
    if kind == "var":
        return ("var", value)
    if kind == "field":
        return ("field", [p for p in value.split(".") if p])
    if kind == "ident":
        if value in ("true", "false"):
            return ("lit", value == "true")
        if value == "nil":
            return ("lit", None)
        if value.split(".")[0] not in FUNCS:  # Go's parser knows the functions
            raise TemplateError(f'function "{value.split(".")[0]}" not defined')
        return ("ident", value)
    if kind == "lparen":
        depth = 1
        inner: list[tuple[str, str]] = []
        while rest:
            t = rest.pop(0)
            if t[0] == "lparen":
                depth += 1
            elif t[0] == "rparen":
                depth -= 1
                if depth == 0:
                    return ("pipe", _parse_pipeline(inner))
            inner.append(t)
        raise TemplateError("unclosed left paren")
    raise TemplateError(f"unexpected {value!r}")


def _parse_pipeline(tokens: list[tuple[str, str]]) -> list[list[tuple[str, Any]]]:
    commands: list[list[tuple[str, Any]]] = [[]]
    rest = list(tokens)
    while rest:
        tok = rest.pop(0)
        if tok[0] == "pipe":
            commands.append([])
            continue
        commands[-1].append(_parse_operand(tok, rest))
    if any(not c for c in commands):
        raise TemplateError("missing value for command")
    return commands


def _parse_action(text: str) -> Action:
    tokens = _tokens(text)
    declare = []
    if any(t[0] == "assign" for t in tokens):
        idx = next(i for i, t in enumerate(tokens) if t[0] == "assign")
        declare = [t[1] for t in tokens[:idx] if t[0] == "var"]
        tokens = tokens[idx + 1:]
    return Action(_parse_pipeline(tokens), declare)


def parse(source: str) -> list:
    """The template's tree, or its first parse error in Go's words."""
    root: list = []
    stack: list[tuple[list, Block | _ElseIf | None]] = [(root, None)]
    pos = 0
    for match in _ACTION.finditer(source):
        opening = source.find("{{", pos, match.start())
        if opening >= 0:  # an action with no end before the next one begins
            raise _parse_error(source, opening, "unclosed action")
        try:
            pos = _parse_one(source, match, stack, pos)
        except TemplateError as exc:
            if exc.parse:
                raise
            raise _parse_error(source, match.start(), str(exc)) from None
    tail = source[pos:]
    if "{{" in tail:
        raise _parse_error(source, pos + tail.index("{{"), "unclosed action")
    if len(stack) != 1:
        raise _parse_error(source, len(source), "unexpected EOF")
    if tail:
        root.append(Text(tail))
    return root


def _parse_one(source: str, match: re.Match[str], stack: list, pos: int) -> int:
    """One action into the tree on the stack; returns where the text goes on."""
    text = source[pos:match.start()]
    if match.group(1):
        text = text.rstrip()
    if text:
        stack[-1][0].append(Text(text))
    pos = match.end()
    body = match.group(2)
    if match.group(3):
        rest = source[pos:]
        pos += len(rest) - len(rest.lstrip())
    if body.startswith("/*"):
        return pos
    word, _, remainder = body.partition(" ")
    if word in ("if", "range", "with"):
        block = Block(word, _parse_action(remainder))
        stack[-1][0].append(block)
        stack.append((block.body, block))
    elif word == "else":
        top = stack[-1][1]
        if not isinstance(top, Block):
            raise TemplateError("unexpected {{else}}")
        block = top
        stack.pop()
        if remainder.startswith("if "):
            inner = Block("if", _parse_action(remainder[3:]))
            block.else_body.append(inner)
            stack.append((block.else_body, block))
            stack.append((inner.body, inner))
            stack[-2] = (block.else_body, _ElseIf(block))
        else:
            stack.append((block.else_body, block))
    elif word == "end":
        if stack[-1][1] is None:
            raise TemplateError("unexpected {{end}}")
        stack.pop()
        while stack and isinstance(stack[-1][1], _ElseIf):
            stack.pop()
    else:
        stack[-1][0].append(_parse_action(body))
    return pos


class _ElseIf:
    """Marks an `else if` chain: one {{end}} closes all of it."""

    def __init__(self, block: Block) -> None:
        self.block = block


FUNCS: dict[str, Callable[..., Any]] = {
    "json": go_json,
    "join": lambda v, sep: sep.join(go_str(x, False) for x in (v or [])),
    "split": lambda s, sep: s.split(sep),
    "lower": lambda s: go_str(s).lower(),
    "upper": lambda s: go_str(s).upper(),
    "title": lambda s: go_str(s).title(),
    "len": lambda v: len(v or []),
    "index": lambda v, *keys: go_index(v, keys),
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "print": lambda *a: "".join(go_str(x) for x in a),
    "printf": printf,
    "truncate": lambda s, n: go_str(s)[:int(n)],
    "pad": lambda s, left, right: " " * int(left) + go_str(s) + " " * int(right),
    "not": lambda v: not truthy(v),
    "and": lambda *a: next((x for x in a if not truthy(x)), a[-1] if a else None),
    "or": lambda *a: next((x for x in a if truthy(x)), a[-1] if a else None),
    "eq": go_eq,
    "ne": lambda a, b: not go_eq(a, b),
    "lt": lambda a, b: go_less("lt", a, b),
    "le": lambda a, b: go_less("le", a, b) or go_eq(a, b),
    "gt": lambda a, b: not (go_less("gt", a, b) or go_eq(a, b)),
    "ge": lambda a, b: not go_less("ge", a, b),
    "slice": go_slice,
}



def _field(value: Any, path: list[str]) -> Any:
    for name in path:
        if isinstance(value, Struct) and name not in value:
            raise TemplateError(f'executing "" at <.{name}>: can\'t evaluate field {name} '
                                f"in type {value.type_name}")
        if isinstance(value, Struct) and value[name] is None:
            return NIL  # a nil pointer field of Docker's row struct
        if isinstance(value, dict):
            if name in value:
                value = value[name]
            else:
                lower = {k.lower(): k for k in value}
                value = value.get(lower.get(name.lower(), name))
        else:
            getter = getattr(value, name, None)
            value = getter() if callable(getter) else getter
    return value


class _Ctx:
    def __init__(self, dot: Any, variables: dict[str, Any]) -> None:
        self.dot = dot
        self.vars = variables


def _eval_operand(op: tuple[str, Any], ctx: _Ctx) -> Any:
    kind, value = op
    if kind == "lit":
        return value
    if kind == "field":
        return _field(ctx.dot, value)
    if kind == "var":
        name, *path = value.split(".")
        base = ctx.vars.get(name, ctx.vars.get("$")) if name != "$" else ctx.vars.get("$")
        return _field(base, path)
    if kind == "pipe":
        return _eval_pipeline(value, ctx)
    if kind == "ident":
        name, *path = value.split(".")
        if name not in FUNCS:
            raise TemplateError(f'function "{name}" not defined')
        return FUNCS[name]()
    raise TemplateError(f"bad operand {op}")


def _node_text(cmd: list[tuple[str, Any]]) -> str:
    """A command as Go's parse tree prints it (the `at <...>` of its errors)."""
    words = []
    for kind, value in cmd:
        if kind == "field":
            words.append("." + ".".join(value))
        elif kind == "lit":
            words.append(json.dumps(value) if isinstance(value, str) else go_str(value))
        elif kind == "pipe":
            words.append("(" + " | ".join(_node_text(c) for c in value) + ")")
        else:
            words.append(str(value))
    return " ".join(words)


def _eval_command(cmd: list[tuple[str, Any]], ctx: _Ctx, piped: list[Any]) -> Any:
    head = cmd[0]
    if head[0] == "ident":
        args = [_eval_operand(op, ctx) for op in cmd[1:]] + piped
        try:
            return FUNCS[head[1]](*args)
        except TemplateError as exc:
            if str(exc).startswith("executing"):
                raise
            raise TemplateError(f'executing "" at <{_node_text(cmd)}>: {exc}') from None
        except TypeError:  # a wrong number of arguments
            raise TemplateError(f'executing "" at <{_node_text(cmd)}>: wrong number of args '
                                f"for {head[1]}") from None
    if len(cmd) > 1 or piped:
        target = _eval_operand(head, ctx) if head[0] == "field" else None
        if callable(target):  # a method of the row: {{.Label "com.example"}}
            return target(*([_eval_operand(op, ctx) for op in cmd[1:]] + piped))
        raise TemplateError(f"can't give argument to non-function {head[1]}")
    return _eval_operand(head, ctx)


def _eval_pipeline(pipeline: list[list[tuple[str, Any]]], ctx: _Ctx) -> Any:
    value: Any = None
    for i, cmd in enumerate(pipeline):
        value = _eval_command(cmd, ctx, [value] if i else [])
    return value


def _render(nodes: list, ctx: _Ctx, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, Text):
            out.append(node.text)
        elif isinstance(node, Action):
            value = _eval_pipeline(node.pipeline, ctx)
            if node.declare:
                ctx.vars[node.declare[0]] = value
            else:
                out.append(go_str(value))
        elif isinstance(node, Block):
            value = _eval_pipeline(node.action.pipeline, ctx)
            if node.kind == "if":
                _render(node.body if truthy(value) else node.else_body, ctx, out)
            elif node.kind == "with":
                if truthy(value):
                    _render(node.body, _Ctx(value, ctx.vars), out)
                else:
                    _render(node.else_body, ctx, out)
            else:
                items: list[tuple[Any, Any]]
                if isinstance(value, dict):
                    items = [(k, value[k]) for k in sorted(value)]
                else:
                    items = list(enumerate(value or []))
                if not items:
                    _render(node.else_body, ctx, out)
                for key, item in items:
                    variables = dict(ctx.vars)
                    names = node.action.declare
                    if len(names) == 1:
                        variables[names[0]] = item
                    elif len(names) == 2:
                        variables[names[0]], variables[names[1]] = key, item
                    _render(node.body, _Ctx(item, variables), out)


def render(source: str, data: Any) -> str:
    return execute(parse(source), data)


def execute(tree: list, data: Any) -> str:
    """A parsed template (parse's tree) run on data: one parse serves many rows."""
    out: list[str] = []
    _render(tree, _Ctx(data, {"$": data}), out)
    return "".join(out)


def go_error_text(source: str, exc: TemplateError) -> str:
    """Go's whole error text: `template: :LINE: ...` from the parser, `template:
    :LINE:COL: executing ...` from the execution (where the node is in the source)."""
    message = str(exc)
    if exc.parse:
        return message
    match = re.search(r"at <(.+?)>: ", message)
    if match is None or match.group(1) not in source:
        return f"template: {message}"
    offset = source.index(match.group(1))
    line = source.count("\n", 0, offset) + 1
    col = offset - (source.rfind("\n", 0, offset) + 1)
    return f"template: :{line}:{col}: {message}"
