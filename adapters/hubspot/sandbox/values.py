"""Property values as HubSpot checks and stores them.

Every value travels as a string. HubSpot validates it against the property's
type and answers ``VALIDATION_ERROR`` with one entry per bad property:

* ``PROPERTY_DOESNT_EXIST`` - no such property on the object type;
* ``READ_ONLY_VALUE`` - a calculated property (``hs_object_id``, ...);
* ``INVALID_EMAIL`` - the contact ``email`` is not an address;
* ``INVALID_OPTION`` - an enumeration value that is not one of the options;
* ``INVALID_LONG`` - a datetime that is neither epoch milliseconds nor ISO 8601;
* ``INVALID_INTEGER`` / ``INVALID_OWNER_ID`` - ``hubspot_owner_id`` not a number
  / not an owner;
* ``INVALID_NUMBER``, ``INVALID_DATE``, ``TOO_LONG`` (a value over 65,536
  characters) and ``REQUIRED_PROPERTY`` (``hs_timestamp`` missing on an
  activity): codes HubSpot does not document; the sandbox's choice.

Emails are stored lower-case and datetimes as ISO 8601 UTC with milliseconds;
an empty string clears a value.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

MAX_TEXT_LENGTH = 65_536
_EPOCH_MS = re.compile(r"-?\d{1,16}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Issue:
    """One property HubSpot refused, with its error code and message."""

    name: str
    code: str
    message: str

    def detail(self) -> dict[str, Any]:
        """The entry in an error body's ``errors`` list."""
        return {
            "message": self.message,
            "code": self.code,
            "context": {"propertyName": [self.name]},
        }

    def legacy(self, portal_id: int) -> dict[str, Any]:
        """The entry HubSpot embeds as JSON in the error ``message``."""
        return {
            "isValid": False,
            "message": self.message,
            "error": self.code,
            "name": self.name,
            "localizedErrorMessage": self.message,
            "portalId": portal_id,
        }


def coerce(value: Any) -> str | None:
    """The string HubSpot reads from a JSON value (numbers and booleans as text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def iso(moment: datetime) -> str:
    """HubSpot's wire form of a time: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> datetime | None:
    """Epoch milliseconds or ISO 8601 (a naive value is UTC); None when neither."""
    text = text.strip()
    try:
        if _EPOCH_MS.fullmatch(text):
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except (ValueError, OverflowError, OSError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_email(text: str) -> bool:
    """A realistic check: one ``@``, a local part, a dotted domain, no spaces."""
    if any(ch.isspace() for ch in text) or text.count("@") != 1:
        return False
    local, domain = text.split("@")
    labels = domain.split(".")
    return bool(local) and len(labels) >= 2 and all(labels) and len(labels[-1]) >= 2


def options_text(options: list[dict[str, Any]]) -> str:
    return "[" + ", ".join(str(o["value"]) for o in options) + "]"


def check_value(
    prop: dict[str, Any], text: str, *, owners: set[str], contact_email: bool
) -> tuple[str | None, Issue | None]:
    """The value to store for ``text`` (None clears it), or the issue with it."""
    name = prop["name"]
    if text == "":
        return None, None
    if len(text) > MAX_TEXT_LENGTH:
        message = (
            f"Value of property {name} is {len(text)} characters long; "
            f"the maximum is {MAX_TEXT_LENGTH}."
        )
        return None, Issue(name, "TOO_LONG", message)
    kind = prop["type"]
    if contact_email:
        if not is_email(text):
            return None, Issue(name, "INVALID_EMAIL", f"Email address {text} is invalid")
        return text.lower(), None
    if name == "hubspot_owner_id":
        if not text.isdigit():
            message = f"{text} was not a valid integer (for owner ID)."
            return None, Issue(name, "INVALID_INTEGER", message)
        if text not in owners:
            return None, Issue(name, "INVALID_OWNER_ID", f"{text} is not a valid owner id")
        return text, None
    if kind == "datetime":
        moment = parse_datetime(text)
        if moment is None:
            return None, Issue(name, "INVALID_LONG", f"{text} was not a valid long.")
        return iso(moment), None
    if kind == "date":
        return _check_date(name, text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            return None, Issue(name, "INVALID_NUMBER", f"{text} was not a valid number.")
        return text.strip(), None
    if kind in ("enumeration", "bool"):
        allowed = {str(o["value"]) for o in prop["options"]} or {"true", "false"}
        chosen = text.split(";") if prop["fieldType"] == "checkbox" else [text]
        if not all(part in allowed for part in chosen):
            message = f"{text} was not one of the allowed options: {options_text(prop['options'])}"
            return None, Issue(name, "INVALID_OPTION", message)
    return text, None


def _check_date(name: str, text: str) -> tuple[str | None, Issue | None]:
    """Dates are midnight UTC, given as ``YYYY-MM-DD`` or epoch milliseconds."""
    stripped = text.strip()
    day: date | None = None
    if _DATE.fullmatch(stripped):
        try:
            day = date.fromisoformat(stripped)
        except ValueError:
            day = None
    elif _EPOCH_MS.fullmatch(stripped):
        moment = parse_datetime(stripped)
        if moment is not None and moment.time() == datetime.min.time():
            day = moment.date()
    if day is None:
        message = (
            f"{text} is not a valid date: use YYYY-MM-DD or epoch milliseconds at midnight UTC."
        )
        return None, Issue(name, "INVALID_DATE", message)
    return day.isoformat(), None


def validation_message(issues: list[Issue], portal_id: int) -> str:
    """HubSpot's ``message`` for refused properties: the issues as embedded JSON."""
    body = json.dumps([issue.legacy(portal_id) for issue in issues], separators=(",", ":"))
    return f"Property values were not valid: {body}"
