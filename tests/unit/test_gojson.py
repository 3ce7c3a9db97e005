"""Go's encoding/json words for syntax errors (what dockerd answers a malformed
body with)."""
from __future__ import annotations

import pytest

from dockerd_py.server.gojson import syntax_error


@pytest.mark.parametrize("text, words", [
    ("{invalid}", "invalid character 'i' looking for beginning of object key string"),
    ("{'a': 1}", "invalid character '\\'' looking for beginning of object key string"),
    ('{"a" 1}', "invalid character '1' after object key"),
    ('{"a": 1 "b": 2}', "invalid character '\"' after object key:value pair"),
    ("[1 2]", "invalid character '2' after array element"),
    ('{"a": }', "invalid character '}' looking for beginning of value"),
    ('{"a": tru}', "invalid character '}' in literal true (expecting 'e')"),
    ('{"a": nul}', "invalid character '}' in literal null (expecting 'l')"),
    ('{"a": "\x01"}', "invalid character '\\x01' in string literal"),
    ('{"a": "\\q"}', "invalid character 'q' in string escape code"),
    ('{"a": "\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"),
    ('{"a": -x}', "invalid character 'x' in numeric literal"),
    ('{"a": 1.}', "invalid character '}' after decimal point in numeric literal"),
    ('{"a": 1e+}', "invalid character '}' in exponent of numeric literal"),
    ('{"a": NaN}', "invalid character 'N' looking for beginning of value"),
    ('{"a": [1, 2', "unexpected EOF"),
    ('{"a": "open', "unexpected EOF"),
])
def test_go_words(text: str, words: str) -> None:
    assert syntax_error(text) == words


def test_a_well_formed_first_value_is_not_an_error() -> None:
    assert syntax_error('{"a": [1, -2.5e3, "x\\n", true, null]} trailing') is None
