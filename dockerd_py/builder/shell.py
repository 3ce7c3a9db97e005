"""Variable substitution in Dockerfile words, as Docker's shell lexer does it:
`$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}`, `${VAR-word}`, `${VAR+word}`,
`${VAR:?msg}`, single quotes (literal), double quotes (expansion, a few
escapes), and the escape character (`\\` or `` ` ``)."""
from __future__ import annotations

from ..errors import InvalidParameter


class Lexer:
    def __init__(self, escape: str = "\\") -> None:
        self.escape = escape

    def process_word(self, word: str, env: dict[str, str]) -> str:
        """One word: expansions done, quotes and escapes removed."""
        return _Scan(word, env, self.escape).word()

    def process_words(self, text: str, env: dict[str, str]) -> list[str]:
        """Split on unquoted whitespace, then process each word."""
        return [self.process_word(w, env) for w in split_words(text, self.escape)]


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Words separated by unquoted whitespace, quotes and escapes kept."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    in_word = False
    while i < len(text):
        ch = text[i]
        if quote:
            cur.append(ch)
            if ch == escape and quote == '"' and i + 1 < len(text):
                i += 1
                cur.append(text[i])
            elif ch == quote:
                quote = ""
        elif ch.isspace():
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        else:
            in_word = True
            cur.append(ch)
            if ch == escape and i + 1 < len(text):
                i += 1
                cur.append(text[i])
            elif ch in "'\"":
                quote = ch
        i += 1
    if in_word:
        words.append("".join(cur))
    return words


class _Scan:
    def __init__(self, text: str, env: dict[str, str], escape: str) -> None:
        self.text, self.env, self.escape = text, env, escape
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def word(self, stop: str = "") -> str:
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.peek()
            if stop and ch == stop:
                break
            self.pos += 1
            if ch == "'":
                out.append(self._single())
            elif ch == '"':
                out.append(self._double())
            elif ch == "$":
                out.append(self._dollar())
            elif ch == self.escape:
                out.append(self.next())
            else:
                out.append(ch)
        return "".join(out)

    def _single(self) -> str:
        end = self.text.find("'", self.pos)
        if end < 0:
            raise InvalidParameter("unexpected end of statement while looking for matching '")
        value = self.text[self.pos:end]
        self.pos = end + 1
        return value

    def _double(self) -> str:
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise InvalidParameter('unexpected end of statement while looking for '
                                       'matching double-quote')
            ch = self.next()
            if ch == '"':
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
            elif ch == self.escape:
                nxt = self.peek()
                if nxt in ('"', "$", self.escape):
                    out.append(self.next())
                elif nxt:
                    out.append(ch)
            else:
                out.append(ch)

    def _name(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum()
                                             or self.text[self.pos] == "_"):
            self.pos += 1
        return self.text[start:self.pos]

    def _dollar(self) -> str:
        if self.peek() != "{":
            name = self._name()
            if not name:
                return "$"
            return self.env.get(name, "")
        self.pos += 1
        name = self._name()
        if not name:
            raise InvalidParameter(f"bad substitution in {self.text!r}")
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        colon = ch == ":"
        if colon:
            ch = self.next()
        if ch not in "-+?":
            raise InvalidParameter(f"unsupported modifier ({ch}) in substitution: {self.text!r}")
        word = self.word(stop="}")
        if self.next() != "}":
            raise InvalidParameter(f"missing '}}' in substitution: {self.text!r}")
        value = self.env.get(name)
        is_set = value is not None and (value != "" or not colon)
        if ch == "-":
            return value if is_set else word  # type: ignore[return-value]
        if ch == "+":
            return word if is_set else ""
        if not is_set:
            raise InvalidParameter(f"{name}: {word or 'is not allowed to be empty'}")
        return value  # type: ignore[return-value]
