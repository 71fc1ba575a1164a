"""SOQL's tokens: names, operators, numbers, dates, datetimes and quoted strings.

Strings are single-quoted; a backslash escapes ``\\'`` ``\\"`` ``\\\\`` ``\\n``
``\\r`` ``\\t`` ``\\b`` ``\\f``, and ``\\_`` ``\\%`` (a literal ``_`` or ``%``
in a LIKE pattern); any other escape is a ``MALFORMED_QUERY``. Each string token
carries its text and its LIKE pattern as a regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from adapters.salesforce.sandbox.problems import SalesforceProblem, problem

_TOKEN = re.compile(
    r"(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<op>!=|<>|<=|>=|=|<|>|\(|\)|,)"
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, date, datetime, name, op, end
    text: str
    pos: int
    value: Any = None
    pattern: str | None = None  # a string's LIKE pattern, as a regular expression

    def word(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


def soql_error(code: str, text: str, query: str, pos: int) -> SalesforceProblem:
    """Salesforce's message: the line, a caret under the place, its row and column."""
    row = query.count("\n", 0, pos) + 1
    start = query.rfind("\n", 0, pos) + 1
    end = query.find("\n", pos)
    line = query[start : end if end >= 0 else len(query)]
    column = pos - start + 1
    return problem(
        400, code, f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{text}"
    )


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        char = query[pos]
        if char.isspace():
            pos += 1
        elif char == "'":
            token, pos = _string(query, pos)
            tokens.append(token)
        else:
            found = _TOKEN.match(query, pos)
            if found is None or found.lastgroup is None:
                raise problem(
                    400,
                    "MALFORMED_QUERY",
                    f"line 1:{pos} no viable alternative at character '{char}'",
                )
            tokens.append(Token(found.lastgroup, found.group(), pos))
            pos = found.end()
    tokens.append(Token("end", "<EOF>", len(query)))
    return tokens


def _string(query: str, start: int) -> tuple[Token, int]:
    value: list[str] = []
    pattern: list[str] = []
    pos = start + 1
    while pos < len(query):
        char = query[pos]
        if char == "'":
            token = Token("string", query[start : pos + 1], start, "".join(value), "".join(pattern))
            return token, pos + 1
        if char == "\\":
            following = query[pos + 1 : pos + 2]
            if following in ("_", "%"):
                value.append(following)
                pattern.append(re.escape(following))
            elif following in _ESCAPES:
                value.append(_ESCAPES[following])
                pattern.append(re.escape(_ESCAPES[following]))
            else:
                raise problem(
                    400,
                    "MALFORMED_QUERY",
                    f"Invalid string literal '{query[start + 1 : pos + 2]}'. Illegal character "
                    f"sequence '\\{following}' in string literal.",
                )
            pos += 2
            continue
        value.append(char)
        pattern.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        pos += 1
    raise problem(
        400, "MALFORMED_QUERY", f"line 1:{len(query)} mismatched character '<EOF>' expecting '''"
    )
