"""The CRM search API's request body: filter groups, sorts, paging.

``filterGroups`` are ORed, the filters inside one group ANDed (at most 5
groups, 6 filters each, 18 in all). Text comparisons ignore case; numbers and
datetimes compare as numbers. ``limit`` is at most 200 and paging stops at
10,000 results, as HubSpot's does; ``after`` is an offset. Without sorts,
results come in id order.
"""

from __future__ import annotations

from typing import Any

from adapters.hubspot.sandbox.problems import bad_request
from adapters.hubspot.sandbox.values import coerce, parse_datetime

OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)
MAX_LIMIT = 200
MAX_RESULTS = 10_000
Filter = dict[str, Any]


def load_filter_groups(
    body: dict[str, Any], known: dict[str, dict[str, Any]]
) -> list[list[Filter]]:
    raw = body.get("filterGroups") or []
    if not isinstance(raw, list):
        raise bad_request("filterGroups must be an array")
    if len(raw) > 5:
        raise bad_request(f"Too many filter groups ({len(raw)}); the maximum is 5.")
    groups: list[list[Filter]] = []
    for group in raw:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise bad_request("Each filter group needs a filters array.")
        if len(filters) > 6:
            raise bad_request(f"Too many filters in a group ({len(filters)}); the maximum is 6.")
        for item in filters:
            if not isinstance(item, dict) or not isinstance(item.get("propertyName"), str):
                raise bad_request("Each filter needs a propertyName.")
            if item.get("operator") not in OPERATORS:
                raise bad_request(f"operator must be one of {', '.join(OPERATORS)}")
            if item["propertyName"] not in known:
                raise bad_request(f"Property {item['propertyName']} does not exist.")
        groups.append(filters)
    if sum(len(g) for g in groups) > 18:
        raise bad_request("Too many filters; the maximum is 18 across all groups.")
    return groups


def _comparable(prop: dict[str, Any] | None, text: str) -> tuple[int, float | str]:
    kind = prop["type"] if prop else "string"
    if kind in ("datetime", "date"):
        moment = parse_datetime(text)
        if moment is not None:
            return 0, moment.timestamp()
    if kind == "number":
        try:
            return 0, float(text)
        except ValueError:
            pass
    return 1, text.lower()


def matches(props: dict[str, Any], item: Filter, known: dict[str, dict[str, Any]]) -> bool:
    name, operator = item["propertyName"], item["operator"]
    prop = known.get(name)
    actual = props.get(name)
    present = actual not in (None, "")
    if operator == "HAS_PROPERTY":
        return present
    if operator == "NOT_HAS_PROPERTY":
        return not present
    value = coerce(item.get("value")) or ""
    values = [v for v in (coerce(x) for x in item.get("values") or []) if v is not None]
    if operator in ("IN", "NOT_IN"):
        wanted = {_comparable(prop, v) for v in values}
        inside = present and _comparable(prop, str(actual)) in wanted
        return inside if operator == "IN" else not inside
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        contains = present and value.strip("*").lower() in str(actual).lower()
        return contains if operator == "CONTAINS_TOKEN" else not contains
    if operator == "NEQ":
        return not present or _comparable(prop, str(actual)) != _comparable(prop, value)
    if not present:
        return False
    left, right = _comparable(prop, str(actual)), _comparable(prop, value)
    if operator == "BETWEEN":
        high = _comparable(prop, coerce(item.get("highValue")) or "")
        return right <= left <= high
    return {
        "EQ": left == right,
        "GT": left > right,
        "GTE": left >= right,
        "LT": left < right,
        "LTE": left <= right,
    }[operator]


def load_sorts(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """(property, descending) pairs from ``["a", "-b"]`` or ``[{propertyName, direction}]``."""
    sorts: list[tuple[str, bool]] = []
    for item in body.get("sorts") or []:
        if isinstance(item, str):
            sorts.append((item.lstrip("-"), item.startswith("-")))
        elif isinstance(item, dict) and isinstance(item.get("propertyName"), str):
            sorts.append((item["propertyName"], item.get("direction") == "DESCENDING"))
        else:
            raise bad_request("Each sort needs a propertyName and a direction.")
    return sorts


def apply_sorts(
    records: list[dict[str, Any]], sorts: list[tuple[str, bool]], known: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    ordered = list(records)
    for name, descending in reversed(sorts):
        prop = known.get(name)

        def key(record: dict[str, Any], name: str = name, prop: Any = prop) -> tuple[Any, ...]:
            value = record["properties"].get(name)
            return (1, (0, "")) if value in (None, "") else (0, _comparable(prop, str(value)))

        ordered.sort(key=key, reverse=descending)
    return ordered


def load_paging(body: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit) from ``after`` and ``limit``."""
    raw_limit = body.get("limit", 10)
    try:
        limit = int(raw_limit if raw_limit is not None else 10)
        offset = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise bad_request("limit and after must be integers.") from None
    if not 0 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 0 and {MAX_LIMIT}.")
    if not 0 <= offset < MAX_RESULTS:
        raise bad_request(f"Search can page through at most {MAX_RESULTS} results.")
    return offset, limit
