"""Source paths (``summary.text``, ``action_items[0].due_date``) and what they can reach.

A mapping reads Revont records as plain JSON dicts. Each source stream has a
schema of the fields revont-sync knows, with a coarse type per field, so a
typo (``sumary.text``) or a type mismatch (``duration_seconds | lower``) is
caught when the mapping loads, not on the thousandth record. Fields Revont
sends that revont-sync does not know yet are reached, explicitly, through
``extra.<name>``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

# Coarse value types. "time" and "date" are ISO strings; "any" is unknown.
STR, NUMBER, BOOL, TIME, DATE, LIST, OBJECT, ANY = (
    "str", "number", "bool", "time", "date", "list", "object", "any"
)  # fmt: skip

Schema = dict[str, Any]  # field -> type name, nested Schema, or [element schema]

_SEGMENT: Schema = {"speaker": STR, "start_seconds": NUMBER, "end_seconds": NUMBER, "text": STR}
_ACTION_ITEM: Schema = {
    "id": STR,
    "call_id": STR,
    "text": STR,
    "assignee_id": STR,
    "due_date": DATE,
    "status": STR,
    "created_at": TIME,
    "completed_at": TIME,
}
#: Fields of a call that only ``GET /calls/{id}`` returns (one request per call).
DETAIL_FIELDS = frozenset({"transcript", "summary", "action_items"})
_CALL: Schema = {
    "id": STR,
    "created_at": TIME,
    "duration_seconds": NUMBER,
    "rep_id": STR,
    "prospect_email": STR,
    "coaching_score": NUMBER,
    "outcome": STR,
    "transcript": [_SEGMENT],
    "summary": {"status": STR, "text": STR, "generated_at": TIME},
    "action_items": [_ACTION_ITEM],
}
_CONTACT: Schema = {
    "id": STR,
    "created_at": TIME,
    "email": STR,
    "name": STR,
    "company": STR,
    "title": STR,
    "phone": STR,
}
#: What each source stream's records look like to a mapping.
SOURCES: dict[str, Schema] = {
    "contacts": _CONTACT,
    "calls": _CALL,
    # Each action item of a call, with the call it belongs to under "call".
    "action_items": {**_ACTION_ITEM, "call": _CALL},
}

_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]")


class PathError(ValueError):
    """A path that cannot be parsed or leads nowhere in the source's schema."""


@dataclass(frozen=True)
class SourcePath:
    """A compiled path: ``get(record)`` returns the value or None, never raises."""

    text: str
    steps: tuple[str | int, ...]
    type: str
    root: str  # the top-level field it reads (for "which fields does this mapping need")

    def get(self, record: Any) -> Any:
        value = record
        for step in self.steps:
            if isinstance(step, str):
                if not isinstance(value, dict):
                    return None
                value = value.get(step)
            else:
                if not isinstance(value, list) or not -len(value) <= step < len(value):
                    return None
                value = value[step]
            if value is None:
                return None
        return value


def parse_steps(text: str) -> tuple[str | int, ...]:
    """``a.b[0].c`` -> ("a", "b", 0, "c")."""
    steps: list[str | int] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or (pos == 0 and text.startswith(".")):
            raise PathError(f"cannot read the path {text!r} at character {pos + 1}")
        name, index = match.groups()
        steps.append(name if name is not None else int(index))
        pos = match.end()
    if not steps or not isinstance(steps[0], str):
        raise PathError(f"the path {text!r} must start with a field name")
    return tuple(steps)


def compile_path(text: str, source: str) -> SourcePath:
    """Parse ``text`` and check it against ``source``'s schema."""
    steps = parse_steps(text)
    root = steps[0]
    assert isinstance(root, str)
    if root == "extra":
        # Fields Revont sends that revont-sync does not know: read from the record itself.
        if len(steps) < 2 or not isinstance(steps[1], str):
            raise PathError(f"{text!r}: extra.<field> names a field Revont sends")
        return SourcePath(text, steps[1:], ANY, str(steps[1]))
    node: Any = SOURCES[source]
    for i, step in enumerate(steps):
        where = ".".join(str(s) for s in steps[:i]) or source
        if isinstance(step, int):
            if not isinstance(node, list):
                raise PathError(f"{text!r}: {where} is not a list, so [{step}] reaches nothing")
            node = node[0]
            continue
        if not isinstance(node, dict):
            raise PathError(f"{text!r}: {where} has no fields, so .{step} reaches nothing")
        if step not in node:
            close = difflib.get_close_matches(step, list(node), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise PathError(
                f"{text!r}: {where} has no field {step!r}{hint} "
                f"(fields: {', '.join(node)}; unknown Revont fields: extra.<name>)"
            )
        node = node[step]
    kind = node if isinstance(node, str) else (LIST if isinstance(node, list) else OBJECT)
    return SourcePath(text, steps, kind, root)


def root_names(source: str) -> set[str]:
    return set(SOURCES[source]) | {"extra"}
