"""Go's words for a JSON syntax error (encoding/json's scanner), so that a
malformed body is answered as dockerd answers it: `invalid character 'i' looking
for beginning of object key string`, `unexpected EOF`, ...

`syntax_error` walks the first value of a text Python refused, as Go's scanner
steps, and names the first byte the scanner would refuse."""
from __future__ import annotations

from collections.abc import Callable

_SPACE = " \t\r\n"
_ESCAPES = '"\\/bfnrt'
_HEX = "0123456789abcdefABCDEF"


class _Refused(Exception):
    def __init__(self, char: str, context: str) -> None:
        super().__init__(f"invalid character {quote_char(char)} {context}")


def quote_char(char: str) -> str:
    """Go's quoteChar: `'x'`, `'\\''`, `'"'`, and escapes for the rest."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    if char.isprintable():
        return f"'{char}'"
    code = ord(char)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f", "\a": "\\a",
             "\v": "\\v"}
    if char in named:
        return f"'{named[char]}'"
    return f"'\\x{code:02x}'" if code < 0x80 else f"'\\u{code:04x}'"


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        if self.pos >= len(self.text):
            raise EOFError
        return self.text[self.pos]

    def take(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def skip_space(self) -> None:
        while self.peek() in _SPACE:
            self.pos += 1

    def value(self) -> None:
        self.skip_space()
        char = self.take()
        handlers: dict[str, Callable[[], None]] = {
            "{": self.object, "[": self.array, '"': self.string, "t": lambda: self.literal("rue"),
            "f": lambda: self.literal("alse"), "n": lambda: self.literal("ull")}
        if char in handlers:
            handlers[char]()
        elif char == "-" or char.isdigit():
            self.number(char)
        else:
            raise _Refused(char, "looking for beginning of value")

    def object(self) -> None:
        self.skip_space()
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            self.skip_space()
            char = self.take()
            if char != '"':
                raise _Refused(char, "looking for beginning of object key string")
            self.string()
            self.skip_space()
            char = self.take()
            if char != ":":
                raise _Refused(char, "after object key")
            self.value()
            self.skip_space()
            char = self.take()
            if char == "}":
                return
            if char != ",":
                raise _Refused(char, "after object key:value pair")

    def array(self) -> None:
        self.skip_space()
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            self.value()
            self.skip_space()
            char = self.take()
            if char == "]":
                return
            if char != ",":
                raise _Refused(char, "after array element")

    def string(self) -> None:
        while True:
            char = self.take()
            if char == '"':
                return
            if char == "\\":
                escape = self.take()
                if escape == "u":
                    for _ in range(4):
                        digit = self.take()
                        if digit not in _HEX:
                            raise _Refused(digit, "in \\u hexadecimal character escape")
                elif escape not in _ESCAPES:
                    raise _Refused(escape, "in string escape code")
            elif ord(char) < 0x20:
                raise _Refused(char, "in string literal")

    def literal(self, rest: str) -> None:
        word = self.text[self.pos - 1] + rest
        for expected in rest:
            char = self.take()
            if char != expected:
                name = {"t": "true", "f": "false", "n": "null"}[word[0]]
                raise _Refused(char, f"in literal {name} (expecting {quote_char(expected)})")

    def number(self, first: str) -> None:
        char = first
        if char == "-":
            char = self.take()
            if not char.isdigit():
                raise _Refused(char, "in numeric literal")
        if char != "0":
            while self._next_is_digit():
                self.pos += 1
        if self._next_is("."):
            self.pos += 1
            char = self.take()
            if not char.isdigit():
                raise _Refused(char, "after decimal point in numeric literal")
            while self._next_is_digit():
                self.pos += 1
        if self._next_is("e") or self._next_is("E"):
            self.pos += 1
            char = self.take()
            if char in "+-":
                char = self.take()
            if not char.isdigit():
                raise _Refused(char, "in exponent of numeric literal")
            while self._next_is_digit():
                self.pos += 1

    def _next_is(self, expected: str) -> bool:
        return self.pos < len(self.text) and self.text[self.pos] == expected

    def _next_is_digit(self) -> bool:
        return self.pos < len(self.text) and self.text[self.pos].isdigit()


def syntax_error(text: str) -> str | None:
    """Go's message for the first syntax error of the first value in text; None
    when that value is well formed (what follows it is another matter)."""
    try:
        _Scanner(text).value()
    except EOFError:
        return "unexpected EOF"
    except _Refused as exc:
        return str(exc)
    return None
