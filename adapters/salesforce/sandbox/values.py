"""Field values as Salesforce reads, checks and stores them.

Two stages, as in Salesforce:

* **Reading** turns what the request carried into the field's type. A JSON value
  of the wrong shape (``"abc"`` for an integer, ``"yesterday"`` for a date, an
  object for a string) fails the *whole request* (400 ``JSON_PARSER_ERROR``,
  :class:`UnreadableValue`); in a Bulk CSV the same value fails only its row
  (``INVALID_TYPE_ON_FIELD_IN_RECORD``).
* **Checking** a read value fails only its record, with one :class:`Issue` per
  problem: ``STRING_TOO_LONG``, ``INVALID_EMAIL_ADDRESS``,
  ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``.

Stored values are in their wire form: text as given (an empty string is null),
dates ``YYYY-MM-DD``, datetimes ``2026-01-15T08:00:00.000+0000``, integers,
floats and booleans as JSON numbers and booleans.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from adapters.salesforce.sandbox.schema import TEXT_TYPES, Field

_INT = re.compile(r"[+-]?\d{1,18}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(
    r"[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)


@dataclass(frozen=True)
class Issue:
    """One reason Salesforce refused a record: status code, message, the fields named."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def error(self) -> dict[str, Any]:
        """The entry in a per-record result's ``errors`` (sObject Collections)."""
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}

    def body(self) -> dict[str, Any]:
        """The entry in a whole-request error array (single-record REST)."""
        return {"message": self.message, "errorCode": self.code, "fields": list(self.fields)}

    def bulk(self) -> str:
        """The ``sf__Error`` cell of a Bulk API 2.0 failed row."""
        return f"{self.code}:{self.message}:{','.join(self.fields)} --"


class UnreadableValue(Exception):
    """A JSON value that cannot become the field's type: the whole request fails."""

    def __init__(self, field: Field, value: Any) -> None:
        self.field = field
        self.value = value
        shown = value if isinstance(value, str) else type(value).__name__
        token = "VALUE_STRING" if isinstance(value, str) else "START_OBJECT"
        super().__init__(
            f"Cannot deserialize instance of {_java_type(field)} from {token} value {shown} "
            "or request may be missing a required field"
        )


def _java_type(field: Field) -> str:
    return {
        "int": "int",
        "double": "double",
        "boolean": "boolean",
        "date": "date",
        "datetime": "datetime",
        "base64": "base64",
    }.get(field.type, "string")


# -- time -----------------------------------------------------------------------------------


def format_datetime(moment: datetime) -> str:
    """Salesforce's wire form: UTC, milliseconds, ``+0000``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def timestamp(seconds: float) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, UTC))


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 datetime with a zone (``Z``, ``+00:00`` or ``+0000``), or None."""
    raw = text.strip()
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    elif re.search(r"[+-]\d{4}$", raw):
        raw = raw[:-2] + ":" + raw[-2:]
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def parse_date(text: str) -> str | None:
    if not _DATE.fullmatch(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return None


# -- reading --------------------------------------------------------------------------------


def convert(field: Field, value: Any) -> Any:
    """``value`` as the field stores it; ``ValueError`` when it cannot be one."""
    kind = field.type
    if value is None:
        return None
    if kind in TEXT_TYPES or kind in ("id", "reference"):
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float) and kind not in ("id", "reference"):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(value)
        return value if value != "" else None
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INT.fullmatch(value.strip()):
            return int(value)
        raise ValueError(value)
    if kind == "double":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            return float(value)
        raise ValueError(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise ValueError(value)
    if not isinstance(value, str):
        raise ValueError(value)
    if kind == "date":
        found = parse_date(value)
        if found is None:
            raise ValueError(value)
        return found
    if kind == "datetime":
        moment = parse_datetime(value)
        if moment is None:
            raise ValueError(value)
        return format_datetime(moment)
    if kind == "base64":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(value) from None
        return value
    return value


def read_json(field: Field, value: Any) -> Any:
    """A JSON value for ``field`` (raises :class:`UnreadableValue`)."""
    try:
        return convert(field, value)
    except ValueError:
        raise UnreadableValue(field, value) from None


def read_csv(field: Field, text: str) -> Any:
    """A Bulk CSV cell (``#N/A`` is null); raises ``ValueError`` with the row's Issue."""
    if text == "#N/A":
        return None
    try:
        return convert(field, text)
    except ValueError:
        issue = Issue(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{field.label}: value not of required type: {text}",
            (field.name,),
        )
        raise ValueError(issue) from None


# -- checking -------------------------------------------------------------------------------


def check(field: Field, value: Any) -> Issue | None:
    """The problem with a read, non-null value, if any (references are the org's job)."""
    if not isinstance(value, str):
        return None
    if field.type in TEXT_TYPES and field.length and len(value) > field.length:
        return Issue(
            "STRING_TOO_LONG",
            f"{field.label}: data value too large: {_clip(value)} (max length={field.length})",
            (field.name,),
        )
    if field.type == "email" and not _EMAIL.fullmatch(value):
        return Issue(
            "INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {value}", (field.name,)
        )
    if field.type == "picklist" and field.restricted and value not in field.picklist:
        return Issue(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{field.label}: bad value for restricted picklist field: {value}",
            (field.name,),
        )
    return None


def _clip(value: str) -> str:
    return value if len(value) <= 300 else value[:300] + "..."


def note_text(content: str) -> str:
    """The plain text of a ContentNote's base64 ``Content`` (tags dropped)."""
    try:
        decoded = base64.b64decode(content).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return ""
    return re.sub(r"<[^>]*>", "", decoded)
