"""Go's values as text/template and fmt treat them: how they print (go_str),
Sprintf's verbs (printf), the builtins' comparisons, slice and index with their
errors, and JSON as encoding/json writes it. The template engine is templates.py."""
from __future__ import annotations

import json
import re
from typing import Any


class Struct(dict):
    """A row of a listing command: Docker formats a Go struct there, so a field
    it does not have is an error (a map, as inspect's, gives <no value>)."""
    type_name = "*formatter.Context"


class TemplateError(ValueError):
    """An execution error (`executing "" at <...>: ...`), or with parse=True one of
    the parser's, already in Go's words (`template: :1: unclosed action`)."""

    def __init__(self, message: str, parse: bool = False) -> None:
        super().__init__(message)
        self.parse = parse



class _Nil:
    """A row's field that holds a nil pointer (Go prints it <nil>; a missing map
    key prints <no value>)."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<nil>"


NIL = _Nil()


# -- values -----------------------------------------------------------------------
def go_str(value: Any, top: bool = True) -> str:
    if value is NIL:
        return "<nil>"
    if value is None:
        return "<no value>" if top else "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(go_str(v, False) for v in value) + "]"
    if isinstance(value, dict):
        if value and all(k[:1].isupper() for k in value):
            return "{" + " ".join(go_str(v, False) for v in value.values()) + "}"
        return "map[" + " ".join(f"{k}:{go_str(value[k], False)}" for k in sorted(value)) + "]"
    return str(value)


def truthy(value: Any) -> bool:
    return bool(value)


_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])")


def go_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "<nil>"


def _format_one(flags: str, width: str | None, prec: str | None, verb: str, arg: Any) -> str:
    """One of Go's fmt verbs (the ones templates use), with its flags, width and
    precision; a value of the wrong kind prints as Go's %!verb(type=value)."""
    number = isinstance(arg, (int, float)) and not isinstance(arg, bool)
    if verb in "vs":
        text = go_str(arg, False) if arg is not None else "<nil>"
        if verb == "s" and prec:
            text = text[:int(prec)]
    elif verb == "q" and isinstance(arg, str):
        text = json.dumps(arg, ensure_ascii=False)
    elif verb == "t" and isinstance(arg, bool):
        text = go_str(arg)
    elif verb in "dboxXc" and isinstance(arg, int) and not isinstance(arg, bool):
        if verb == "c":
            text = chr(arg)
        else:
            text = format(arg, {"d": "d", "b": "b", "o": "o", "x": "x", "X": "X"}[verb])
            if "#" in flags and verb in "xX":
                text = ("-" if arg < 0 else "") + "0" + verb + text.lstrip("-")
            if "+" in flags and arg >= 0:
                text = "+" + text
    elif verb in "xX" and isinstance(arg, str):
        text = arg.encode().hex()
        text = text.upper() if verb == "X" else text
    elif verb in "feEgG" and number:
        spec = ("+" if "+" in flags else "") + (f".{prec or 0}" if prec is not None else
                                                 (".6" if verb in "feE" else ""))
        text = format(float(arg), spec + verb)
        if verb in "gG" and prec is None:
            text = go_str(float(arg)) if float(arg).is_integer() else repr(float(arg))
    else:
        return f"%!{verb}({go_type_name(arg)}={go_str(arg, False)})"
    if width and len(text) < int(width):
        pad = int(width) - len(text)
        if "-" in flags:
            text += " " * pad
        elif "0" in flags and (number or verb in "dboxX"):
            sign = text[0] if text[:1] in "+-" else ""
            text = sign + "0" * pad + text[len(sign):]
        else:
            text = " " * pad + text
    return text


def printf(fmt: str, *args: Any) -> str:
    """Go's fmt.Sprintf for the verbs templates use."""
    out = []
    used = 0
    pos = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[pos:match.start()])
        pos = match.end()
        flags, width, prec, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_format_one(flags, width, prec, verb, args[used]))
        used += 1
    out.append(fmt[pos:])
    if used < len(args):
        extra = ", ".join(f"{go_type_name(a)}={go_str(a, False)}" for a in args[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


_BASIC_KINDS = frozenset({"bool", "int", "float64", "string"})


def _kind(value: Any) -> str:
    """The basic kind Go's comparison functions sort values into ("other" for
    the rest)."""
    name = go_type_name(value)
    return name if name in _BASIC_KINDS else "other"


def go_eq(first: Any, *others: Any) -> bool:
    if not others:
        raise TemplateError("error calling eq: missing argument for comparison")
    for other in others:
        if _kind(first) == "other" or _kind(other) == "other":
            if first is None or other is None:
                if first is other:
                    return True
                continue
            raise TemplateError("error calling eq: non-comparable types")
        if _kind(first) != _kind(other):
            raise TemplateError("error calling eq: incompatible types for comparison")
        if first == other:
            return True
    return False


def go_less(name: str, a: Any, b: Any) -> bool:
    if _kind(a) in ("bool", "other") or _kind(b) in ("bool", "other"):
        raise TemplateError(f"error calling {name}: invalid type for comparison")
    if _kind(a) != _kind(b):
        raise TemplateError(f"error calling {name}: incompatible types for comparison")
    return bool(a < b)


def _index_arg(index: Any, size: int, call: str) -> int:
    if index is None:
        raise TemplateError(f"error calling {call}: cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise TemplateError(f"error calling {call}: cannot index slice/array with type "
                            f"{go_type_name(index)}")
    if index < 0 or index > size:
        raise TemplateError(f"error calling {call}: index out of range: {index}")
    return index


def go_slice(item: Any, *indexes: Any) -> Any:
    """Go's slice: item[i:j] of a string or list, with its errors."""
    if len(indexes) > 3:
        raise TemplateError(f"error calling slice: too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise TemplateError("error calling slice: cannot 3-index slice a string")
    elif not isinstance(item, list):
        raise TemplateError(f"error calling slice: can't slice item of type "
                            f"{go_type_name(item)}")
    bounds = [0, len(item)]
    for i, index in enumerate(indexes[:2]):
        bounds[i] = _index_arg(index, len(item), "slice")
    if bounds[0] > bounds[1]:
        raise TemplateError(f"error calling slice: invalid slice index: {bounds[0]} > {bounds[1]}")
    return item[bounds[0]:bounds[1]]


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}


def go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it: UTF-8 as is, <, > and & escaped. A
    listing's row (Docker's formatter context) is its fields in sorted order
    (the CLI marshals it as a map), methods left out."""
    if isinstance(value, Struct):
        value = {k: value[k] for k in sorted(value) if not callable(value[k])}
    text = json.dumps(None if value is NIL else value, separators=(",", ":"),
                      ensure_ascii=False)
    for char, escape in _GO_ESCAPES.items():
        text = text.replace(char, escape)
    return text


def go_index(value: Any, keys: tuple) -> Any:
    """Go's index: a list's item (out of range is an error), a map's value (a
    missing key is the map's zero value: "" for a map of strings)."""
    for key in keys:
        if value is None:
            raise TemplateError("error calling index: index of untyped nil")
        if isinstance(value, (list, str)):
            position = _index_arg(key, len(value), "index")
            if position == len(value):
                raise TemplateError(f"error calling index: index out of range: {position}")
            value = value[position]
        elif isinstance(value, dict):
            if key in value:
                value = value[key]
            else:
                value = "" if all(isinstance(v, str) for v in value.values()) else None
        else:
            raise TemplateError(f"error calling index: can't index item of type "
                                f"{go_type_name(value)}")
    return value
