"""The SOQL the sandbox understands, parsed and run the way Salesforce does.

::

    SELECT field, ... | COUNT()  FROM sObject
    [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...]
    [LIMIT n] [OFFSET n]

Conditions: ``=``, ``!=`` (or ``<>``), ``<``, ``<=``, ``>``, ``>=``, ``IN (...)``,
``NOT IN (...)``, ``LIKE`` (``%`` and ``_``), ``AND``, ``OR``, ``NOT`` and
parentheses (AND and OR may not be mixed without them, as in SOQL). Values:
single-quoted strings with the escapes SOQL accepts (``\\'`` ``\\"`` ``\\\\``
``\\n`` ``\\r`` ``\\t`` ``\\b`` ``\\f``, and ``\\_`` ``\\%`` for a literal ``_``
or ``%``; any other backslash is an error), numbers, ``true``/``false``,
``null``, dates (``2026-01-15``) and datetimes (``2026-01-15T08:00:00Z``).

As in Salesforce: keywords, field and object names ignore case; text compares
ignoring case; ``!=`` and ``NOT IN`` match nulls; a value must have the field's
type (a quoted string for text and ids, unquoted for numbers, booleans and
dates); long text areas cannot be filtered or sorted; ascending order puts
nulls first. Relationship paths (``Owner.Email``), aggregates other than
``COUNT()``, date functions and named date literals (``TODAY``) are not
supported.

Errors are :class:`SalesforceProblem` 400s whose message points at the place,
like Salesforce's: ``MALFORMED_QUERY``, ``INVALID_FIELD``, ``INVALID_TYPE``,
``INVALID_QUERY_FILTER_OPERATOR``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cmp_to_key
from typing import Any

from adapters.salesforce.sandbox.schema import TEXT_TYPES, Field
from adapters.salesforce.sandbox.soql_parser import (
    Condition,
    Junction,
    Like,
    Negation,
    Query,
    parse,
)

__all__ = ["Query", "matches", "parse", "run"]


def _comparable(f: Field, value: Any) -> Any:
    if isinstance(value, Like):
        value = value.text
    if value is None:
        return None
    if f.type in TEXT_TYPES:  # SOQL compares text ignoring case, and '' is null
        return str(value).casefold() or None
    if f.type in ("int", "double"):
        return float(value)
    return value


def matches(condition: Condition | None, record: dict[str, Any]) -> bool:
    if condition is None:
        return True
    if isinstance(condition, Junction):
        test = all if condition.op == "AND" else any
        return test(matches(part, record) for part in condition.parts)
    if isinstance(condition, Negation):
        return not matches(condition.part, record)
    f = condition.field
    stored = _comparable(f, record.get(f.name))
    op = condition.op
    if op == "LIKE":
        assert condition.pattern is not None
        return stored is not None and condition.pattern.fullmatch(str(record[f.name])) is not None
    if op in ("IN", "NOT IN"):
        wanted = {_comparable(f, v) for v in condition.value}
        return (stored in wanted) == (op == "IN")
    literal = _comparable(f, condition.value)
    if op == "=":
        return bool(stored == literal)
    if op == "!=":
        return bool(stored != literal)
    if stored is None or literal is None:
        return False
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return compare[op](stored, literal)


def run(query: Query, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the query selects, ordered, offset and limited (not projected)."""
    found = [row for row in rows if matches(query.where, row)]
    if query.order:

        def order(a: dict[str, Any], b: dict[str, Any]) -> int:
            for f, desc, nulls_first in query.order:
                x, y = _comparable(f, a.get(f.name)), _comparable(f, b.get(f.name))
                if x == y:
                    continue
                if x is None or y is None:
                    return (-1 if x is None else 1) * (1 if nulls_first else -1)
                return (-1 if x < y else 1) * (-1 if desc else 1)
            return 0

        found.sort(key=cmp_to_key(order))
    found = found[query.offset :]
    return found if query.limit is None else found[: query.limit]
